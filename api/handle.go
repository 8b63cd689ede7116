package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/cadenza-dialer/cadenza/engine"
)

// bodyKind says what a route accepts as a request body.
type bodyKind int

const (
	// bodyNone: empty, or a JSON "{}"/"null" some clients always send.
	bodyNone bodyKind = iota
	// bodyJSON: a JSON document (application/json or no Content-Type).
	bodyJSON
	// bodyOptionalJSON: like bodyJSON, but may be empty.
	bodyOptionalJSON
	// bodyAudio: WAV bytes (audio/wav and its aliases).
	bodyAudio
	// bodyCSV: a CSV file (text/csv, or no Content-Type).
	bodyCSV
)

// route is one row of the route table: it registers the handler and is
// what the OpenAPI test compares with the document.
type route struct {
	method  string
	pattern string
	// role is the weakest role allowed; "" makes the route public.
	role engine.Role
	body bodyKind
	// noIdempotency refuses Idempotency-Key: the response holds a secret
	// that must not be stored for replay.
	noIdempotency bool
	// ignoreIdempotency runs the handler even when Idempotency-Key is
	// sent: public routes have no API key to scope stored responses to.
	ignoreIdempotency bool
	h                 func(*request) (*reply, error)
	// raw serves the route directly (promhttp) instead of h.
	raw http.Handler
}

// request is what a handler sees: the HTTP request, the caller's key and
// the body, already read within its limit.
type request struct {
	*http.Request
	key  engine.APIKey
	body []byte
}

// reply is a complete response, kept in memory so that it can be stored
// for Idempotency-Key replays.
type reply struct {
	status int
	header http.Header
	body   []byte
}

// contentType returns the reply's media type.
func (r *reply) contentType() string { return r.header.Get("Content-Type") }

// jsonReply renders v as a JSON response.
func jsonReply(status int, v any) (*reply, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("encode response: %w", err)
	}
	b = append(b, '\n')
	return &reply{status: status, header: http.Header{"Content-Type": {"application/json"}}, body: b}, nil
}

// noContent is a 204.
func noContent() (*reply, error) {
	return &reply{status: http.StatusNoContent, header: http.Header{}}, nil
}

// write sends the reply.
func (r *reply) write(w http.ResponseWriter) {
	for k, v := range r.header {
		w.Header()[k] = v
	}
	w.WriteHeader(r.status)
	if len(r.body) > 0 {
		_, _ = w.Write(r.body)
	}
}

// errorReply turns a handler error into a response: problems as they are,
// field errors as 422, anything else as a logged 500 that reveals nothing.
func (s *Server) errorReply(r *http.Request, err error) *reply {
	var p *Problem
	var fe engine.FieldErrors
	switch {
	case errors.As(err, &p):
	case errors.As(err, &fe) && len(fe) > 0:
		p = invalid(fe)
	default:
		// A client that went away is not a server error worth a log line.
		if !errors.Is(err, context.Canceled) || r.Context().Err() == nil {
			s.log.ErrorContext(r.Context(), "request failed",
				slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.String("error", err.Error()))
		}
		p = newProblem(http.StatusInternalServerError, "internal", "the server could not complete the request; it has been logged")
	}
	if p.Instance == "" {
		p.Instance = r.URL.Path
	}
	h := http.Header{"Content-Type": {problemContentType}}
	if p.Status == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", `Bearer realm="cadenza"`)
	}
	return &reply{status: p.Status, header: h, body: marshalProblem(p)}
}

