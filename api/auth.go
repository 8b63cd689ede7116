package api

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/cadenza-dialer/cadenza/dialer/agents"
	"github.com/cadenza-dialer/cadenza/engine"
)

// KeyPrefix starts every generated API key, so leaked keys are easy to spot
// by secret scanners.
const KeyPrefix = "cdz_"

// minSecretLen is the shortest secret CreateKey accepts from an operator
// (CADENZA_ADMIN_KEY): shorter ones are guessable.
const minSecretLen = 20

// shownPrefixLen is how much of a secret is stored in clear as
// APIKey.Prefix, so operators can tell keys apart ("cdz_AbCd").
const shownPrefixLen = 8

// GenerateKey returns a new secret: "cdz_" and 40 URL-safe random
// characters (240 bits).
func GenerateKey() string {
	var b [30]byte
	// crypto/rand.Read never fails on supported platforms (it panics
	// rather than return weak randomness).
	_, _ = rand.Read(b[:])
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b[:])
}

// HashKey is what the store keeps instead of the secret: its SHA-256.
// Secrets are 240 random bits, so a fast hash is enough (no password
// stretching is needed against guessing).
func HashKey(secret string) []byte {
	h := sha256.Sum256([]byte(secret))
	return h[:]
}

// validKeyName checks an API key's name.
func validKeyName(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "is required"
	case utf8.RuneCountInString(name) > 100:
		return "must be at most 100 characters"
	}
	return ""
}

// CreateKey stores a new API key. An empty secret generates one. It
// returns the secret, which is shown to the caller once and never stored.
func CreateKey(ctx context.Context, store engine.Store, name string, role engine.Role, secret string, now time.Time) (string, engine.APIKey, error) {
	return CreateKeyWith(ctx, store, KeySpec{Name: name, Role: role, Secret: secret}, now)
}

// KeySpec is what CreateKeyWith makes a key from.
type KeySpec struct {
	Name string
	Role engine.Role
	// AgentID binds a key of role agent to one agent (engine.APIKey.AgentID).
	AgentID string
	// Secret is the key's secret; empty generates one.
	Secret string
}

// CreateKeyWith stores a new API key as CreateKey does, optionally bound to
// an agent: only a key of role agent can be, and the agent must exist when
// store keeps agents (engine.AgentStore).
func CreateKeyWith(ctx context.Context, store engine.Store, spec KeySpec, now time.Time) (string, engine.APIKey, error) {
	name, role, secret := spec.Name, spec.Role, spec.Secret
	if msg := validKeyName(name); msg != "" {
		return "", engine.APIKey{}, engine.FieldErrors{{Path: "name", Message: msg}}
	}
	if role.Rank() == 0 {
		return "", engine.APIKey{}, engine.FieldErrors{{Path: "role", Message: fmt.Sprintf("unknown role %q; use admin, manager, agent or viewer", role)}}
	}
	if err := checkKeyAgent(ctx, store, role, spec.AgentID); err != nil {
		return "", engine.APIKey{}, err
	}
	if secret == "" {
		secret = GenerateKey()
	} else if len(secret) < minSecretLen {
		return "", engine.APIKey{}, engine.FieldErrors{{Path: "secret", Message: fmt.Sprintf("must be at least %d characters", minSecretLen)}}
	}
	k, err := store.CreateAPIKey(ctx, engine.APIKey{
		Name:    name,
		Role:    role,
		Prefix:  secret[:shownPrefixLen],
		Hash:    HashKey(secret),
		AgentID: spec.AgentID,
	}, now)
	if err != nil {
		return "", engine.APIKey{}, fmt.Errorf("create api key %q: %w", name, err)
	}
	return secret, k, nil
}

// checkKeyAgent checks a key's agent binding before it is stored, so the
// caller hears which field is wrong rather than a bare not-found.
func checkKeyAgent(ctx context.Context, store engine.Store, role engine.Role, agentID string) error {
	if agentID == "" {
		return nil
	}
	if role != engine.RoleAgent {
		return engine.FieldErrors{{Path: "agent_id", Message: fmt.Sprintf("only a key of role agent can be bound to an agent, not %s", role)}}
	}
	as, ok := store.(engine.AgentStore)
	if !ok {
		return nil
	}
	_, err := as.GetAgent(ctx, agentID)
	if errors.Is(err, engine.ErrNotFound) {
		return engine.FieldErrors{{Path: "agent_id", Message: fmt.Sprintf("no agent %q", agentID)}}
	}
	if err != nil {
		return fmt.Errorf("check agent %s: %w", agentID, err)
	}
	return nil
}

