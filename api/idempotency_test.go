package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/cadenza-dialer/cadenza/engine"
)

// countCadences lists every cadence.
func (e *env) countCadences() int {
	e.t.Helper()
	var page listPage[cadenceItem]
	e.do("GET", "/v1/cadences?limit=500", e.viewer, nil).ok(e.t, http.StatusOK, &page)
	return len(page.Items)
}

func TestIdempotentReplay(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	body := fiveStep(t)

	first := e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "create-1")
	require.Equal(t, http.StatusCreated, first.status)
	require.Empty(t, first.header.Get("Idempotent-Replayed"))
	again := e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "create-1")
	require.Equal(t, http.StatusCreated, again.status)
	require.Equal(t, "true", again.header.Get("Idempotent-Replayed"))
	require.Equal(t, first.body, again.body)
	require.Equal(t, "application/json", again.header.Get("Content-Type"))
	require.Equal(t, 1, e.countCadences())

	// Same key, another body: refused, nothing runs.
	e.do("POST", "/v1/cadences", e.manager, defWith(t, func(m map[string]any) { m["name"] = "Other" }), "Idempotency-Key", "create-1").
		problem(t, http.StatusUnprocessableEntity, "Idempotency-Key")
	// Keys are per API key: the admin's "create-1" is another request.
	e.do("POST", "/v1/cadences", e.admin, body, "Idempotency-Key", "create-1").ok(t, http.StatusCreated, nil)
	require.Equal(t, 2, e.countCadences())

	// 4xx responses are stored and replayed too.
	p1 := e.do("POST", "/v1/cadences", e.manager, `{"name":""}`, "Idempotency-Key", "bad-1")
	p2 := e.do("POST", "/v1/cadences", e.manager, `{"name":""}`, "Idempotency-Key", "bad-1")
	require.Equal(t, http.StatusUnprocessableEntity, p2.status)
	require.Equal(t, "true", p2.header.Get("Idempotent-Replayed"))
	require.Equal(t, p1.body, p2.body)
	require.Equal(t, problemContentType, p2.header.Get("Content-Type"))

	e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", strings.Repeat("k", 300)).problem(t, http.StatusBadRequest, "Idempotency-Key")

	// After 24 h the responses are purged and the key is fresh again.
	e.clock.Advance(IdempotencyTTL + time.Hour)
	n, err := e.server.PurgeIdempotency(context.Background())
	require.NoError(t, err)
	require.Positive(t, n)
	fresh := e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "create-1")
	require.Equal(t, http.StatusCreated, fresh.status)
	require.Empty(t, fresh.header.Get("Idempotent-Replayed"))
	require.Equal(t, 3, e.countCadences())
}

func TestIdempotentConcurrentDuplicates(t *testing.T) {
	t.Parallel()
	concurrentDuplicates(t, openSQLite(t))
}

// concurrentDuplicates sends one request with one Idempotency-Key many
// times at once through two servers (two nodes) over one store: it runs
// once, and every answer is that response or a 409 "in progress".
func concurrentDuplicates(t *testing.T, st engine.Store) {
	e := newEnvWithStore(t, st)
	other := newEnvWithStore(t, st)
	body := fiveStep(t)

	const n = 8
	var wg sync.WaitGroup
	results := make([]resp, n)
	for i := range n {
		wg.Go(func() {
			node := e
			if i%2 == 1 {
				node = other
			}
			results[i] = node.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "race")
		})
	}
	wg.Wait()
	var created []byte
	for _, r := range results {
		switch r.status {
		case http.StatusCreated:
			if created == nil {
				created = r.body
			}
			require.Equal(t, created, r.body, "every success is the one response")
		case http.StatusConflict: // the other node's duplicate still in flight
			require.Equal(t, "1", r.header.Get("Retry-After"))
		default:
			t.Fatalf("unexpected %d: %s", r.status, r.body)
		}
	}
	require.NotNil(t, created)
	require.Equal(t, 1, e.countCadences(), "duplicates never both run")
}

// flakyStore fails CreateCadence while fail is set, and panics in
// GetTemplate while panics is set.
type flakyStore struct {
	engine.Store
	fail   atomic.Bool
	panics atomic.Bool
	ping   atomic.Bool
	// pingHang makes Ping wait for its context.
	pingHang atomic.Bool
}

func (f *flakyStore) CreateCadence(ctx context.Context, def engine.Definition, st engine.Status, now time.Time) (engine.Cadence, error) {
	if f.fail.Load() {
		return engine.Cadence{}, errors.New("disk on fire")
	}
	return f.Store.CreateCadence(ctx, def, st, now)
}

func (f *flakyStore) GetTemplate(ctx context.Context, id string) (engine.Template, error) {
	if f.panics.Load() {
		panic("boom")
	}
	return f.Store.GetTemplate(ctx, id)
}

func (f *flakyStore) Ping(ctx context.Context) error {
	if f.ping.Load() {
		return errors.New("connection refused")
	}
	if f.pingHang.Load() { // a database that never answers
		<-ctx.Done()
		return ctx.Err()
	}
	return f.Store.Ping(ctx)
}

func TestIdempotencyAfterFailureAndAbandon(t *testing.T) {
	t.Parallel()
	fs := &flakyStore{Store: openSQLite(t)}
	e := newEnvWithStore(t, fs)
	body := fiveStep(t)

	// A 5xx is not stored: the retry runs again.
	fs.fail.Store(true)
	p := e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "k").problem(t, http.StatusInternalServerError, "")
	require.NotContains(t, p.Detail, "disk on fire", "internal errors are logged, not shown")
	require.Contains(t, e.log.String(), "disk on fire")
	fs.fail.Store(false)
	e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "k").ok(t, http.StatusCreated, nil)
	r := e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "k")
	require.Equal(t, "true", r.header.Get("Idempotent-Replayed"))
	require.Equal(t, 1, e.countCadences())

	// A reservation whose node died blocks retries for the lease, then not.
	var mgr engine.APIKey
	mgr, err := fs.APIKeyByHash(context.Background(), HashKey(e.manager), e.clock.Now())
	require.NoError(t, err)
	require.NoError(t, fs.PutIdempotent(context.Background(), engine.IdempotentResponse{
		APIKeyID: mgr.ID, Key: "dead", RequestHash: requestHash(http.MethodPost, "/v1/cadences", body),
		Status: http.StatusProcessing, CreatedAt: e.clock.Now(),
	}))
	r = e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "dead")
	r.problem(t, http.StatusConflict, "")
	require.Equal(t, "1", r.header.Get("Retry-After"))
	e.clock.Advance(idempotencyLease + time.Second)
	e.do("POST", "/v1/cadences", e.manager, body, "Idempotency-Key", "dead").ok(t, http.StatusCreated, nil)
	require.Equal(t, 2, e.countCadences())
}
