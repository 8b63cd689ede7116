package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/cadenza-dialer/cadenza/engine"
)

// decodeStrict reads a small JSON request body of the API's own (api keys,
// template names) into v: unknown fields, wrong types and trailing data are
// 422 problems naming the field, prefixed with prefix ("definition.").
func decodeStrict(body []byte, v any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonProblem(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return badRequest("body", "unexpected data after the JSON document")
	}
	return nil
}

// jsonProblem explains a decoding error by field.
func jsonProblem(err error) *Problem {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	msg := err.Error()
	switch {
	case errors.As(err, &syn):
		return badRequest("body", fmt.Sprintf("malformed JSON at byte %d: %s", syn.Offset, syn.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		return badRequest("body", "malformed JSON: unexpected end of input")
	case errors.As(err, &typ):
		path := typ.Field
		if path == "" {
			path = "body"
		}
		return fieldProblem(path, fmt.Sprintf("must be %s, not %s", typ.Type, typ.Value))
	case strings.HasPrefix(msg, "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(msg, "json: unknown field "), `"`)
		return fieldProblem(name, "unknown field")
	}
	return badRequest("body", msg)
}

// Pagination limits of list endpoints.
const (
	defaultLimit = 50
	maxLimit     = 500
)

// pageParams reads ?limit= and ?after=.
func pageParams(q url.Values) (engine.Page, error) {
	p := engine.Page{After: q.Get("after"), Limit: defaultLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLimit {
			return p, fieldProblem("limit", fmt.Sprintf("must be an integer from 1 to %d", maxLimit))
		}
		p.Limit = n
	}
	if len(p.After) > 1024 {
		return p, fieldProblem("after", "is not a cursor from this API")
	}
	return p, nil
}

// listPage is the shape of every list response.
type listPage[T any] struct {
	Items []T `json:"items"`
	// Next is the cursor for ?after= that fetches the next page; "" on the
	// last page.
	Next string `json:"next"`
}

// pageReply renders one page with a Link: rel="next" header.
func pageReply[T any](r *http.Request, items []T, next string) (*reply, error) {
	if items == nil {
		items = []T{}
	}
	rep, err := jsonReply(http.StatusOK, listPage[T]{Items: items, Next: next})
	if err != nil {
		return nil, err
	}
	if next != "" {
		u := *r.URL
		q := u.Query()
		q.Set("after", next)
		u.RawQuery = q.Encode()
		u.Scheme, u.Host = "", ""
		rep.header.Set("Link", fmt.Sprintf(`<%s>; rel="next"`, u.RequestURI()))
	}
	return rep, nil
}

// storeError maps a store error to a problem, or wraps it as a 500.
func storeError(err error, what, id, op string) error {
	if p := storeProblem(err, what, id); p != nil {
		return p
	}
	return fmt.Errorf("%s: %w", op, err)
}

// listError maps a list failure: a cursor the store cannot read is the
// client's mistake (422 naming "after"), anything else a server fault. The
// stores report bad cursors as errors mentioning "cursor" (there is no
// sentinel in engine for it).
func listError(err error, page engine.Page, op string) error {
	if page.After != "" && strings.Contains(err.Error(), "cursor") {
		return fieldProblem("after", "is not a cursor from this API")
	}
	return fmt.Errorf("%s: %w", op, err)
}
