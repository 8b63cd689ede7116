package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cadenza-dialer/cadenza/engine"
)

// cadenceItem is one row of the cadence list: the columns of seed 001.
type cadenceItem struct {
	ID      string        `json:"id"`
	Name    string        `json:"name"`
	Status  engine.Status `json:"status"`
	Version int           `json:"version"`
	// Actions is the number of steps.
	Actions int `json:"actions"`
	// DispositionRules counts the steps' rules and the cadence-wide rules.
	DispositionRules int        `json:"disposition_rules"`
	Invocations      int        `json:"invocations"`
	TasksRun         int        `json:"tasks_run"`
	LastTriggered    *time.Time `json:"last_triggered"`
	LastActionRan    *time.Time `json:"last_action_ran"`
	CreatedAt        time.Time  `json:"created_at"`
	UpdatedAt        time.Time  `json:"updated_at"`
}

// cadenceDetail is a whole cadence with its activity columns.
type cadenceDetail struct {
	engine.Cadence
	Stats engine.CadenceStats `json:"stats"`
}

func dispositionRules(d engine.Definition) int {
	n := len(d.Routing)
	for _, st := range d.Steps {
		n += len(st.Routing)
	}
	return n
}

// cadenceReply renders a cadence with its stats and an ETag of its version
// (for If-Match on PUT).
func (s *Server) cadenceReply(ctx context.Context, status int, c engine.Cadence) (*reply, error) {
	st, err := s.store.CadenceStats(ctx, c.ID)
	if err != nil {
		return nil, storeError(err, "cadence", c.ID, "cadence stats")
	}
	rep, err := jsonReply(status, cadenceDetail{Cadence: c, Stats: st})
	if err != nil {
		return nil, err
	}
	rep.header.Set("ETag", strconv.Quote(strconv.Itoa(c.Version)))
	return rep, nil
}

func (s *Server) getCadenceOr404(ctx context.Context, id string) (engine.Cadence, error) {
	c, err := s.store.GetCadence(ctx, id)
	if err != nil {
		return c, storeError(err, "cadence", id, "get cadence")
	}
	return c, nil
}

// createCadence: POST /v1/cadences. The body is a definition; the cadence
// starts as a draft at version 1.
func (s *Server) createCadence(req *request) (*reply, error) {
	def, errs := engine.DecodeDefinition(req.body)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := s.checkRefs(req.Context(), def, "", false); err != nil {
		return nil, err
	}
	c, err := s.store.CreateCadence(req.Context(), def, engine.StatusDraft, s.now())
	if err != nil {
		return nil, storeError(err, "cadence", def.Name, "create cadence")
	}
	return s.cadenceReply(req.Context(), http.StatusCreated, c)
}

// listCadences: GET /v1/cadences?status=&limit=&after=.
func (s *Server) listCadences(req *request) (*reply, error) {
	q := req.URL.Query()
	page, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	f := engine.CadenceFilter{Status: engine.Status(q.Get("status")), Page: page}
	if f.Status != "" && !f.Status.Valid() {
		return nil, fieldProblem("status", "must be draft, active, inactive or archived")
	}
	cs, next, err := s.store.ListCadences(req.Context(), f)
	if err != nil {
		return nil, listError(err, page, "list cadences")
	}
	items := make([]cadenceItem, 0, len(cs))
	for _, c := range cs {
		st, err := s.store.CadenceStats(req.Context(), c.ID)
		if err != nil {
			return nil, fmt.Errorf("cadence stats %s: %w", c.ID, err)
		}
		items = append(items, cadenceItem{
			ID: c.ID, Name: c.Name, Status: c.Status, Version: c.Version,
			Actions: len(c.Steps), DispositionRules: dispositionRules(c.Definition),
			Invocations: st.Invocations, TasksRun: st.TasksRun,
			LastTriggered: st.LastTriggered, LastActionRan: st.LastActionRan,
			CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt,
		})
	}
	return pageReply(req.Request, items, next)
}

// getCadence: GET /v1/cadences/{id}.
func (s *Server) getCadence(req *request) (*reply, error) {
	c, err := s.getCadenceOr404(req.Context(), req.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.cadenceReply(req.Context(), http.StatusOK, c)
}

// splitCadenceBody separates the read-only fields of a GET response from
// the definition in a PUT body. A body that is not a JSON object is left
// to DecodeDefinition to explain.
func splitCadenceBody(body []byte) (def []byte, meta map[string]json.RawMessage) {
	var obj map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&obj); err != nil || obj == nil || dec.More() {
		return body, nil
	}
	meta = map[string]json.RawMessage{}
	// The read-only fields of a GET response: a client may send back what
	// it got; they are not part of the definition.
	for _, k := range []string{"id", "status", "version", "created_at", "updated_at", "stats"} {
		if v, ok := obj[k]; ok {
			meta[k] = v
			delete(obj, k)
		}
	}
	if len(meta) == 0 {
		return body, nil
	}
	b, err := json.Marshal(obj)
	if err != nil {
		return body, nil
	}
	return b, meta
}

