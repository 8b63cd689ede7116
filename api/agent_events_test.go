package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// sseRead is one frame read off an event stream: an event with its data,
// or a comment.
type sseRead struct {
	event, data, comment string
}

// sseStream reads an agent event stream in the background.
type sseStream struct {
	frames chan sseRead // closed when the stream ends
	cancel context.CancelFunc
	done   chan struct{}
	beats  int // comments skipped by next
}

// openEvents opens GET /v1/agents/{id}/events on base with key. The
// stream is closed at cleanup, and the cleanup waits for the reader.
func openEvents(t *testing.T, client *http.Client, base, id, key string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/v1/agents/"+id+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := client.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Equal(t, "text/event-stream", res.Header.Get("Content-Type"))
	require.Equal(t, "no-cache", res.Header.Get("Cache-Control"))
	s := &sseStream{frames: make(chan sseRead, 64), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer close(s.frames)
		defer res.Body.Close()
		br := bufio.NewReader(res.Body)
		var f sseRead
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				return
			}
			line = strings.TrimSuffix(line, "\n")
			switch {
			case line == "":
				select {
				case s.frames <- f:
				case <-ctx.Done():
					return
				}
				f = sseRead{}
			case strings.HasPrefix(line, ":"):
				f.comment = strings.TrimSpace(line[1:])
			case strings.HasPrefix(line, "event: "):
				f.event = line[len("event: "):]
			case strings.HasPrefix(line, "data: "):
				f.data = line[len("data: "):]
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	<-s.done
}

// next returns the next event (comments are counted in beats and skipped),
// or fails after 5 s.
func (s *sseStream) next(t *testing.T) (string, agentEventJSON) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			require.True(t, ok, "the stream ended")
			if f.comment != "" {
				s.beats++
				continue
			}
			var ev agentEventJSON
			require.NoError(t, json.Unmarshal([]byte(f.data), &ev), "data: %s", f.data)
			require.Equal(t, f.event, ev.Kind, "event: names the kind")
			return f.event, ev
		case <-deadline:
			t.Fatal("no event within 5 s")
		}
	}
}

// ended waits for the stream to end, skipping comments.
func (s *sseStream) ended(t *testing.T) {
	t.Helper()
	deadline := time.After(5 * time.Second)
	for {
		select {
		case f, ok := <-s.frames:
			if !ok {
				return
			}
			require.NotEmpty(t, f.comment, "unexpected event %s %s", f.event, f.data)
		case <-deadline:
			t.Fatal("the stream did not end within 5 s")
		}
	}
}

func TestAgentEventStream(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, func(o *Options) { o.EventHeartbeat = 10 * time.Millisecond })
	e.mkQueue("sales", "")
	ada := e.mkAgent("ada", "", "sales")
	c := e.contact("+15551230001")

	s := openEvents(t, e.http.Client(), e.http.URL, ada.ID, e.agent)
	kind, ev := s.next(t)
	require.Equal(t, "state", kind)
	require.Equal(t, ada.ID, ev.AgentID)
	require.Equal(t, "logged_out", ev.To)
	require.Empty(t, ev.From, "the snapshot has no from")

	// Logging in through the API shows on the stream.
	e.setState(ada.ID, "available").ok(t, http.StatusOK, nil)
	kind, ev = s.next(t)
	require.Equal(t, "state", kind)
	require.Equal(t, "logged_out", ev.From)
	require.Equal(t, "available", ev.To)
	require.False(t, ev.At.IsZero())

	// A first-to-answer prompt, accepted through the API.
	p, err := e.roster.Prompt("sales", agents.PromptInfo{Contact: "Grace Hopper, +15551230001", Script: "Say hello",
		ContactID: c.ID}, e.clock.Now())
	require.NoError(t, err)
	kind, ev = s.next(t)
	require.Equal(t, "prompt", kind)
	require.NotNil(t, ev.Prompt)
	require.Equal(t, promptView{ID: p.ID, Queue: "sales", Contact: "Grace Hopper, +15551230001", Script: "Say hello", Expires: p.Expires}, *ev.Prompt)
	var res acceptResult
	e.do("POST", "/v1/prompts/"+p.ID+"/accept", e.agent, map[string]string{"agent_id": ada.ID}).ok(t, http.StatusOK, &res)
	require.NotNil(t, res.OwnerChange)
	require.Equal(t, ada.ID, res.OwnerChange.To)

	// Being connected to the call.
	_, err = e.roster.ReserveAgent(ada.ID, "sales", e.clock.Now())
	require.NoError(t, err)
	require.NoError(t, e.roster.Connect(ada.ID, agents.ConnectInfo{CallID: "att-1", Contact: "Grace Hopper", Script: "Say hello"}, e.clock.Now()))
	kind, ev = s.next(t)
	require.Equal(t, "state", kind)
	require.Equal(t, "reserved", ev.To)
	kind, ev = s.next(t)
	require.Equal(t, "connecting", kind)
	require.Equal(t, "att-1", ev.CallID)
	require.Equal(t, "Grace Hopper", ev.Contact)
	require.Equal(t, "Say hello", ev.Script)
	require.Contains(t, ev.Text, "connecting you to Grace Hopper")
	kind, ev = s.next(t)
	require.Equal(t, "state", kind)
	require.Equal(t, "on_call", ev.To)

	// Heartbeats keep coming while nothing happens.
	for s.beats < 3 {
		select {
		case f, ok := <-s.frames:
			require.True(t, ok)
			require.Equal(t, "heartbeat", f.comment)
			s.beats++
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat")
		}
	}

	// Errors before the stream starts are problems.
	e.do("GET", "/v1/agents/nope/events", e.agent, nil).problem(t, http.StatusNotFound, "")
	e.do("GET", "/v1/agents/"+ada.ID+"/events", e.viewer, nil).problem(t, http.StatusForbidden, "")
	e.do("GET", "/v1/agents/"+ada.ID+"/events", "", nil).problem(t, http.StatusUnauthorized, "")
}

