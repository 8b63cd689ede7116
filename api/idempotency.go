package api

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Idempotency-Key handling.
//
// The store can insert a response once per (API key, key) and never update
// it, so a request goes through records in generations:
//
//	K         reservation: written before the handler runs (Status 102
//	          Processing, no body)
//	K␟done    the outcome: the response (2xx/4xx), or only the 5xx status
//	          when the handler failed, which frees the next generation
//	K␟g1, …   the next generation after a 5xx or an abandoned reservation
//
// (␟ is the ASCII unit separator, which a client's key cannot contain.)
//
// The reservation is an insert that only one node can win, so two
// concurrent duplicates never both run the handler: the loser answers 409
// "in progress" (with Retry-After) until the winner stores its outcome,
// after which it replays it. Inside one node a keyed mutex serializes
// duplicates first, so a local retry simply waits and replays. A reservation
// older than idempotencyLease without an outcome is taken to be abandoned
// (its node died) and the next generation may run.
const (
	// IdempotencyTTL is how long responses are kept for replay.
	IdempotencyTTL = 24 * time.Hour
	// idempotencyLease is how long a reservation without an outcome blocks
	// retries before it counts as abandoned.
	idempotencyLease = 5 * time.Minute
	// maxGenerations bounds the retries after failures with one key.
	maxGenerations = 5
	// maxIdempotencyKey bounds the header's length.
	maxIdempotencyKey = 255
	// keySep separates a client's key from our suffixes; clients' keys are
	// printable ASCII, so theirs never collide with ours.
	keySep = "\x1f"
)

// idempotent runs the request at most once per (API key, Idempotency-Key)
// and replays the stored response on retries.
func (s *Server) idempotent(req *request, key string, run func() *reply) *reply {
	r := req.Request
	if len(key) > maxIdempotencyKey || !printableASCII(key) {
		return s.errorReply(r, badRequest("Idempotency-Key", fmt.Sprintf("must be 1 to %d printable ASCII characters", maxIdempotencyKey)))
	}
	ctx := r.Context()
	unlock, err := s.locks.lock(ctx, req.key.ID+"\x00"+key)
	if err != nil {
		return s.errorReply(r, fmt.Errorf("idempotency lock: %w", err))
	}
	defer unlock()

	hash := requestHash(r.Method, r.URL.RequestURI(), req.body)

	raced := 0
	for gen := 0; gen < maxGenerations; gen++ {
		rk := key
		if gen > 0 {
			rk = key + keySep + "g" + strconv.Itoa(gen)
		}
		res, found, err := s.store.GetIdempotent(ctx, req.key.ID, rk)
		if err != nil {
			return s.errorReply(r, fmt.Errorf("idempotency: %w", err))
		}
		if !found {
			err := s.store.PutIdempotent(ctx, engine.IdempotentResponse{
				APIKeyID: req.key.ID, Key: rk, RequestHash: hash, Status: http.StatusProcessing, CreatedAt: s.now(),
			})
			if errors.Is(err, engine.ErrConflict) && raced < 3 {
				// Another node reserved this generation between our get
				// and put: read it again.
				raced++
				gen--
				continue
			}
			if err != nil {
				return s.errorReply(r, fmt.Errorf("idempotency reserve: %w", err))
			}
			rep := run()
			out := engine.IdempotentResponse{APIKeyID: req.key.ID, Key: rk + keySep + "done", RequestHash: hash, Status: rep.status, CreatedAt: s.now()}
			if rep.status < 500 { // a 5xx is recorded without its body and never replayed
				out.ContentType, out.Body = rep.contentType(), rep.body
			}
			if err := s.store.PutIdempotent(context.WithoutCancel(ctx), out); err != nil {
				// The response stands; only its replay is lost.
				s.log.ErrorContext(ctx, "idempotency: store response", slog.String("key_id", req.key.ID), slog.String("error", err.Error()))
			}
			return rep
		}
		if !bytes.Equal(res.RequestHash, hash) {
			return s.errorReply(r, fieldProblem("Idempotency-Key", "was already used for a different request (method, path or body differ); use a new key"))
		}
		fin, done, err := s.store.GetIdempotent(ctx, req.key.ID, rk+keySep+"done")
		if err != nil {
			return s.errorReply(r, fmt.Errorf("idempotency: %w", err))
		}
		switch {
		case done && fin.Status < 500:
			h := http.Header{"Idempotent-Replayed": {"true"}}
			if fin.ContentType != "" {
				h.Set("Content-Type", fin.ContentType)
			}
			return &reply{status: fin.Status, header: h, body: fin.Body}
		case done: // failed with a 5xx: the next generation may run
		case s.now().Sub(res.CreatedAt) < idempotencyLease:
			rep := s.errorReply(r, conflict("a request with this Idempotency-Key is still in progress; retry shortly"))
			rep.header.Set("Retry-After", "1")
			return rep
		default: // abandoned reservation: the next generation may run
		}
	}
	return s.errorReply(r, conflict("this Idempotency-Key failed too many times; use a new key"))
}

// PurgeIdempotency drops stored responses older than IdempotencyTTL. The
// server owner calls it periodically (e.g. hourly).
func (s *Server) PurgeIdempotency(ctx context.Context) (int, error) {
	n, err := s.store.PurgeIdempotent(ctx, s.now().Add(-IdempotencyTTL))
	if err != nil {
		return 0, fmt.Errorf("purge idempotency keys: %w", err)
	}
	return n, nil
}

// requestHash fingerprints a request: a retry must match it exactly.
func requestHash(method, requestURI string, body []byte) []byte {
	h := sha256.New()
	fmt.Fprintf(h, "%s %s\n", method, requestURI)
	h.Write(body)
	return h.Sum(nil)
}

func printableASCII(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return false
		}
	}
	return true
}

// keyedMutex serializes work per key inside this process.
type keyedMutex struct {
	mu sync.Mutex
	m  map[string]*keyedEntry
}

type keyedEntry struct {
	ch   chan struct{} // holds one token while locked
	refs int
}

func newKeyedMutex() *keyedMutex { return &keyedMutex{m: make(map[string]*keyedEntry)} }

// lock waits for key (or ctx) and returns the unlock function.
func (k *keyedMutex) lock(ctx context.Context, key string) (func(), error) {
	k.mu.Lock()
	e := k.m[key]
	if e == nil {
		e = &keyedEntry{ch: make(chan struct{}, 1)}
		k.m[key] = e
	}
	e.refs++
	k.mu.Unlock()
	release := func() {
		k.mu.Lock()
		e.refs--
		if e.refs == 0 {
			delete(k.m, key)
		}
		k.mu.Unlock()
	}
	select {
	case e.ch <- struct{}{}:
		return func() { <-e.ch; release() }, nil
	case <-ctx.Done():
		release()
		return nil, ctx.Err()
	}
}
