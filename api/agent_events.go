package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
)

// The agent event stream (issue 8 §1): GET /v1/agents/{id}/events is a
// Server-Sent Events stream of what an agent UI needs, one frame per
// roster event:
//
//	event: prompt
//	data: {"kind":"prompt","agent_id":"…","at":"…","prompt":{…},…}
//
// It opens with an "event: state" snapshot of the agent's current state
// (no "from"), sends a ": heartbeat" comment every Options.EventHeartbeat
// so proxies keep the connection and a dead client is noticed, and ends
// when the client goes away, the agent is removed, or CloseStreams is
// called. A UI that sees "dropped" grow fell behind and should re-read
// GET /v1/agents/{id}.

// sseWriteSlack is how long past the next heartbeat a write may block
// before the connection is given up as dead.
const sseWriteSlack = 10 * time.Second

// agentEventJSON is one event as the stream sends it.
type agentEventJSON struct {
	Kind    string      `json:"kind"`
	AgentID string      `json:"agent_id"`
	At      time.Time   `json:"at"`
	From    string      `json:"from,omitempty"`
	To      string      `json:"to,omitempty"`
	Prompt  *promptView `json:"prompt,omitempty"`
	CallID  string      `json:"call_id,omitempty"`
	Contact string      `json:"contact,omitempty"`
	Script  string      `json:"script,omitempty"`
	Text    string      `json:"text,omitempty"`
	Dropped uint64      `json:"dropped,omitempty"`
}

func newAgentEventJSON(e agents.Event) agentEventJSON {
	out := agentEventJSON{Kind: string(e.Kind), AgentID: e.AgentID, At: e.At, CallID: e.CallID,
		Contact: e.Contact, Script: e.Script, Text: e.Text, Dropped: e.Dropped}
	if e.Kind == agents.EventState {
		out.From, out.To = e.From.String(), e.To.String()
	}
	if e.Prompt != nil {
		p := newPromptView(*e.Prompt)
		out.Prompt = &p
	}
	return out
}

// sseFrame renders one event. JSON has no raw newlines, so one data line
// holds it.
func sseFrame(e agentEventJSON) ([]byte, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	return fmt.Appendf(nil, "event: %s\ndata: %s\n\n", e.Kind, b), nil
}

// CloseStreams ends every open agent event stream (and refuses new ones):
// http.Server.Shutdown waits for active requests, and a stream never ends
// by itself, so register this with RegisterOnShutdown. It is idempotent.
func (s *Server) CloseStreams() {
	s.closeStreamsOnce.Do(func() { close(s.streamsDone) })
}

// agentEvents serves GET /v1/agents/{id}/events (a raw route: it streams).
func (s *Server) agentEvents(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	fail := func(err error) { s.errorReply(r, rosterError(err, id)).write(w) }
	select {
	case <-s.streamsDone:
		fail(unavailable("the server is shutting down"))
		return
	default:
	}
	// A raw route gets no request with the caller's key: read it again
	// (serveRoute has just accepted it) to hold a bound key to its agent.
	key, err := s.authenticate(r)
	if err == nil {
		err = s.actFor(r.Context(), key, "id", id)
	}
	if err != nil {
		fail(err)
		return
	}
	if _, err := s.liveAgent(r.Context(), id); err != nil {
		fail(err)
		return
	}
	events, cancel, err := s.roster.Subscribe(id)
	if err != nil {
		fail(err)
		return
	}
	defer cancel()
	// The snapshot is read after subscribing, so no change falls between
	// the two: at worst a change shows in both.
	cur, err := s.roster.Get(id, s.now())
	if err != nil {
		fail(err)
		return
	}

	rc := http.NewResponseController(w)
	// The server's WriteTimeout (2 min in cmd serve) would cut the stream:
	// push the deadline along before every write instead. ReadTimeout needs
	// nothing: net/http lifts the read deadline once the request is read.
	write := func(b []byte) error {
		if err := rc.SetWriteDeadline(time.Now().Add(s.heartbeat + sseWriteSlack)); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
		return rc.Flush()
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	w.WriteHeader(http.StatusOK)

	at := cur.Since
	if at.IsZero() {
		at = s.now()
	}
	snap, err := sseFrame(agentEventJSON{Kind: string(agents.EventState), AgentID: id, At: at, To: cur.State.String(),
		Text: "state " + cur.State.String()})
	if err != nil || write(snap) != nil {
		return
	}
	tick := time.NewTicker(s.heartbeat)
	defer tick.Stop()
	for {
		var b []byte
		select {
		case <-r.Context().Done():
			return
		case <-s.streamsDone:
			return
		case e, ok := <-events:
			if !ok { // the agent was removed
				return
			}
			if b, err = sseFrame(newAgentEventJSON(e)); err != nil {
				s.log.ErrorContext(r.Context(), "agent event stream", "agent_id", id, "error", err.Error())
				return
			}
		case <-tick.C:
			b = []byte(": heartbeat\n\n")
		}
		if write(b) != nil {
			return
		}
	}
}
