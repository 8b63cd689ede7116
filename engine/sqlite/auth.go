package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// lastUsedGranularity is how stale LastUsedAt may get: a key is written at
// most once per interval, so authenticating a request is normally a read.
const lastUsedGranularity = time.Minute

// CreateAPIKey stores a key by the hash of its secret.
func (s *Store) CreateAPIKey(ctx context.Context, k engine.APIKey, now time.Time) (engine.APIKey, error) {
	if len(k.Hash) == 0 {
		return engine.APIKey{}, fmt.Errorf("create api key: %w", fieldErr("hash", "required"))
	}
	if k.Role.Rank() == 0 {
		return engine.APIKey{}, fmt.Errorf("create api key: %w", fieldErr("role", fmt.Sprintf("unknown role %q", k.Role)))
	}
	if k.AgentID != "" && k.Role != engine.RoleAgent {
		return engine.APIKey{}, fmt.Errorf("create api key: %w", fieldErr("agent_id", fmt.Sprintf("only a key of role agent can be bound to an agent, not %s", k.Role)))
	}
	var err error
	if k.ID, err = newID(); err != nil {
		return engine.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	k.CreatedAt, k.LastUsedAt = utc(now), nil
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertAPIKey, k.ID, k.Name, string(k.Role), k.Prefix, k.Hash, micros(k.CreatedAt),
			sql.NullString{String: k.AgentID, Valid: k.AgentID != ""})
		return err
	})
	if isUnique(err) {
		err = fmt.Errorf("%w: a key with this hash exists", engine.ErrConflict)
	}
	if err != nil {
		return engine.APIKey{}, fmt.Errorf("create api key: %w", err)
	}
	return k, nil
}

func scanAPIKey(r rowScanner) (engine.APIKey, error) {
	var (
		k       engine.APIKey
		role    string
		created int64
		used    sql.NullInt64
		agent   sql.NullString
	)
	if err := r.Scan(&k.ID, &k.Name, &role, &k.Prefix, &k.Hash, &created, &used, &agent); err != nil {
		return engine.APIKey{}, err
	}
	k.Role, k.CreatedAt, k.LastUsedAt = engine.Role(role), fromMicros(created), fromNullMicros(used)
	k.AgentID = agent.String
	return k, nil
}

// APIKeyByHash finds a key by the hash of its secret and records its use,
// at a granularity of a minute.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte, now time.Time) (engine.APIKey, error) {
	k, err := scanAPIKey(s.db.QueryRowContext(ctx, s.q.APIKeyByHash, hash))
	if errors.Is(err, sql.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return engine.APIKey{}, fmt.Errorf("api key by hash: %w", err)
	}
	now = utc(now)
	fresh := now.Add(-lastUsedGranularity)
	if k.LastUsedAt != nil && !k.LastUsedAt.Before(fresh) {
		return k, nil
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.TouchAPIKey, k.ID, micros(now), micros(fresh))
		return err
	})
	if err != nil {
		return engine.APIKey{}, fmt.Errorf("api key by hash: record use: %w", err)
	}
	k.LastUsedAt = &now
	return k, nil
}

// ListAPIKeys pages through keys, oldest first.
func (s *Store) ListAPIKeys(ctx context.Context, p engine.Page) ([]engine.APIKey, string, error) {
	return listPage(ctx, s, "api keys", s.q.ListAPIKeys, p, scanAPIKey, func(k engine.APIKey) (time.Time, string) { return k.CreatedAt, k.ID })
}

// DeleteAPIKey removes a key and the responses stored under it.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.DeleteAPIKey, id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return engine.ErrNotFound
		}
		_, err = tx.ExecContext(ctx, s.q.DeleteKeyIdem, id)
		return err
	})
	if err != nil {
		return fmt.Errorf("delete api key %s: %w", id, err)
	}
	return nil
}

// CountAPIKeys counts the stored keys.
func (s *Store) CountAPIKeys(ctx context.Context) (int, error) {
	var n int
	if err := s.db.QueryRowContext(ctx, s.q.CountAPIKeys).Scan(&n); err != nil {
		return 0, fmt.Errorf("count api keys: %w", err)
	}
	return n, nil
}

// GetIdempotent returns the stored response for (apiKeyID, key), if any.
func (s *Store) GetIdempotent(ctx context.Context, apiKeyID, key string) (engine.IdempotentResponse, bool, error) {
	r := engine.IdempotentResponse{APIKeyID: apiKeyID, Key: key}
	var created int64
	err := s.db.QueryRowContext(ctx, s.q.GetIdempotent, apiKeyID, key).Scan(&r.RequestHash, &r.Status, &r.ContentType, &r.Body, &created)
	if errors.Is(err, sql.ErrNoRows) {
		return engine.IdempotentResponse{}, false, nil
	}
	if err != nil {
		return engine.IdempotentResponse{}, false, fmt.Errorf("get idempotent response: %w", err)
	}
	r.CreatedAt = fromMicros(created)
	return r, true, nil
}

// PutIdempotent stores a response; the key must be new.
func (s *Store) PutIdempotent(ctx context.Context, r engine.IdempotentResponse) error {
	if err := checkIdempotent(r); err != nil {
		return fmt.Errorf("put idempotent response: %w", err)
	}
	if r.Body == nil {
		r.Body = []byte{}
	}
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertIdempotent, r.APIKeyID, r.Key, r.RequestHash, r.Status, r.ContentType, r.Body, micros(utc(r.CreatedAt)))
		return err
	})
	if isUnique(err) {
		err = fmt.Errorf("%w: key %q already has a response", engine.ErrConflict, r.Key)
	}
	if err != nil {
		return fmt.Errorf("put idempotent response: %w", err)
	}
	return nil
}

// checkIdempotent names the first missing field of r.
func checkIdempotent(r engine.IdempotentResponse) error {
	switch {
	case r.APIKeyID == "":
		return fieldErr("api_key_id", "required")
	case r.Key == "":
		return fieldErr("key", "required")
	case len(r.RequestHash) == 0:
		return fieldErr("request_hash", "required")
	case r.Status < 100 || r.Status > 599:
		return fieldErr("status", fmt.Sprintf("%d is not an HTTP status", r.Status))
	case r.CreatedAt.IsZero():
		return fieldErr("created_at", "required")
	}
	return nil
}

// PurgeIdempotent drops responses created before cutoff.
func (s *Store) PurgeIdempotent(ctx context.Context, cutoff time.Time) (int, error) {
	var n int64
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, s.q.PurgeIdempotent, micros(utc(cutoff)))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("purge idempotent responses: %w", err)
	}
	return int(n), nil
}
