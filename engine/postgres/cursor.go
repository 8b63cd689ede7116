package postgres

import (
	"context"
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgtype"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Page sizes: the default and the cap of engine.Page.Limit.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// badCursor is the error for a cursor this store did not write: a field
// error, so the API answers 422 naming the parameter.
func badCursor() error { return fieldErr("after", "is not a cursor of this list") }

// nilUUID sorts before every generated id.
const nilUUID = "00000000-0000-0000-0000-000000000000"

// pageArgs turns a Page into the query arguments: the position after which
// the page starts (created_at, id) and the limit; queries fetch one row more
// to tell whether another page follows.
func pageArgs(p engine.Page) (after pgtype.Timestamptz, afterID string, limit int, err error) {
	limit = p.Limit
	if limit <= 0 {
		limit = defaultLimit
	}
	if limit > maxLimit {
		limit = maxLimit
	}
	if p.After == "" {
		return pgtype.Timestamptz{InfinityModifier: pgtype.NegativeInfinity, Valid: true}, nilUUID, limit, nil
	}
	at, id, err := decodeCursor(p.After)
	if err != nil {
		return pgtype.Timestamptz{}, "", 0, err
	}
	return pgtype.Timestamptz{Time: at, Valid: true}, id, limit, nil
}

// encodeCursor writes the position of a row as an opaque token.
func encodeCursor(createdAt time.Time, id string) string {
	raw := strconv.FormatInt(createdAt.UnixMicro(), 10) + "|" + id
	return base64.RawURLEncoding.EncodeToString([]byte(raw))
}

// decodeCursor reads a token written by encodeCursor.
func decodeCursor(s string) (time.Time, string, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return time.Time{}, "", badCursor()
	}
	at, id, ok := strings.Cut(string(raw), "|")
	if !ok || !validID(id) {
		return time.Time{}, "", badCursor()
	}
	v, err := strconv.ParseInt(at, 10, 64)
	if err != nil {
		return time.Time{}, "", badCursor()
	}
	return time.UnixMicro(v).UTC(), id, nil
}

// trimPage cuts the extra row fetched beyond limit and returns the cursor of
// the next page, "" when there is none.
func trimPage[T any](items []T, limit int, key func(T) (time.Time, string)) ([]T, string) {
	if len(items) <= limit {
		return items, ""
	}
	items = items[:limit]
	at, id := key(items[limit-1])
	return items, encodeCursor(at, id)
}

// listPage runs a list query that pages by (created, key) — its arguments
// are the cursor's time, the cursor's key and the page size plus one — and
// returns one page with the cursor of the next. key gives a row's position.
func listPage[T any](ctx context.Context, s *Store, what, query string, p engine.Page,
	scan func(rowScanner) (T, error), key func(T) (time.Time, string)) ([]T, string, error) {
	after, afterKey, limit, err := pageArgs(p)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	rows, err := s.pool.Query(ctx, query, after, afterKey, limit+1)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	items, err := collect(rows, scan)
	if err != nil {
		return nil, "", fmt.Errorf("list %s: %w", what, err)
	}
	items, next := trimPage(items, limit, key)
	return items, next, nil
}
