package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// CreateTemplate stores a template (ID and CreatedAt are set here).
func (s *Store) CreateTemplate(ctx context.Context, t engine.Template, now time.Time) (engine.Template, error) {
	doc, err := json.Marshal(t.Definition)
	if err != nil {
		return engine.Template{}, fmt.Errorf("create template: encode definition: %w", err)
	}
	if t.ID, err = newID(); err != nil {
		return engine.Template{}, fmt.Errorf("create template: %w", err)
	}
	t.CreatedAt = utc(now)
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertTemplate, t.ID, t.Name, t.Description, string(doc), micros(t.CreatedAt))
		return err
	})
	if err != nil {
		return engine.Template{}, fmt.Errorf("create template: %w", err)
	}
	return t, nil
}

func scanTemplate(r rowScanner) (engine.Template, error) {
	var (
		t       engine.Template
		created int64
		doc     string
	)
	if err := r.Scan(&t.ID, &t.Name, &t.Description, &created, &doc); err != nil {
		return engine.Template{}, err
	}
	t.CreatedAt = fromMicros(created)
	if err := json.Unmarshal([]byte(doc), &t.Definition); err != nil {
		return engine.Template{}, fmt.Errorf("decode definition of template %s: %w", t.ID, err)
	}
	return t, nil
}

// ListTemplates pages through templates, oldest first.
func (s *Store) ListTemplates(ctx context.Context, p engine.Page) ([]engine.Template, string, error) {
	return listPage(ctx, s, "templates", s.q.ListTemplates, p, scanTemplate, func(t engine.Template) (time.Time, string) { return t.CreatedAt, t.ID })
}

// GetTemplate returns a template.
func (s *Store) GetTemplate(ctx context.Context, id string) (engine.Template, error) {
	t, err := getRow(ctx, s, scanTemplate, s.q.GetTemplate, id)
	if err != nil {
		return engine.Template{}, fmt.Errorf("get template %s: %w", id, err)
	}
	return t, nil
}

// DeleteTemplate removes a template.
func (s *Store) DeleteTemplate(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, s.q.DeleteTemplate, id); err != nil {
		return fmt.Errorf("delete template %s: %w", id, err)
	}
	return nil
}

// deleteOne runs a DELETE by id; no row is ErrNotFound.
func (s *Store) deleteOne(ctx context.Context, query, id string) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, query, id)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		if n == 0 {
			return engine.ErrNotFound
		}
		return nil
	})
}

// CreateAsset stores normalized audio; names are unique.
func (s *Store) CreateAsset(ctx context.Context, a engine.Asset, now time.Time) (engine.Asset, error) {
	if a.Name == "" {
		return engine.Asset{}, fmt.Errorf("create asset: %w", fieldErr("name", "required"))
	}
	var err error
	if a.ID, err = newID(); err != nil {
		return engine.Asset{}, fmt.Errorf("create asset: %w", err)
	}
	a.CreatedAt = utc(now)
	if a.PCM == nil {
		a.PCM = []byte{}
	}
	err = s.inTx(ctx, func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, s.q.InsertAsset, a.ID, a.Name, a.DurationMS, a.PCM, micros(a.CreatedAt))
		return err
	})
	if isUnique(err) {
		err = fmt.Errorf("%w: asset name %q is taken", engine.ErrConflict, a.Name)
	}
	if err != nil {
		return engine.Asset{}, fmt.Errorf("create asset: %w", err)
	}
	return a, nil
}

// GetAsset finds an asset by id or by name, PCM included.
func (s *Store) GetAsset(ctx context.Context, idOrName string) (engine.Asset, error) {
	var (
		a       engine.Asset
		created int64
	)
	err := s.db.QueryRowContext(ctx, s.q.GetAsset, idOrName).Scan(&a.ID, &a.Name, &a.DurationMS, &created, &a.PCM)
	if errors.Is(err, sql.ErrNoRows) {
		err = engine.ErrNotFound
	}
	if err != nil {
		return engine.Asset{}, fmt.Errorf("get asset %q: %w", idOrName, err)
	}
	a.CreatedAt = fromMicros(created)
	return a, nil
}

// ListAssets pages through assets, oldest first, without their PCM.
func (s *Store) ListAssets(ctx context.Context, p engine.Page) ([]engine.Asset, string, error) {
	return listPage(ctx, s, "assets", s.q.ListAssets, p, func(r rowScanner) (engine.Asset, error) {
		var (
			a       engine.Asset
			created int64
		)
		err := r.Scan(&a.ID, &a.Name, &a.DurationMS, &created)
		a.CreatedAt = fromMicros(created)
		return a, err
	}, func(a engine.Asset) (time.Time, string) { return a.CreatedAt, a.ID })
}

// DeleteAsset removes an asset.
func (s *Store) DeleteAsset(ctx context.Context, id string) error {
	if err := s.deleteOne(ctx, s.q.DeleteAsset, id); err != nil {
		return fmt.Errorf("delete asset %s: %w", id, err)
	}
	return nil
}
