package api

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/dialer/callerid"
	"github.com/cadenza-dialer/cadenza/engine"
)

// engineEnv is an env whose server runs the real engine over the same
// store, with a scripted dialer and an accepting messenger.
type engineEnv struct {
	*env
	eng *engine.Engine
	sc  *schemaChecker

	mu     sync.Mutex
	events []engine.Event
}

// newEngineEnv builds an engineEnv; mods may change the API options.
func newEngineEnv(t testing.TB, mods ...func(*Options)) *engineEnv {
	t.Helper()
	var st engine.Store
	if os.Getenv("CADENZA_TEST_API_STORE") == "postgres" {
		st = openPostgres(t)
	} else {
		st = openSQLite(t)
	}
	ss, ok := st.(engine.ScheduleStore)
	if !ok {
		t.Skip("this store does not implement engine.ScheduleStore")
	}
	ee := &engineEnv{}
	// The engine reads the env's clock, which exists once the env does.
	var clock *testClock
	script, err := engine.ParseOutcomeScript("no_answer")
	require.NoError(t, err)
	now := func() time.Time { return clock.Now() }
	eng, err := engine.New(engine.Options{Store: ss, Now: now, Dialer: engine.NewScriptedDialer(script, now),
		Messenger: &engine.AcceptingMessenger{}, OnEvent: func(ev engine.Event) {
			ee.mu.Lock()
			ee.events = append(ee.events, ev)
			ee.mu.Unlock()
		}})
	require.NoError(t, err)
	ee.eng = eng
	ee.env = newEnvWithStore(t, st, append([]func(*Options){func(o *Options) { o.Engine = eng }}, mods...)...)
	clock = ee.env.clock
	return ee
}

// eventsOf returns the events of one type seen so far.
func (e *engineEnv) eventsOf(typ engine.EventType) []engine.Event {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []engine.Event
	for _, ev := range e.events {
		if ev.Type == typ {
			out = append(out, ev)
		}
	}
	return out
}

// activeCadence creates the five-step cadence (with its voicemail asset)
// and activates it.
func (e *engineEnv) activeCadence(t testing.TB, mutate func(m map[string]any)) string {
	t.Helper()
	if e.do("GET", "/v1/assets/vm-intro", e.viewer, nil).status == http.StatusNotFound {
		e.do("POST", "/v1/assets?name=vm-intro", e.manager, wavBytes(t, 8000, 1, 16, 800), "Content-Type", "audio/wav").ok(t, http.StatusCreated, nil)
	}
	body := fiveStep(t)
	if mutate != nil {
		body = defWith(t, mutate)
	}
	var c cadenceJSON
	e.do("POST", "/v1/cadences", e.manager, body).ok(t, http.StatusCreated, &c)
	e.do("POST", "/v1/cadences/"+c.ID+"/activate", e.manager, nil).ok(t, http.StatusOK, nil)
	return c.ID
}

// runDue moves the clock to the next due action and runs what is due.
func (e *engineEnv) runDue(t testing.TB) {
	t.Helper()
	ctx := context.Background()
	at, ok, err := e.store.(engine.ScheduleStore).NextDue(ctx)
	require.NoError(t, err)
	require.True(t, ok, "nothing is scheduled")
	if d := at.Sub(e.clock.Now()); d > 0 {
		e.clock.Advance(d)
	}
	n, err := e.eng.RunDue(ctx)
	require.NoError(t, err)
	require.Positive(t, n)
}

// documented asserts that the response matches the document's schema for
// the operation (problems included).
func (e *engineEnv) documented(t *testing.T, method, pattern string, r resp) resp {
	t.Helper()
	if r.status == http.StatusNoContent {
		return r
	}
	if e.sc == nil {
		e.sc = newSchemaChecker(t)
	}
	ctype := strings.Split(r.header.Get("Content-Type"), ";")[0]
	schema := e.sc.responseSchema(t, method, pattern, r.status, ctype)
	var v any
	require.NoError(t, json.Unmarshal(r.body, &v), "%s %s: %s", method, pattern, r.body)
	require.Empty(t, e.sc.check("$", schema, v), "%s %s: %s", method, pattern, r.body)
	return r
}

// callerIDService is a real caller-ID service over in-memory counters.
func callerIDService(t testing.TB, now func() time.Time) *callerid.Service {
	t.Helper()
	svc, err := callerid.New(callerid.NewMemoryCounters(), []callerid.PoolConfig{{
		Name:    "main",
		Numbers: []callerid.Number{{E164: "+12125550100"}, {E164: "+13125550101"}},
	}}, now, callerid.Options{Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	return svc
}
