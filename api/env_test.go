package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/cadenza-dialer/cadenza/engine"
	"github.com/cadenza-dialer/cadenza/engine/sqlite"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// testClock is a settable clock that moves 1 ms per reading, so rows
// created one after another have distinct, ordered times.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func newTestClock() *testClock {
	return &testClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}
}

func (c *testClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(time.Millisecond)
	return c.t
}

func (c *testClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// syncBuffer is a log sink safe for concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// env is one API server over its own store, with a key for each role.
type env struct {
	t       testing.TB
	store   engine.Store
	server  *Server
	http    *httptest.Server
	clock   *testClock
	reg     *prometheus.Registry
	log     *syncBuffer
	admin   string
	manager string
	agent   string
	viewer  string
}

// openSQLite opens a migrated SQLite store in the test's temp dir.
func openSQLite(t testing.TB) engine.Store {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "db"))
	require.NoError(t, err)
	t.Cleanup(func() { _ = st.Close() })
	require.NoError(t, st.Migrate(ctx))
	return st
}

// newEnv serves the API over a fresh SQLite store, or a fresh Postgres
// schema when CADENZA_TEST_API_STORE=postgres (then every handler test runs
// on Postgres: deploy/testenv.sh env CADENZA_TEST_API_STORE=postgres go test ./api).
func newEnv(t testing.TB, mods ...func(*Options)) *env {
	t.Helper()
	if os.Getenv("CADENZA_TEST_API_STORE") == "postgres" {
		return newEnvWithStore(t, openPostgres(t), mods...)
	}
	return newEnvWithStore(t, openSQLite(t), mods...)
}

func newEnvWithStore(t testing.TB, st engine.Store, mods ...func(*Options)) *env {
	t.Helper()
	e := &env{t: t, store: st, clock: newTestClock(), reg: prometheus.NewRegistry(), log: &syncBuffer{}}
	o := Options{
		Store:      st,
		Logger:     slog.New(slog.NewJSONHandler(e.log, nil)),
		Registerer: e.reg,
		Gatherer:   e.reg,
		Now:        e.clock.Now,
		Version:    "test",
	}
	for _, m := range mods {
		m(&o)
	}
	s, err := New(o)
	require.NoError(t, err)
	e.server = s
	e.http = httptest.NewServer(s.Handler())
	t.Cleanup(e.http.Close)
	ctx := context.Background()
	for _, k := range []struct {
		dst  *string
		role engine.Role
	}{{&e.admin, engine.RoleAdmin}, {&e.manager, engine.RoleManager}, {&e.agent, engine.RoleAgent}, {&e.viewer, engine.RoleViewer}} {
		secret, _, err := CreateKey(ctx, st, string(k.role)+" key", k.role, "", e.clock.Now())
		require.NoError(t, err)
		*k.dst = secret
	}
	return e
}

// resp is a finished response with its body read.
type resp struct {
	status int
	header http.Header
	body   []byte
}

// do sends a request. body may be nil, []byte, string (sent as is) or any
// other value (sent as JSON). hdr are header name/value pairs; a JSON
// Content-Type is set for non-nil bodies unless hdr names one.
func (e *env) do(method, path, key string, body any, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, e.http.URL+path, rd)
	require.NoError(e.t, err)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := e.http.Client().Do(req)
	require.NoError(e.t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(e.t, err)
	return resp{status: res.StatusCode, header: res.Header, body: b}
}

// ok asserts a status and decodes the JSON body into v (if non-nil).
func (r resp) ok(t testing.TB, status int, v any) {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	if v != nil {
		require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
	}
}

// problem asserts a problem+json response with the status, whose errors
// name path (when path is not ""), and returns it.
func (r resp) problem(t testing.TB, status int, path string) Problem {
	t.Helper()
	require.Equal(t, status, r.status, "body: %s", r.body)
	require.Equal(t, problemContentType, r.header.Get("Content-Type"), "body: %s", r.body)
	var p Problem
	require.NoError(t, json.Unmarshal(r.body, &p))
	require.Equal(t, status, p.Status)
	require.NotEmpty(t, p.Title)
	require.NotEmpty(t, p.Type)
	if path != "" {
		var paths []string
		for _, e := range p.Errors {
			paths = append(paths, e.Path)
		}
		require.Contains(t, paths, path, "body: %s", r.body)
	}
	return p
}

// fiveStep is the test cadence definition.
func fiveStep(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/five_step.json")
	require.NoError(t, err)
	return b
}

// defWith returns the five-step definition edited by fn (on a generic map).
func defWith(t testing.TB, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(fiveStep(t), &m))
	fn(m)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	return b
}

// cadenceJSON is the subset of a cadence response the tests read.
type cadenceJSON struct {
	ID      string              `json:"id"`
	Name    string              `json:"name"`
	Status  engine.Status       `json:"status"`
	Version int                 `json:"version"`
	Steps   []engine.Step       `json:"steps"`
	Stats   engine.CadenceStats `json:"stats"`
}

// createCadence creates the five-step cadence (optionally renamed).
func (e *env) createCadence(name string) cadenceJSON {
	e.t.Helper()
	body := fiveStep(e.t)
	if name != "" {
		body = defWith(e.t, func(m map[string]any) { m["name"] = name })
	}
	var c cadenceJSON
	e.do("POST", "/v1/cadences", e.manager, body).ok(e.t, http.StatusCreated, &c)
	return c
}