// parseIfMatch reads the expected version from If-Match: "3", W/"3" or 3.
func parseIfMatch(h string) (int, error) {
	v := strings.TrimSpace(h)
	v = strings.TrimPrefix(v, "W/")
	v = strings.Trim(v, `"`)
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, badRequest("If-Match", `must be the cadence version as an entity tag, e.g. "3"`)
	}
	return n, nil
}

// updateCadence: PUT /v1/cadences/{id}. Each save is a new version.
// Optimistic locking: If-Match "N" (412 when stale) or a "version" field in
// the body (409 when stale).
func (s *Server) updateCadence(req *request) (*reply, error) {
	ctx := req.Context()
	id := req.PathValue("id")
	cur, err := s.getCadenceOr404(ctx, id)
	if err != nil {
		return nil, err
	}
	expect, staleStatus := 0, http.StatusConflict
	if h := req.Header.Get("If-Match"); h != "" && h != "*" {
		if expect, err = parseIfMatch(h); err != nil {
			return nil, err
		}
		staleStatus = http.StatusPreconditionFailed
	}
	raw, meta := splitCadenceBody(req.body)
	var errs engine.FieldErrors
	if v, ok := meta["version"]; ok && expect == 0 {
		if err := json.Unmarshal(v, &expect); err != nil || expect < 1 {
			errs = append(errs, engine.FieldError{Path: "version", Message: "must be a positive integer (the version you edited)"})
		}
	}
	if v, ok := meta["id"]; ok {
		var got string
		if json.Unmarshal(v, &got) != nil || got != id {
			errs = append(errs, engine.FieldError{Path: "id", Message: fmt.Sprintf("must be %q (the cadence in the URL) or left out", id)})
		}
	}
	if v, ok := meta["status"]; ok {
		var got engine.Status
		if json.Unmarshal(v, &got) != nil || got != cur.Status {
			errs = append(errs, engine.FieldError{Path: "status", Message: "is read-only here; use the activate, deactivate and archive actions"})
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	def, errs := engine.DecodeDefinition(raw)
	if len(errs) > 0 {
		return nil, errs
	}
	if cur.Status == engine.StatusArchived {
		return nil, conflict(fmt.Sprintf("cadence %q is archived; duplicate it to edit a copy", id))
	}
	if err := s.checkRefs(ctx, def, id, cur.Status == engine.StatusActive); err != nil {
		return nil, err
	}
	c, err := s.store.UpdateCadence(ctx, id, def, expect, s.now())
	if err != nil {
		if p := storeProblem(err, "cadence", id); p != nil && p.Status == http.StatusConflict && expect > 0 {
			p := newProblem(staleStatus, "stale-version",
				fmt.Sprintf("cadence %q changed since version %d; fetch it again and reapply your edit", id, expect))
			return nil, p
		}
		return nil, storeError(err, "cadence", id, "update cadence")
	}
	return s.cadenceReply(ctx, http.StatusOK, c)
}

// deleteCadence: DELETE /v1/cadences/{id}?force=true. Without force a
// cadence with active enrollments, or one that active cadences forward or
// enroll into, is 409; force stops the enrollments first and leaves the
// forwards dangling (those cadences then fail validation on their next save).
func (s *Server) deleteCadence(req *request) (*reply, error) {
	id := req.PathValue("id")
	force := false
	if v := req.URL.Query().Get("force"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fieldProblem("force", "must be true or false")
		}
		force = b
	}
	if !force {
		users, err := s.activeUsers(req.Context(), func(d engine.Definition) bool { return usesCadence(d, id) })
		if err != nil {
			return nil, err
		}
		if len(users) > 0 {
			return nil, inUseBy("cadence", id, users)
		}
	}
	if err := s.store.DeleteCadence(req.Context(), id, force, s.now()); err != nil {
		p := storeProblem(err, "cadence", id)
		if p != nil && p.Type == problemType("in-use") {
			p.Detail = fmt.Sprintf("cadence %q has active enrollments; delete with ?force=true to stop them", id)
		}
		if p != nil {
			return nil, p
		}
		return nil, fmt.Errorf("delete cadence: %w", err)
	}
	return noContent()
}

// setStatus moves a cadence through its lifecycle:
//
//	activate:   draft, inactive → active (active stays); archived → 409
//	deactivate: active → inactive (inactive stays); draft, archived → 409
//	archive:    any → archived
//
// Activation checks that the cadence can run: its assets exist and its
// caller-ID pools are configured.
func (s *Server) setStatus(to engine.Status) func(*request) (*reply, error) {
	return func(req *request) (*reply, error) {
		ctx := req.Context()
		id := req.PathValue("id")
		c, err := s.getCadenceOr404(ctx, id)
		if err != nil {
			return nil, err
		}
		switch to {
		case engine.StatusActive:
			if c.Status == engine.StatusArchived {
				return nil, conflict(fmt.Sprintf("cadence %q is archived; duplicate it to run a copy", id))
			}
			if err := s.checkRefs(ctx, c.Definition, id, true); err != nil {
				return nil, err
			}
		case engine.StatusInactive:
			if c.Status == engine.StatusDraft || c.Status == engine.StatusArchived {
				return nil, conflict(fmt.Sprintf("cadence %q is %s; only an active cadence can be deactivated", id, c.Status))
			}
		}
		if c.Status != to {
			if c, err = s.store.SetCadenceStatus(ctx, id, to, s.now()); err != nil {
				return nil, storeError(err, "cadence", id, "set cadence status")
			}
		}
		return s.cadenceReply(ctx, http.StatusOK, c)
	}
}

// nameBody is the optional body of duplicate and instantiate.
type nameBody struct {
	Name string `json:"name"`
}

// copyName names a copy, within the name limit.
func copyName(name string) string {
	const suffix = " (copy)"
	max := engine.MaxNameLength - utf8.RuneCountInString(suffix)
	if r := []rune(name); len(r) > max {
		name = string(r[:max])
	}
	return name + suffix
}

// checkName validates an optional new name.
func checkName(path, name string) error {
	if utf8.RuneCountInString(name) > engine.MaxNameLength {
		return fieldProblem(path, fmt.Sprintf("must be at most %d characters", engine.MaxNameLength))
	}
	return nil
}

// duplicateCadence: POST /v1/cadences/{id}/duplicate {"name"?}. The copy
// is a new draft at version 1.
func (s *Server) duplicateCadence(req *request) (*reply, error) {
	var b nameBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	if err := checkName("name", b.Name); err != nil {
		return nil, err
	}
	c, err := s.getCadenceOr404(req.Context(), req.PathValue("id"))
	if err != nil {
		return nil, err
	}
	def := c.Definition
	def.Name = copyName(def.Name)
	if strings.TrimSpace(b.Name) != "" {
		def.Name = b.Name
	}
	dup, err := s.store.CreateCadence(req.Context(), def, engine.StatusDraft, s.now())
	if err != nil {
		return nil, storeError(err, "cadence", def.Name, "duplicate cadence")
	}
	return s.cadenceReply(req.Context(), http.StatusCreated, dup)
}

// listVersions: GET /v1/cadences/{id}/versions, newest first, paged by
// version number (?after=N lists versions below N).
func (s *Server) listVersions(req *request) (*reply, error) {
	q := req.URL.Query()
	page, err := pageParams(q)
	if err != nil {
		return nil, err
	}
	below := 0
	if page.After != "" {
		if below, err = strconv.Atoi(page.After); err != nil || below < 1 {
			return nil, fieldProblem("after", "is not a cursor from this API")
		}
	}
	id := req.PathValue("id")
	if _, err := s.getCadenceOr404(req.Context(), id); err != nil {
		return nil, err
	}
	vs, err := s.store.ListVersions(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "cadence", id, "list versions")
	}
	items := make([]engine.CadenceVersion, 0, page.Limit)
	next := ""
	for _, v := range vs {
		if below > 0 && v.Version >= below {
			continue
		}
		if len(items) == page.Limit {
			next = strconv.Itoa(items[len(items)-1].Version)
			break
		}
		items = append(items, v)
	}
	return pageReply(req.Request, items, next)
}

// versionParam reads a version number from the path or query.
func versionParam(path, v string) (int, error) {
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fieldProblem(path, "must be a positive version number")
	}
	return n, nil
}

// getVersion: GET /v1/cadences/{id}/versions/{n}.
func (s *Server) getVersion(req *request) (*reply, error) {
	id := req.PathValue("id")
	n, err := versionParam("n", req.PathValue("n"))
	if err != nil {
		return nil, err
	}
	v, err := s.store.GetVersion(req.Context(), id, n)
	if err != nil {
		return nil, storeError(err, "version", fmt.Sprintf("%s/%d", id, n), "get version")
	}
	return jsonReply(http.StatusOK, v)
}
