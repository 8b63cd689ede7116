package engine

import (
	"context"
	"errors"
	"time"
)

// Errors every Store returns (wrapped) so callers can test with errors.Is.
var (
	// ErrNotFound: no row with that id (or name).
	ErrNotFound = errors.New("not found")
	// ErrConflict: a uniqueness rule or an expected version did not hold.
	ErrConflict = errors.New("conflict")
	// ErrInUse: the row is referenced (e.g. a cadence with active enrollments).
	ErrInUse = errors.New("in use")
)

// Page asks for one page of a list, ordered by creation then id.
type Page struct {
	// After is the opaque cursor from the previous page ("" for the first).
	After string
	// Limit is the page size; stores cap it at 500 and default it to 50.
	Limit int
}

// CadenceFilter narrows ListCadences.
type CadenceFilter struct {
	Status Status // "" for every status
	Page
}

// CadenceVersion is one immutable saved version of a cadence definition.
type CadenceVersion struct {
	CadenceID  string     `json:"cadence_id"`
	Version    int        `json:"version"`
	CreatedAt  time.Time  `json:"created_at"`
	Definition Definition `json:"definition"`
}

// CadenceStats are the list columns of seed 001 that come from activity.
type CadenceStats struct {
	Invocations   int        `json:"invocations"`
	TasksRun      int        `json:"tasks_run"`
	LastTriggered *time.Time `json:"last_triggered"`
	LastActionRan *time.Time `json:"last_action_ran"`
}

// Template is a saved cadence layout for reuse (seed 000 "Save as Template").
type Template struct {
	ID          string     `json:"id"`
	Name        string     `json:"name"`
	Description string     `json:"description,omitempty"`
	CreatedAt   time.Time  `json:"created_at"`
	Definition  Definition `json:"definition"`
}

// Role is an API key's permission level: admin > manager > agent > viewer.
type Role string

// Roles, strongest first.
const (
	RoleAdmin   Role = "admin"
	RoleManager Role = "manager"
	RoleAgent   Role = "agent"
	RoleViewer  Role = "viewer"
)