// BootstrapAdmin gives an empty database its first admin key. If keys
// already exist it does nothing and returns "". Otherwise it stores envKey
// (CADENZA_ADMIN_KEY) as an admin key and returns "" (the operator already
// knows it), or, when envKey is empty, generates one and returns it so the
// caller prints it once.
func BootstrapAdmin(ctx context.Context, store engine.Store, envKey string, now time.Time) (string, error) {
	n, err := store.CountAPIKeys(ctx)
	if err != nil {
		return "", fmt.Errorf("bootstrap admin key: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	secret, _, err := CreateKey(ctx, store, "bootstrap admin", engine.RoleAdmin, envKey, now)
	if err != nil {
		if envKey != "" && errors.Is(err, engine.ErrConflict) {
			// Another node stored the same key first.
			return "", nil
		}
		return "", fmt.Errorf("bootstrap admin key: %w", err)
	}
	if envKey != "" {
		return "", nil
	}
	return secret, nil
}

// authenticate finds the caller's key from "Authorization: Bearer <key>".
func (s *Server) authenticate(r *http.Request) (engine.APIKey, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return engine.APIKey{}, unauthorized("missing Authorization header; send Authorization: Bearer <api key>")
	}
	scheme, secret, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(secret) == "" {
		return engine.APIKey{}, unauthorized("Authorization must be Bearer <api key>")
	}
	key, err := s.store.APIKeyByHash(r.Context(), HashKey(strings.TrimSpace(secret)), s.now())
	if errors.Is(err, engine.ErrNotFound) {
		return engine.APIKey{}, unauthorized("unknown or deleted API key")
	}
	if err != nil {
		return engine.APIKey{}, fmt.Errorf("authenticate: %w", err)
	}
	return key, nil
}

func unauthorized(detail string) *Problem {
	p := newProblem(http.StatusUnauthorized, "unauthorized", detail)
	p.Errors = []engine.FieldError{{Path: "Authorization", Message: detail}}
	return p
}

// actFor lets key act for agent agentID (change its state, follow its
// events, accept prompts for it). A key bound to an agent (APIKey.AgentID)
// acts only for that agent, and for none once the agent is deleted; other
// keys that reached an agent route act for any agent. path names the
// parameter or field that held agentID, for the 403.
func (s *Server) actFor(ctx context.Context, key engine.APIKey, path, agentID string) error {
	if key.AgentID == "" {
		return nil
	}
	if agentID != key.AgentID {
		return forbiddenField(path, fmt.Sprintf("key %q acts only for agent %q, not %q", key.Name, key.AgentID, agentID))
	}
	gone, err := s.agentGone(ctx, agentID)
	if err != nil {
		return err
	}
	if gone {
		return forbiddenField(path, fmt.Sprintf("key %q is bound to agent %q, which no longer exists", key.Name, agentID))
	}
	return nil
}

// agentGone reports whether agent id was deleted: the store is the truth
// when there is one (a deleted agent may linger nowhere else), else the
// roster. With neither, the route itself answers 503.
func (s *Server) agentGone(ctx context.Context, id string) (bool, error) {
	switch {
	case s.agentStore != nil:
		_, err := s.agentStore.GetAgent(ctx, id)
		if errors.Is(err, engine.ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, fmt.Errorf("get agent %s: %w", id, err)
		}
		return false, nil
	case s.roster != nil:
		_, err := s.roster.Get(id, s.now())
		return errors.Is(err, agents.ErrUnknownAgent), nil
	}
	return false, nil
}

// forbiddenField is a 403 naming the parameter or field that asked for
// what the key may not do.
func forbiddenField(path, message string) *Problem {
	p := newProblem(http.StatusForbidden, "forbidden", path+": "+message)
	p.Errors = []engine.FieldError{{Path: path, Message: message}}
	return p
}