// serveRoute wraps a route's handler with what every request goes
// through: panic recovery, metrics and access log, authentication and the
// role check, body limits and media types, and Idempotency-Key.
func (s *Server) serveRoute(rt route) http.Handler {
	return http.HandlerFunc(func(hw http.ResponseWriter, r *http.Request) {
		start := s.now()
		w := &statusWriter{ResponseWriter: hw}
		keyID := ""
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.ErrorContext(r.Context(), "handler panic",
					slog.String("route", rt.pattern), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
				if w.status == 0 {
					writeProblem(w, r, newProblem(http.StatusInternalServerError, "internal", "the server could not complete the request; it has been logged"))
				}
			}
			status := w.status
			if status == 0 {
				status = http.StatusOK
			}
			s.observe(r, rt.pattern, status, start, keyID)
		}()

		req := &request{Request: r}
		if rt.role != "" {
			key, err := s.authenticate(r)
			if err != nil {
				s.errorReply(r, err).write(w)
				return
			}
			keyID = key.ID
			if !key.Role.AtLeast(rt.role) {
				s.errorReply(r, newProblem(http.StatusForbidden, "forbidden",
					fmt.Sprintf("this needs the %s role or stronger; key %q has %s", rt.role, key.Name, key.Role))).write(w)
				return
			}
			req.key = key
		}
		if rt.raw != nil {
			rt.raw.ServeHTTP(w, r)
			return
		}
		body, err := s.readBody(r, rt.body)
		if err != nil {
			s.errorReply(r, err).write(w)
			return
		}
		req.body = body

		run := func() *reply { return s.call(rt, req) }
		var rep *reply
		if ik := r.Header.Get("Idempotency-Key"); ik != "" && r.Method == http.MethodPost && !rt.ignoreIdempotency {
			if rt.noIdempotency {
				rep = s.errorReply(r, badRequest("Idempotency-Key", "not supported here: the response holds a secret that is never stored"))
			} else {
				rep = s.idempotent(req, ik, run)
			}
		} else {
			rep = run()
		}
		rep.write(w)
	})
}

// call runs the handler. A panic becomes a logged 500 here, inside the
// Idempotency-Key bracket, so that the failure is recorded and a retry may
// run again (the outer recover in serveRoute is the backstop for the rest).
func (s *Server) call(rt route, req *request) (rep *reply) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler {
				panic(v)
			}
			s.log.ErrorContext(req.Context(), "handler panic",
				slog.String("route", rt.pattern), slog.Any("panic", v), slog.String("stack", string(debug.Stack())))
			rep = s.errorReply(req.Request, newProblem(http.StatusInternalServerError, "internal", "the server could not complete the request; it has been logged"))
		}
	}()
	rep, err := rt.h(req)
	if err != nil {
		return s.errorReply(req.Request, err)
	}
	return rep
}

// jsonMediaType reports whether a Content-Type names JSON.
func jsonMediaType(mt string) bool {
	return mt == "application/json" || (strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"))
}

// audioMediaType reports whether a Content-Type names WAV audio.
func audioMediaType(mt string) bool {
	switch mt {
	case "audio/wav", "audio/x-wav", "audio/wave", "audio/vnd.wave":
		return true
	}
	return false
}

// readBody reads the body within the route's limit and checks its media
// type: 413 above the limit, 415 for the wrong type, 400 for a body where
// none belongs.
func (s *Server) readBody(r *http.Request, kind bodyKind) ([]byte, error) {
	limit := s.maxBody
	if kind == bodyAudio {
		limit = s.maxAsset
	}
	ct := r.Header.Get("Content-Type")
	mt := ""
	if ct != "" {
		var err error
		mt, _, err = mime.ParseMediaType(ct)
		if err != nil {
			return nil, unsupported(fmt.Sprintf("Content-Type %q is malformed", ct))
		}
	}
	if r.ContentLength > limit {
		return nil, tooLarge(limit)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, limit))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, tooLarge(limit)
		}
		return nil, badRequest("body", "could not be read: "+err.Error())
	}
	switch kind {
	case bodyAudio:
		if !audioMediaType(mt) {
			return nil, unsupported(fmt.Sprintf("Content-Type %q: upload a WAV file as audio/wav", ct))
		}
	case bodyCSV:
		if mt != "" && mt != "text/csv" && mt != "application/csv" && mt != "text/plain" {
			return nil, unsupported(fmt.Sprintf("Content-Type %q: send text/csv", ct))
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return nil, badRequest("body", "a CSV file is required")
		}
	case bodyJSON, bodyOptionalJSON:
		if mt != "" && !jsonMediaType(mt) {
			return nil, unsupported(fmt.Sprintf("Content-Type %q: send application/json", ct))
		}
		if kind == bodyJSON && len(bytes.TrimSpace(body)) == 0 {
			return nil, badRequest("body", "a JSON document is required")
		}
	case bodyNone:
		switch string(bytes.TrimSpace(body)) {
		case "", "{}", "null":
		default:
			return nil, badRequest("body", "this request takes no body")
		}
	}
	return body, nil
}

func tooLarge(limit int64) *Problem {
	return newProblem(http.StatusRequestEntityTooLarge, "too-large", fmt.Sprintf("the body is larger than %d bytes", limit))
}

func unsupported(detail string) *Problem {
	p := newProblem(http.StatusUnsupportedMediaType, "unsupported-media-type", detail)
	p.Errors = []engine.FieldError{{Path: "Content-Type", Message: detail}}
	return p
}