// TestAgentEventStreamOutlivesServerTimeouts serves the API with read and
// write timeouts far shorter than the stream's life, as cmd serve does
// (2 min), and checks that the stream keeps delivering past them and ends
// when its agent is deleted.
func TestAgentEventStreamOutlivesServerTimeouts(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t, func(o *Options) { o.EventHeartbeat = 20 * time.Millisecond })
	e.mkQueue("sales", "")
	ada := e.mkAgent("ada", "", "sales")

	srv := httptest.NewUnstartedServer(e.server.Handler())
	srv.Config.ReadTimeout = 100 * time.Millisecond
	srv.Config.WriteTimeout = 100 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)

	s := openEvents(t, srv.Client(), srv.URL, ada.ID, e.agent)
	_, ev := s.next(t)
	require.Equal(t, "logged_out", ev.To)
	// 15 heartbeats of 20 ms: three times both timeouts.
	for s.beats < 15 {
		select {
		case f, ok := <-s.frames:
			require.True(t, ok, "the stream was cut after %d heartbeats", s.beats)
			require.NotEmpty(t, f.comment)
			s.beats++
		case <-time.After(5 * time.Second):
			t.Fatal("no heartbeat")
		}
	}
	e.setState(ada.ID, "available").ok(t, http.StatusOK, nil)
	_, ev = s.next(t)
	require.Equal(t, "available", ev.To)
	e.setState(ada.ID, "logged_out").ok(t, http.StatusOK, nil)
	_, ev = s.next(t)
	require.Equal(t, "logged_out", ev.To)

	// Deleting the agent ends its stream.
	e.do("DELETE", "/v1/agents/"+ada.ID, e.manager, nil).ok(t, http.StatusNoContent, nil)
	s.ended(t)
}

func TestCloseStreams(t *testing.T) {
	t.Parallel()
	e := newAgentEnv(t)
	ada := e.mkAgent("ada", "")
	s := openEvents(t, e.http.Client(), e.http.URL, ada.ID, e.agent)
	_, ev := s.next(t)
	require.Equal(t, "logged_out", ev.To)
	e.server.CloseStreams()
	e.server.CloseStreams() // idempotent
	s.ended(t)
	e.do("GET", "/v1/agents/"+ada.ID+"/events", e.agent, nil).problem(t, http.StatusServiceUnavailable, "")
}

func TestSSEFrame(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		in   agents.Event
		want string
	}{
		{"state", agents.Event{Kind: agents.EventState, AgentID: "a1", At: at, From: agents.Available, To: agents.Paused, Text: "t"},
			`{"kind":"state","agent_id":"a1","at":"2026-11-23T12:00:00Z","from":"available","to":"paused","text":"t"}`},
		{"prompt", agents.Event{Kind: agents.EventPrompt, AgentID: "a1", At: at, Dropped: 2,
			Prompt: &agents.Prompt{ID: "p-1", Queue: "q", Info: agents.PromptInfo{Contact: "Ada\nL", Script: "s", ContactID: "c"}, Expires: at}},
			`{"kind":"prompt","agent_id":"a1","at":"2026-11-23T12:00:00Z","prompt":{"id":"p-1","queue":"q","contact":"Ada\nL","script":"s","expires":"2026-11-23T12:00:00Z"},"dropped":2}`},
		{"connecting", agents.Event{Kind: agents.EventConnecting, AgentID: "a1", At: at, CallID: "c1", Contact: "Ada", Script: "s"},
			`{"kind":"connecting","agent_id":"a1","at":"2026-11-23T12:00:00Z","call_id":"c1","contact":"Ada","script":"s"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := sseFrame(newAgentEventJSON(tc.in))
			require.NoError(t, err)
			require.Equal(t, "event: "+string(tc.in.Kind)+"\ndata: "+tc.want+"\n\n", string(b))
		})
	}
}

// contact stores a contact directly (the contact routes need the engine).
func (e *agentEnv) contact(phone string) engine.Contact {
	e.t.Helper()
	es, ok := e.store.(engine.EnrollmentStore)
	require.True(e.t, ok)
	c, err := es.UpsertContact(context.Background(), engine.Contact{Phone: phone, FirstName: "Grace"}, e.clock.Now())
	require.NoError(e.t, err)
	return c
}
