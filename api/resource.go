package api

import (
	"context"
	"net/http"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// resource is the plain create/list/get/replace/delete of one kind of
// stored record: strict decoding, validation, the store call and its
// errors mapped to problems. Teams, queues and SMS templates are exactly
// this; hooks let a queue push its wrap-up into the live roster.
type resource[T any] struct {
	// what names the kind in errors ("team").
	what string
	// missing, when not "", is why the store cannot keep this kind (503).
	missing string
	// key is the field that identifies a record (its path parameter) and
	// points into a record.
	key    string
	keyOf  func(*T) *string
	decode func([]byte) (T, error)
	check  func(T) error
	create func(context.Context, T, time.Time) (T, error)
	get    func(context.Context, string) (T, error)
	list   func(context.Context, engine.Page) ([]T, string, error)
	update func(context.Context, T, time.Time) (T, error)
	remove func(context.Context, string) error
	// nameOf, when set, names a record not yet stored in errors (its
	// key is empty until the store gives it one).
	nameOf func(T) string
	// saved runs after a create or update; removed after a delete.
	saved   func(T)
	removed func(key string)
}

func (r resource[T]) ready() error {
	if r.missing != "" {
		return unavailable(r.missing)
	}
	return nil
}

func (r resource[T]) read(body []byte) (T, error) {
	if r.decode != nil {
		return r.decode(body)
	}
	var v T
	return v, decodeStrict(body, &v)
}

func (r resource[T]) label(v T) string {
	if r.nameOf != nil {
		return r.nameOf(v)
	}
	return *r.keyOf(&v)
}

func (r resource[T]) done(v T) {
	if r.saved != nil {
		r.saved(v)
	}
}

// createOne: POST /v1/<kind>.
func (r resource[T]) createOne(req *request, now time.Time) (*reply, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	v, err := r.read(req.body)
	if err != nil {
		return nil, err
	}
	if r.key == "id" && *r.keyOf(&v) != "" {
		return nil, fieldProblem("id", "is set by the server")
	}
	if err := r.check(v); err != nil {
		return nil, err
	}
	out, err := r.create(req.Context(), v, now)
	if err != nil {
		return nil, storeError(err, r.what, r.label(v), "create "+r.what)
	}
	v = out
	r.done(v)
	return jsonReply(http.StatusCreated, v)
}

// listAll: GET /v1/<kind>, one page.
func (r resource[T]) listAll(req *request) (*reply, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	items, next, err := r.list(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list "+r.what+"s")
	}
	return pageReply(req.Request, items, next)
}

// getOne: GET /v1/<kind>/{key}.
func (r resource[T]) getOne(req *request) (*reply, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	k := req.PathValue(r.key)
	v, err := r.get(req.Context(), k)
	if err != nil {
		return nil, storeError(err, r.what, k, "get "+r.what)
	}
	return jsonReply(http.StatusOK, v)
}

// replaceOne: PUT /v1/<kind>/{key}; it accepts what GET returned (the key
// must match the path; times are ignored).
func (r resource[T]) replaceOne(req *request, now time.Time) (*reply, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	k := req.PathValue(r.key)
	v, err := r.read(req.body)
	if err != nil {
		return nil, err
	}
	if err := checkBodyID(r.key, *r.keyOf(&v), k); err != nil {
		return nil, err
	}
	*r.keyOf(&v) = k
	if err := r.check(v); err != nil {
		return nil, err
	}
	v, err = r.update(req.Context(), v, now)
	if err != nil {
		return nil, storeError(err, r.what, k, "update "+r.what)
	}
	r.done(v)
	return jsonReply(http.StatusOK, v)
}

// deleteOne: DELETE /v1/<kind>/{key}; 409 while the record is in use.
func (r resource[T]) deleteOne(req *request) (*reply, error) {
	if err := r.ready(); err != nil {
		return nil, err
	}
	k := req.PathValue(r.key)
	if err := r.remove(req.Context(), k); err != nil {
		return nil, storeError(err, r.what, k, "delete "+r.what)
	}
	if r.removed != nil {
		r.removed(k)
	}
	return noContent()
}

// routes returns the five routes of the resource under base ("/v1/teams");
// writes need the manager role, reads the viewer role.
func (r resource[T]) routes(s *Server, base string) []route {
	const viewer, manager = engine.RoleViewer, engine.RoleManager
	item := base + "/{" + r.key + "}"
	return []route{
		{method: http.MethodPost, pattern: base, role: manager, body: bodyJSON, h: func(req *request) (*reply, error) { return r.createOne(req, s.now()) }},
		{method: http.MethodGet, pattern: base, role: viewer, h: r.listAll},
		{method: http.MethodGet, pattern: item, role: viewer, h: r.getOne},
		{method: http.MethodPut, pattern: item, role: manager, body: bodyJSON, h: func(req *request) (*reply, error) { return r.replaceOne(req, s.now()) }},
		{method: http.MethodDelete, pattern: item, role: manager, h: r.deleteOne},
	}
}