// Rank orders roles; unknown roles rank 0.
func (r Role) Rank() int {
	switch r {
	case RoleAdmin:
		return 4
	case RoleManager:
		return 3
	case RoleAgent:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// AtLeast reports whether r is as strong as min.
func (r Role) AtLeast(min Role) bool { return r.Rank() >= min.Rank() && r.Rank() > 0 }

// APIKey is a stored API key. The secret itself is never stored: only its
// SHA-256 hash, and a short prefix so operators can tell keys apart.
type APIKey struct {
	ID         string     `json:"id"`
	Name       string     `json:"name"`
	Role       Role       `json:"role"`
	Prefix     string     `json:"prefix"`
	Hash       []byte     `json:"-"`
	CreatedAt  time.Time  `json:"created_at"`
	LastUsedAt *time.Time `json:"last_used_at,omitempty"`
	// AgentID binds a key of role agent to one agent: the key may then
	// act only for that agent (its state, its event stream, its prompt
	// accepts), and for none once the agent is deleted. Empty means
	// unbound: an agent key that may act for any agent, like a supervisor
	// tool. Only role agent may carry one.
	AgentID string `json:"agent_id,omitempty"`
}

// IdempotentResponse is the first response to a POST with an Idempotency-Key,
// replayed on retries of the same key by the same API key.
type IdempotentResponse struct {
	APIKeyID string
	Key      string
	// RequestHash fingerprints method, path and body: a retry with another
	// body is a conflict, not a replay.
	RequestHash []byte
	Status      int
	ContentType string
	Body        []byte
	CreatedAt   time.Time
}

// Asset is an uploaded audio file (voicemail message, safe-harbor message),
// stored normalized to 8 kHz 16-bit mono PCM, little endian.
type Asset struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	DurationMS int64     `json:"duration_ms"`
	CreatedAt  time.Time `json:"created_at"`
	// PCM is 8 kHz 16-bit mono little-endian samples; omitted from listings.
	PCM []byte `json:"-"`
}

// Store is the persistence the engine needs. Implementations: engine/postgres
// (production, many nodes) and engine/sqlite (embedded, one node); both pass
// engine/storetest. Every method takes the current time from its caller where
// time matters, so tests run on a simulated clock.
type Store interface {
	// CreateCadence stores a new cadence at version 1.
	CreateCadence(ctx context.Context, def Definition, status Status, now time.Time) (Cadence, error)
	// GetCadence returns the cadence with its current definition, or ErrNotFound.
	GetCadence(ctx context.Context, id string) (Cadence, error)
	// ListCadences pages through cadences, oldest first; next is "" on the last page.
	ListCadences(ctx context.Context, f CadenceFilter) (items []Cadence, next string, err error)
	// UpdateCadence saves def as a new version. expectVersion, when > 0, must
	// equal the current version (optimistic locking) or ErrConflict.
	UpdateCadence(ctx context.Context, id string, def Definition, expectVersion int, now time.Time) (Cadence, error)
	// SetCadenceStatus changes the status without creating a version.
	SetCadenceStatus(ctx context.Context, id string, status Status, now time.Time) (Cadence, error)
	// DeleteCadence removes a cadence and its versions. It returns ErrInUse
	// while it has active enrollments unless force, which stops them first.
	DeleteCadence(ctx context.Context, id string, force bool, now time.Time) error
	// ListVersions returns every version, newest first.
	ListVersions(ctx context.Context, id string) ([]CadenceVersion, error)
	// GetVersion returns version n, or ErrNotFound.
	GetVersion(ctx context.Context, id string, n int) (CadenceVersion, error)
	// CadenceStats returns the activity columns of a cadence.
	CadenceStats(ctx context.Context, id string) (CadenceStats, error)
	// ActiveEnrollments counts enrollments of the cadence that are not finished.
	ActiveEnrollments(ctx context.Context, cadenceID string) (int, error)

	// CreateTemplate, ListTemplates, GetTemplate, DeleteTemplate manage templates.
	CreateTemplate(ctx context.Context, t Template, now time.Time) (Template, error)
	ListTemplates(ctx context.Context, p Page) (items []Template, next string, err error)
	GetTemplate(ctx context.Context, id string) (Template, error)
	DeleteTemplate(ctx context.Context, id string) error

	// CreateAPIKey stores a key (ID and CreatedAt are set by the store).
	CreateAPIKey(ctx context.Context, k APIKey, now time.Time) (APIKey, error)
	// APIKeyByHash finds a key by the hash of its secret and records its use.
	APIKeyByHash(ctx context.Context, hash []byte, now time.Time) (APIKey, error)
	ListAPIKeys(ctx context.Context, p Page) (items []APIKey, next string, err error)
	DeleteAPIKey(ctx context.Context, id string) error
	CountAPIKeys(ctx context.Context) (int, error)

	// GetIdempotent returns the stored response for (apiKeyID, key), if any.
	GetIdempotent(ctx context.Context, apiKeyID, key string) (IdempotentResponse, bool, error)
	// PutIdempotent stores a response; a second put of the same key is ErrConflict.
	PutIdempotent(ctx context.Context, r IdempotentResponse) error
	// PurgeIdempotent drops responses created before cutoff.
	PurgeIdempotent(ctx context.Context, cutoff time.Time) (int, error)

	// CreateAsset stores normalized audio; names are unique (ErrConflict).
	CreateAsset(ctx context.Context, a Asset, now time.Time) (Asset, error)
	// GetAsset finds an asset by id or by name, PCM included.
	GetAsset(ctx context.Context, idOrName string) (Asset, error)
	ListAssets(ctx context.Context, p Page) (items []Asset, next string, err error)
	DeleteAsset(ctx context.Context, id string) error

	// Ping checks the database is reachable (readiness).
	Ping(ctx context.Context) error
	// Close releases connections.
	Close() error
}
