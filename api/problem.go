package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/cadenza-dialer/cadenza/engine"
)

// problemContentType is the media type of every error body (RFC 9457).
const problemContentType = "application/problem+json"

// Problem is an RFC 9457 problem detail. Errors lists every field that was
// wrong, each with its path in the request ("steps[1].delay", "limit",
// "Idempotency-Key") so a client can point at it.
type Problem struct {
	Type     string              `json:"type"`
	Title    string              `json:"title"`
	Status   int                 `json:"status"`
	Detail   string              `json:"detail,omitempty"`
	Instance string              `json:"instance,omitempty"`
	Errors   []engine.FieldError `json:"errors,omitempty"`
}

// Error makes a *Problem usable as an error inside the handlers.
func (p *Problem) Error() string {
	if p.Detail != "" {
		return fmt.Sprintf("%d %s: %s", p.Status, p.Title, p.Detail)
	}
	return fmt.Sprintf("%d %s", p.Status, p.Title)
}

// problemTypes maps a short slug to the problem type URI. URNs are URIs, so
// they satisfy RFC 9457 without promising a web page we do not host.
func problemType(slug string) string { return "urn:cadenza:problem:" + slug }

// newProblem builds a problem with the given status, slug and detail.
func newProblem(status int, slug, detail string) *Problem {
	return &Problem{Type: problemType(slug), Title: http.StatusText(status), Status: status, Detail: detail}
}

// fieldProblem is a 422 naming one field.
func fieldProblem(path, message string) *Problem {
	return invalid(engine.FieldErrors{{Path: path, Message: message}})
}

// badRequest is a 400 naming one field (malformed syntax rather than a
// well-formed value that breaks a rule).
func badRequest(path, message string) *Problem {
	p := newProblem(http.StatusBadRequest, "bad-request", path+": "+message)
	p.Errors = []engine.FieldError{{Path: path, Message: message}}
	return p
}

// invalid is a 422 listing every field error.
func invalid(errs engine.FieldErrors) *Problem {
	p := newProblem(http.StatusUnprocessableEntity, "validation", "")
	p.Errors = append([]engine.FieldError(nil), errs...)
	if len(errs) == 1 {
		p.Detail = errs[0].Path + ": " + errs[0].Message
	} else {
		p.Detail = fmt.Sprintf("%d fields are invalid; the first is %s: %s", len(errs), errs[0].Path, errs[0].Message)
	}
	return p
}

// notFound is a 404 for a named thing.
func notFound(what, id string) *Problem {
	return newProblem(http.StatusNotFound, "not-found", fmt.Sprintf("no %s %q", what, id))
}

// conflict is a 409.
func conflict(detail string) *Problem {
	return newProblem(http.StatusConflict, "conflict", detail)
}

// storeProblem turns a store error into a problem: the sentinel errors of
// engine map to 404/409, anything else is a server fault (nil is returned
// so the caller reports a 500 and logs the cause).
func storeProblem(err error, what, id string) *Problem {
	switch {
	case errors.Is(err, engine.ErrNotFound):
		return notFound(what, id)
	case errors.Is(err, engine.ErrInUse):
		return newProblem(http.StatusConflict, "in-use", fmt.Sprintf("%s %q is in use: %v", what, id, err))
	case errors.Is(err, engine.ErrConflict):
		return conflict(fmt.Sprintf("%s %q: %v", what, id, err))
	}
	return nil
}

// marshalProblem renders p; it cannot fail for the types a Problem holds.
func marshalProblem(p *Problem) []byte {
	b, err := json.Marshal(p)
	if err != nil { // unreachable: only strings and ints
		return []byte(`{"type":"about:blank","title":"Internal Server Error","status":500}`)
	}
	return b
}

// writeProblem writes p as the whole response.
func writeProblem(w http.ResponseWriter, r *http.Request, p *Problem) {
	if p.Instance == "" && r != nil {
		p.Instance = r.URL.Path
	}
	w.Header().Set("Content-Type", problemContentType)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_, _ = w.Write(marshalProblem(p))
}
