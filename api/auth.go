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
	if msg := validKeyName(name); msg != "" {
		return "", engine.APIKey{}, engine.FieldErrors{{Path: "name", Message: msg}}
	}
	if role.Rank() == 0 {
		return "", engine.APIKey{}, engine.FieldErrors{{Path: "role", Message: fmt.Sprintf("unknown role %q; use admin, manager, agent or viewer", role)}}
	}
	if secret == "" {
		secret = GenerateKey()
	} else if len(secret) < minSecretLen {
		return "", engine.APIKey{}, engine.FieldErrors{{Path: "secret", Message: fmt.Sprintf("must be at least %d characters", minSecretLen)}}
	}
	k, err := store.CreateAPIKey(ctx, engine.APIKey{
		Name:   name,
		Role:   role,
		Prefix: secret[:shownPrefixLen],
		Hash:   HashKey(secret),
	}, now)
	if err != nil {
		return "", engine.APIKey{}, fmt.Errorf("create api key %q: %w", name, err)
	}
	return secret, k, nil
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
