// Package api is Cadenza's REST API under /v1: cadences and their versions,
// import/export, templates, audio assets and API keys; contacts,
// enrollments, webhook triggers, the do-not-call list, agent dispositions
// and cadence dry runs (through the engine); what operators see (seed 001's
// inflight and completed actions, enrollment and do-not-call lists, seed
// 000's analytics, readmodel.go); read-only trunks and
// caller-ID pools (with resting a number); teams, queues and agents with
// their live state, a Server-Sent Events stream per agent, first-to-answer
// prompt accepts and contact owners (issue 8: teams.go, agents.go,
// agent_events.go, owners.go), with API-key
// authentication by role, RFC 9457 problem+json errors that name the field,
// body limits, strict JSON, Idempotency-Key replay and cursor pagination. It
// also serves the OpenAPI 3.1 document (/v1/openapi.json), health
// (/healthz, /readyz) and Prometheus metrics (/metrics).
//
// Every route lives in one table (routes.go) that both registers the
// handlers and is checked against the OpenAPI document by a test, so the
// two cannot drift apart.
//
// Decisions worth knowing:
//   - Cadence references are checked on every save (create, update, import,
//     instantiate): a forward or after-runs cadence that does not exist is a
//     422 naming the field. Audio assets and caller-ID pools are checked only
//     when the cadence is or becomes active (activate, or saving an active
//     cadence): importing a document before uploading its audio is common,
//     but an active cadence must be able to run. Deleting an asset or a
//     cadence that active cadences rely on is a 409 unless ?force=true.
//   - Health, readiness, metrics and the OpenAPI document are public; every
//     other route needs a key. viewer and agent read, manager writes
//     cadences, templates and assets, admin manages keys.
//   - Idempotency-Key works on every POST except creating an API key (its
//     response holds the secret, which is never stored): there it is a 400.
//     See idempotency.go for how concurrent duplicates are kept from both
//     running, across nodes too.
//   - The engine is optional (Options.Engine): without it the contact,
//     enrollment, trigger, DNC and disposition routes answer 503 "engine
//     not running", after validating the body (bad input is still a 4xx).
//     Without caller-ID pools, GET /v1/callerid-pools lists none and
//     resting a number is a 503.
//   - Agents are stored (Options.AgentStore) but live on one node's roster
//     (Options.Agents, dialer/agents): the handlers keep the two in step,
//     and without a roster the state, event-stream and prompt routes
//     answer 503. The event stream is a raw route that extends its write
//     deadline per write, so the server's WriteTimeout does not cut it;
//     CloseStreams ends open streams at shutdown.
//   - Triggers (POST /v1/triggers/{key}) are configuration, not stored:
//     each has a cadence and a secret, sent in X-Cadenza-Trigger-Secret or
//     used to sign the body (X-Cadenza-Signature: sha256=HEX), both
//     compared in constant time. They ignore Idempotency-Key (there is no
//     API key to scope a stored response to); a retried webhook finds the
//     contact enrolled and gets a 409.
//   - PUT /v1/cadences/{id} accepts what GET returned: the read-only fields
//     are ignored, except "version" (the version edited: 409 when stale),
//     "id" (must match) and "status" (must be unchanged). If-Match "N" does
//     the same with 412.
package api

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// Default body limits.
const (
	DefaultMaxBodyBytes  = 1 << 20  // JSON bodies
	DefaultMaxAssetBytes = 10 << 20 // WAV uploads
)

// DefaultEventHeartbeat is the default interval of the comment lines of an
// agent event stream (GET /v1/agents/{id}/events).
const DefaultEventHeartbeat = 15 * time.Second

// Options configures a Server. Store is required; the rest have defaults.
type Options struct {
	// Store holds everything the API reads and writes.
	Store engine.Store
	// Logger receives the access log and unexpected errors; nil discards.
	Logger *slog.Logger
	// Registerer receives the HTTP metrics; nil registers nowhere.
	Registerer prometheus.Registerer
	// Gatherer is what /metrics exposes; nil serves an empty registry.
	Gatherer prometheus.Gatherer
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxBodyBytes caps JSON request bodies (413 above); 0 means 1 MiB.
	MaxBodyBytes int64
	// MaxAssetBytes caps WAV uploads (413 above); 0 means 10 MiB.
	MaxAssetBytes int64
	// CallerIDPools lists the configured caller-ID pool names. When non-nil,
	// activating a cadence (or saving an active one) whose call step names
	// another pool is refused with 422.
	CallerIDPools []string
	// Version is the server version reported by /healthz and the OpenAPI
	// document.
	Version string

	// Engine enrolls contacts, keeps the do-not-call list and takes agent
	// dispositions; *engine.Engine is one. When nil, the contact,
	// enrollment, trigger, DNC and disposition routes answer 503.
	Engine Engine
	// Enrollments reads contacts and enrollments back; nil means Store,
	// when it implements engine.EnrollmentStore (both drivers do).
	Enrollments engine.EnrollmentStore
	// Reads serves the listings and analytics (GET /v1/actions,
	// /v1/enrollments, /v1/dnc, /v1/analytics/summary,
	// /v1/cadences/{id}/analytics); nil means Store, when it implements
	// engine.ReadStore (both drivers do). Without one those routes are 503.
	Reads engine.ReadStore
	// Trunks are the configured trunks, as GET /v1/trunks shows them
	// (never with credentials).
	Trunks []TrunkInfo
	// CallerIDs reports and rests caller-ID pool numbers;
	// *callerid.Service is one. When nil, GET /v1/callerid-pools lists no
	// pools and resting a number is a 503.
	CallerIDs CallerIDs
	// Triggers are the webhook enrollment endpoints (POST
	// /v1/triggers/{key}), each with its own secret.
	Triggers []Trigger
	// DryRun configures POST /v1/cadences/{id}/dryrun.
	DryRun DryRunOptions

	// AgentStore keeps teams, queues, agents and contact owners; nil means
	// Store, when it implements engine.AgentStore (both drivers do).
	// Without one the team, queue, agent and owner routes answer 503.
	AgentStore engine.AgentStore
	// Agents is this node's live roster (agent state, event streams,
	// prompts). When nil, the state, events and prompt routes answer 503;
	// the configuration routes still work. LoadAgents fills it at start.
	Agents *agents.Roster
	// EventHeartbeat is the interval of the comment lines that keep an
	// agent event stream alive; 0 means DefaultEventHeartbeat (15 s).
	EventHeartbeat time.Duration

	// SMSTemplates keeps stored SMS templates; nil means Store, when it
	// implements engine.SMSTemplateStore (both drivers do).
	SMSTemplates engine.SMSTemplateStore
	// SMSInbound verifies replies posted by the SMS gateway to
	// POST /v1/sms/inbound; without an auth token the route answers 503.
	SMSInbound SMSInbound
}

