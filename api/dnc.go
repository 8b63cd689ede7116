package api

import (
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/cadenza-dialer/cadenza/engine"
)

// dncBody adds a number to the do-not-call list.
type dncBody struct {
	Phone  string `json:"phone"`
	Reason string `json:"reason,omitempty"`
}

// dncResult is the answer to adding numbers to the list.
type dncResult struct {
	Phone string `json:"phone"`
	// Stopped counts the enrollments of the number stopped at once.
	Stopped int `json:"stopped"`
}

// normalizeOr422 puts a number in E.164 or names the field.
func normalizeOr422(field, phone string) (string, error) {
	p, err := engine.NormalizePhone(phone)
	if err != nil {
		return "", fieldProblem(field, strings.TrimPrefix(err.Error(), "phone: "))
	}
	return p, nil
}

// addDNC puts a number on the list and stops every enrollment of it.
func (s *Server) addDNC(r *request) (*reply, error) {
	var b dncBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	phone, err := normalizeOr422("phone", b.Phone)
	if err != nil {
		return nil, err
	}
	if err := reasonProblem(b.Reason); err != nil {
		return nil, err
	}
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	n, err := eng.AddDNC(r.Context(), phone, strings.TrimSpace(b.Reason))
	if err != nil {
		return nil, fmt.Errorf("add dnc: %w", err)
	}
	return jsonReply(http.StatusOK, dncResult{Phone: phone, Stopped: n})
}

// checkDNC answers whether a number is on the list: 200 with the number
// when it is, 404 when it is not.
func (s *Server) checkDNC(r *request) (*reply, error) {
	phone, err := normalizeOr422("phone", r.PathValue("phone"))
	if err != nil {
		return nil, err
	}
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	on, err := eng.IsDNC(r.Context(), phone)
	if err != nil {
		return nil, fmt.Errorf("check dnc: %w", err)
	}
	if !on {
		return nil, notFound("do-not-call entry", phone)
	}
	return jsonReply(http.StatusOK, map[string]any{"phone": phone, "dnc": true})
}

// removeDNC takes a number off the list; 404 when it was not on it.
func (s *Server) removeDNC(r *request) (*reply, error) {
	phone, err := normalizeOr422("phone", r.PathValue("phone"))
	if err != nil {
		return nil, err
	}
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	if err := eng.RemoveDNC(r.Context(), phone); err != nil {
		return nil, storeError(err, "do-not-call entry", phone, "remove dnc")
	}
	return noContent()
}

// dncImport is the answer to a DNC import.
type dncImport struct {
	Added int `json:"added"`
	// Stopped counts the enrollments stopped by the whole import.
	Stopped         int           `json:"stopped"`
	Errors          []importError `json:"errors"`
	ErrorsTruncated bool          `json:"errors_truncated,omitempty"`
}

// importDNC adds every number of a CSV file: either one phone per line, or
// a header with a phone column (and optionally reason). Bad rows are
// reported by line; good ones are kept.
func (s *Server) importDNC(r *request) (*reply, error) {
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	rows, err := readCSV(r.body)
	if err != nil {
		return nil, err
	}
	phoneCol, reasonCol := 0, -1
	out := dncImport{Errors: []importError{}}
	ci := contactImport{}
	for i, row := range rows {
		line, rec := row.line, row.rec
		if row.err != "" {
			ci.fail(line, "row", row.err)
			continue
		}
		if i == 0 {
			lower := make([]string, len(rec))
			for i, h := range rec {
				lower[i] = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
			}
			if i := slices.Index(lower, "phone"); i >= 0 {
				phoneCol, reasonCol = i, slices.Index(lower, "reason")
				continue
			}
		}
		raw := ""
		if phoneCol < len(rec) {
			raw = rec[phoneCol]
		}
		if strings.TrimSpace(raw) == "" && len(rec) <= 1 {
			continue // blank line
		}
		phone, err := engine.NormalizePhone(raw)
		if err != nil {
			ci.fail(line, "phone", strings.TrimPrefix(err.Error(), "phone: "))
			continue
		}
		reason := "imported"
		if reasonCol >= 0 && reasonCol < len(rec) && strings.TrimSpace(rec[reasonCol]) != "" {
			reason = strings.TrimSpace(rec[reasonCol])
			if reasonProblem(reason) != nil {
				ci.fail(line, "reason", "must be text of at most 500 bytes")
				continue
			}
		}
		n, err := eng.AddDNC(r.Context(), phone, reason)
		if err != nil {
			return nil, fmt.Errorf("import dnc: line %d: %w", line, err)
		}
		out.Added++
		out.Stopped += n
	}
	if ci.Errors != nil {
		out.Errors = ci.Errors
	}
	out.ErrorsTruncated = ci.ErrorsTruncated
	return jsonReply(http.StatusOK, out)
}

// listDispositions lists the agent disposition catalog, by code.
func (s *Server) listDispositions(*request) (*reply, error) {
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	cat := eng.Catalog()
	slices.SortFunc(cat, func(a, b engine.AgentDisposition) int { return strings.Compare(a.Code, b.Code) })
	if cat == nil {
		cat = []engine.AgentDisposition{}
	}
	return jsonReply(http.StatusOK, map[string]any{"items": cat})
}

// dispositionBody is an agent's code for an attempt.
type dispositionBody struct {
	Code string `json:"code"`
}

// postDisposition records an agent's disposition on an attempt (a call or
// SMS action) and routes it: 404 for an unknown attempt, 409 when the
// attempt has no outcome yet, 422 for a code outside the catalog.
func (s *Server) postDisposition(r *request) (*reply, error) {
	var b dispositionBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	code := strings.TrimSpace(b.Code)
	if code == "" {
		return nil, fieldProblem("code", "is required")
	}
	if !slices.ContainsFunc(eng.Catalog(), func(d engine.AgentDisposition) bool { return d.Code == code }) {
		return nil, fieldProblem("code", fmt.Sprintf("%q is not in the disposition catalog (GET /v1/dispositions)", code))
	}
	id := r.PathValue("id")
	if err := eng.PostDisposition(r.Context(), id, code, s.now()); err != nil {
		if p := storeProblem(err, "attempt", id); p != nil {
			return nil, p
		}
		return nil, fmt.Errorf("post disposition: %w", err)
	}
	return jsonReply(http.StatusOK, map[string]any{"attempt": id, "code": code})
}
