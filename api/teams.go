package api

import (
	"context"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Teams and queues (issue 8 §1): plain configuration kept by the
// AgentStore. A queue's wrap-up is also pushed into the live roster, so a
// change applies to the next call that hangs up.

const noAgentStore = "the store does not keep teams, queues and agents"

// needAgentStore returns the agent store, or the 503 saying there is none.
func (s *Server) needAgentStore() (engine.AgentStore, error) {
	if s.agentStore == nil {
		return nil, unavailable(noAgentStore)
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

// teams is the team resource: /v1/teams and /v1/teams/{id}; deleting a
// team with agents is a 409.
func (s *Server) teams() resource[engine.Team] {
	st := s.agentStore
	if st == nil {
		return resource[engine.Team]{what: "team", key: "id", missing: noAgentStore}
	}
	return resource[engine.Team]{what: "team", key: "id", keyOf: func(t *engine.Team) *string { return &t.ID }, nameOf: func(t engine.Team) string { return t.Name },
		check: engine.Team.Validate, create: st.CreateTeam, get: st.GetTeam, list: st.ListTeams, update: st.UpdateTeam, remove: st.DeleteTeam}
}

// queues is the queue resource: /v1/queues and /v1/queues/{name}, with
// wrap_up and max_wait as duration strings; a queue's wrap-up goes to the
// live roster, and deleting a queue an agent lists is a 409.
func (s *Server) queues() resource[engine.Queue] {
	st := s.agentStore
	if st == nil {
		return resource[engine.Queue]{what: "queue", key: "name", missing: noAgentStore}
	}
	return resource[engine.Queue]{what: "queue", key: "name", keyOf: func(q *engine.Queue) *string { return &q.Name },
		decode: decodeQueue, check: engine.Queue.Validate,
		create: st.CreateQueue, get: st.GetQueue, list: st.ListQueues, update: st.UpdateQueue, remove: st.DeleteQueue,
		saved: s.pushWrapUp,
		removed: func(name string) {
			if s.roster != nil {
				s.roster.SetWrapUp(name, 0)
			}
		}}
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
