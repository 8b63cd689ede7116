package api

import (
	"context"
	"fmt"
	"net/http"
	"strings"

	"github.com/cadenza-dialer/cadenza/engine"
)

// checkRefs checks what a definition cannot check alone: the cadences it
// forwards or enrolls to exist (always), and — when runnable, i.e. the
// cadence is or becomes active — that its audio assets exist and its
// caller-ID pools are configured. Drafts may name assets not uploaded yet,
// because importing a document before uploading its audio is common; an
// active cadence must be able to run.
func (s *Server) checkRefs(ctx context.Context, d engine.Definition, selfID string, runnable bool) error {
	var errs engine.FieldErrors
	cadence := func(path, id string) error {
		if id == "" || id == selfID {
			return nil
		}
		_, err := s.store.GetCadence(ctx, id)
		if p := storeProblem(err, "cadence", id); p != nil && p.Status == http.StatusNotFound {
			errs = append(errs, engine.FieldError{Path: path, Message: fmt.Sprintf("no cadence %q", id)})
			return nil
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", path, err)
		}
		return nil
	}
	asset := func(path, name string) error {
		if name == "" {
			return nil
		}
		_, err := s.store.GetAsset(ctx, name)
		if p := storeProblem(err, "asset", name); p != nil && p.Status == http.StatusNotFound {
			errs = append(errs, engine.FieldError{Path: path, Message: fmt.Sprintf("no asset %q; upload it with POST /v1/assets?name=%s first", name, name)})
			return nil
		}
		if err != nil {
			return fmt.Errorf("check %s: %w", path, err)
		}
		return nil
	}
	rules := func(prefix string, rs []engine.Rule) error {
		for j, r := range rs {
			if r.Action.Type == engine.ActionForward {
				if err := cadence(fmt.Sprintf("%srouting[%d].action.cadence", prefix, j), r.Action.Cadence); err != nil {
					return err
				}
			}
		}
		return nil
	}
	if d.Runs.After.Action == engine.AfterEnroll {
		if err := cadence("runs.after.cadence", d.Runs.After.Cadence); err != nil {
			return err
		}
	}
	for i, st := range d.Steps {
		p := fmt.Sprintf("steps[%d].", i)
		if err := rules(p, st.Routing); err != nil {
			return err
		}
		if st.Default != nil && st.Default.Type == engine.ActionForward {
			if err := cadence(p+"default.cadence", st.Default.Cadence); err != nil {
				return err
			}
		}
		if !runnable || st.Call == nil {
			continue
		}
		c := st.Call
		if c.Voicemail.Enabled {
			if err := asset(p+"call.voicemail.asset", c.Voicemail.Asset); err != nil {
				return err
			}
		}
		if c.OnHuman.Action == engine.HumanMessage {
			if err := asset(p+"call.on_human.asset", c.OnHuman.Asset); err != nil {
				return err
			}
		}
		if s.pools != nil && c.CallerID.Pool != "" && !s.pools[c.CallerID.Pool] {
			errs = append(errs, engine.FieldError{Path: p + "call.caller_id.pool", Message: fmt.Sprintf("no caller-ID pool %q is configured", c.CallerID.Pool)})
		}
	}
	if err := rules("", d.Routing); err != nil {
		return err
	}
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// activeUsers names the active cadences whose definition uses something
// (uses reports it), so that deleting it cannot break a running cadence.
func (s *Server) activeUsers(ctx context.Context, uses func(engine.Definition) bool) ([]string, error) {
	var names []string
	f := engine.CadenceFilter{Status: engine.StatusActive, Page: engine.Page{Limit: maxLimit}}
	for {
		cs, next, err := s.store.ListCadences(ctx, f)
		if err != nil {
			return nil, fmt.Errorf("list active cadences: %w", err)
		}
		for _, c := range cs {
			if uses(c.Definition) {
				names = append(names, fmt.Sprintf("%q (%s)", c.Name, c.ID))
			}
		}
		if next == "" || len(cs) == 0 {
			return names, nil
		}
		f.After = next
	}
}

// usesAsset reports whether d plays the asset (by id or name).
func usesAsset(d engine.Definition, a engine.Asset) bool {
	is := func(ref string) bool { return ref != "" && (ref == a.ID || ref == a.Name) }
	for _, st := range d.Steps {
		if c := st.Call; c != nil {
			if (c.Voicemail.Enabled && is(c.Voicemail.Asset)) || (c.OnHuman.Action == engine.HumanMessage && is(c.OnHuman.Asset)) {
				return true
			}
		}
	}
	return false
}

// usesCadence reports whether d forwards or enrolls contacts into id.
func usesCadence(d engine.Definition, id string) bool {
	if d.Runs.After.Action == engine.AfterEnroll && d.Runs.After.Cadence == id {
		return true
	}
	fwd := func(a engine.Action) bool { return a.Type == engine.ActionForward && a.Cadence == id }
	for _, r := range d.Routing {
		if fwd(r.Action) {
			return true
		}
	}
	for _, st := range d.Steps {
		if st.Default != nil && fwd(*st.Default) {
			return true
		}
		for _, r := range st.Routing {
			if fwd(r.Action) {
				return true
			}
		}
	}
	return false
}

// inUseBy is the 409 for deleting something active cadences rely on.
func inUseBy(what, id string, users []string) *Problem {
	return newProblem(http.StatusConflict, "in-use", fmt.Sprintf(
		"%s %q is used by active cadence %s; change or deactivate them first, or delete with ?force=true",
		what, id, strings.Join(users, ", ")))
}