// Server is the HTTP API. Build it with New and serve Handler().
type Server struct {
	store    engine.Store
	log      *slog.Logger
	gatherer prometheus.Gatherer
	now      func() time.Time
	maxBody  int64
	maxAsset int64
	pools    map[string]bool // nil: pools are not checked
	version  string

	engine      Engine
	enrollments engine.EnrollmentStore
	reads       engine.ReadStore
	trunks      []TrunkInfo
	callerIDs   CallerIDs
	triggers    map[string]Trigger
	dryrunOpts  DryRunOptions

	agentStore       engine.AgentStore
	smsTemplateStore engine.SMSTemplateStore
	inbound          SMSInbound
	roster           *agents.Roster
	heartbeat        time.Duration
	streamsDone      chan struct{} // closed by CloseStreams
	closeStreamsOnce sync.Once

	metrics *httpMetrics
	locks   *keyedMutex
	mux     *http.ServeMux
	table   []route
}

// New builds a Server and registers its metrics.
func New(o Options) (*Server, error) {
	if o.Store == nil {
		return nil, errors.New("api: Options.Store is required")
	}
	s := &Server{
		store:    o.Store,
		log:      o.Logger,
		gatherer: o.Gatherer,
		now:      o.Now,
		maxBody:  o.MaxBodyBytes,
		maxAsset: o.MaxAssetBytes,
		version:  o.Version,
		locks:    newKeyedMutex(),
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.gatherer == nil {
		s.gatherer = prometheus.NewRegistry()
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.maxBody <= 0 {
		s.maxBody = DefaultMaxBodyBytes
	}
	if s.maxAsset <= 0 {
		s.maxAsset = DefaultMaxAssetBytes
	}
	if s.version == "" {
		s.version = "dev"
	}
	if o.CallerIDPools != nil {
		s.pools = make(map[string]bool, len(o.CallerIDPools))
		for _, p := range o.CallerIDPools {
			s.pools[p] = true
		}
	}
	s.reads = o.Reads
	if s.reads == nil {
		s.reads, _ = o.Store.(engine.ReadStore)
	}
	s.agentStore = o.AgentStore
	if s.agentStore == nil {
		s.agentStore, _ = o.Store.(engine.AgentStore)
	}
	s.smsTemplateStore = o.SMSTemplates
	if s.smsTemplateStore == nil {
		s.smsTemplateStore, _ = o.Store.(engine.SMSTemplateStore)
	}
	s.inbound = o.SMSInbound
	s.roster = o.Agents
	s.heartbeat = o.EventHeartbeat
	if s.heartbeat <= 0 {
		s.heartbeat = DefaultEventHeartbeat
	}
	s.streamsDone = make(chan struct{})
	if err := s.setEngineOptions(o); err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	m, err := newHTTPMetrics(o.Registerer)
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	s.metrics = m
	s.table = s.routes()
	s.mux = http.NewServeMux()
	for _, rt := range s.table {
		s.mux.Handle(rt.method+" "+rt.pattern, s.serveRoute(rt))
	}
	return s, nil
}

// Handler returns the HTTP handler for every route. Requests that match no
// route get a 404 (or 405 with Allow) problem.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := s.mux.Handler(r); pattern != "" {
			s.mux.ServeHTTP(w, r)
			return
		}
		s.unmatched(w, r)
	})
}

// unmatched answers a request no pattern took: 405 when the path exists
// under another method, else 404. It is logged and counted like the rest.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	var allow []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete} {
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, p := s.mux.Handler(probe); p != "" {
			allow = append(allow, m)
		}
	}
	status := http.StatusNotFound
	if len(allow) > 0 {
		status = http.StatusMethodNotAllowed
		allowed := ""
		for i, m := range allow {
			if i > 0 {
				allowed += ", "
			}
			allowed += m
		}
		w.Header().Set("Allow", allowed)
		writeProblem(w, r, newProblem(status, "method-not-allowed", fmt.Sprintf("%s is not allowed here; use %s", r.Method, allowed)))
	} else {
		writeProblem(w, r, newProblem(status, "not-found", fmt.Sprintf("no route for %s %s", r.Method, r.URL.Path)))
	}
	s.observe(r, "unmatched", status, start, "")
}
