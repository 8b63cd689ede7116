package api

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Teams and queues (issue 8 §1): plain configuration kept by the
// AgentStore. A queue's wrap-up is also pushed into the live roster, so a
// change applies to the next call that hangs up.

// needAgentStore returns the agent store, or the 503 saying there is none.
func (s *Server) needAgentStore() (engine.AgentStore, error) {
	if s.agentStore == nil {
		return nil, unavailable("the store does not keep teams, queues and agents")
	}
	return s.agentStore, nil
}

// checkBodyID refuses a body whose key disagrees with the path (PUT
// accepts what GET returned, key included).
func checkBodyID(field, inBody, inPath string) error {
	if inBody != "" && inBody != inPath {
		return fieldProblem(field, fmt.Sprintf("%q does not match the path's %q", inBody, inPath))
	}
	return nil
}

// createTeam: POST /v1/teams {"name", "description"?}.
func (s *Server) createTeam(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	var t engine.Team
	if err := decodeStrict(req.body, &t); err != nil {
		return nil, err
	}
	if t.ID != "" {
		return nil, fieldProblem("id", "is set by the server")
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t, err = st.CreateTeam(req.Context(), t, s.now())
	if err != nil {
		return nil, storeError(err, "team", t.Name, "create team")
	}
	return jsonReply(http.StatusCreated, t)
}

// listTeams: GET /v1/teams.
func (s *Server) listTeams(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	ts, next, err := st.ListTeams(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list teams")
	}
	return pageReply(req.Request, ts, next)
}

// getTeam: GET /v1/teams/{id}.
func (s *Server) getTeam(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	t, err := st.GetTeam(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "team", id, "get team")
	}
	return jsonReply(http.StatusOK, t)
}

// updateTeam: PUT /v1/teams/{id} replaces name and description; it
// accepts what GET returned (times are ignored).
func (s *Server) updateTeam(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	var t engine.Team
	if err := decodeStrict(req.body, &t); err != nil {
		return nil, err
	}
	if err := checkBodyID("id", t.ID, id); err != nil {
		return nil, err
	}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	t.ID = id
	t, err = st.UpdateTeam(req.Context(), t, s.now())
	if err != nil {
		return nil, storeError(err, "team", id, "update team")
	}
	return jsonReply(http.StatusOK, t)
}

// deleteTeam: DELETE /v1/teams/{id}; 409 while an agent is in the team.
func (s *Server) deleteTeam(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	if err := st.DeleteTeam(req.Context(), id); err != nil {
		return nil, storeError(err, "team", id, "delete team")
	}
	return noContent()
}

// createQueue: POST /v1/queues {"name", "description"?, "wrap_up"?,
// "max_wait"?}.
func (s *Server) createQueue(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	q, err := decodeQueue(req.body)
	if err != nil {
		return nil, err
	}
	if err := q.Validate(); err != nil {
		return nil, err
	}
	q, err = st.CreateQueue(req.Context(), q, s.now())
	if err != nil {
		return nil, storeError(err, "queue", q.Name, "create queue")
	}
	s.pushWrapUp(q)
	return jsonReply(http.StatusCreated, q)
}

// listQueues: GET /v1/queues.
func (s *Server) listQueues(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	qs, next, err := st.ListQueues(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list queues")
	}
	return pageReply(req.Request, qs, next)
}

// getQueue: GET /v1/queues/{name}.
func (s *Server) getQueue(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	name := req.PathValue("name")
	q, err := st.GetQueue(req.Context(), name)
	if err != nil {
		return nil, storeError(err, "queue", name, "get queue")
	}
	return jsonReply(http.StatusOK, q)
}

// updateQueue: PUT /v1/queues/{name} replaces description, wrap-up and
// max wait; it accepts what GET returned (times are ignored).
func (s *Server) updateQueue(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	name := req.PathValue("name")
	q, err := decodeQueue(req.body)
	if err != nil {
		return nil, err
	}
	if err := checkBodyID("name", q.Name, name); err != nil {
		return nil, err
	}
	q.Name = name
	if err := q.Validate(); err != nil {
		return nil, err
	}
	q, err = st.UpdateQueue(req.Context(), q, s.now())
	if err != nil {
		return nil, storeError(err, "queue", name, "update queue")
	}
	s.pushWrapUp(q)
	return jsonReply(http.StatusOK, q)
}

// deleteQueue: DELETE /v1/queues/{name}; 409 while an agent lists it.
func (s *Server) deleteQueue(req *request) (*reply, error) {
	st, err := s.needAgentStore()
	if err != nil {
		return nil, err
	}
	name := req.PathValue("name")
	if err := st.DeleteQueue(req.Context(), name); err != nil {
		return nil, storeError(err, "queue", name, "delete queue")
	}
	if s.roster != nil {
		s.roster.SetWrapUp(name, 0)
	}
	return noContent()
}

// queueBody is a queue as clients send it. The durations are read as
// strings here, so that a bad one is a 422 naming its field (a decoding
// error of engine.Duration would not say which field it was).
type queueBody struct {
	Name        string    `json:"name"`
	Description string    `json:"description"`
	WrapUp      *string   `json:"wrap_up"`
	MaxWait     *string   `json:"max_wait"`
	CreatedAt   time.Time `json:"created_at"` // ignored: PUT takes what GET returned
	UpdatedAt   time.Time `json:"updated_at"` // ignored
}

// decodeQueue reads a queue body.
func decodeQueue(body []byte) (engine.Queue, error) {
	var b queueBody
	if err := decodeStrict(body, &b); err != nil {
		return engine.Queue{}, err
	}
	q := engine.Queue{Name: b.Name, Description: b.Description}
	var errs engine.FieldErrors
	for _, d := range []struct {
		path string
		in   *string
		out  *engine.Duration
	}{{"wrap_up", b.WrapUp, &q.WrapUp}, {"max_wait", b.MaxWait, &q.MaxWait}} {
		if d.in == nil {
			continue
		}
		v, err := engine.ParseDuration(*d.in)
		if err != nil {
			errs = append(errs, engine.FieldError{Path: d.path, Message: err.Error()})
		}
		*d.out = v
	}
	if len(errs) > 0 {
		return q, errs
	}
	return q, nil
}

// pushWrapUp gives the live roster the queue's wrap-up (zero: the
// roster's default).
func (s *Server) pushWrapUp(q engine.Queue) {
	if s.roster != nil {
		s.roster.SetWrapUp(q.Name, q.WrapUp.D())
	}
}

// pageAll calls list with successive cursors until the last page.
func pageAll(ctx context.Context, list func(context.Context, engine.Page) (string, error)) error {
	p := engine.Page{Limit: maxLimit}
	for {
		next, err := list(ctx, p)
		if err != nil {
			return err
		}
		if next == "" {
			return nil
		}
		p.After = next
	}
}
