package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/cadenza-dialer/cadenza/engine"
)

// Import limits: one request is one bounded batch.
const (
	maxImportRows   = 10000
	maxImportErrors = 1000
)

// upsertContact creates or updates a contact by its E.164 phone: 201 when
// it is new, 200 when a contact with that phone was updated.
func (s *Server) upsertContact(r *request) (*reply, error) {
	var b contactBody
	if err := decodeStrict(r.body, &b); err != nil {
		return nil, err
	}
	c, ferrs := b.contact("")
	if len(ferrs) > 0 {
		return nil, ferrs
	}
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	out, err := eng.UpsertContact(r.Context(), c)
	if err != nil {
		return nil, storeError(err, "contact", c.Phone, "upsert contact")
	}
	status := http.StatusOK
	if out.CreatedAt.Equal(out.UpdatedAt) {
		status = http.StatusCreated
	}
	return jsonReply(status, out)
}

func (s *Server) getContact(r *request) (*reply, error) {
	st, err := s.needEnrollments()
	if err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	c, err := st.GetContact(r.Context(), id)
	if err != nil {
		return nil, storeError(err, "contact", id, "get contact")
	}
	return jsonReply(http.StatusOK, c)
}

// importError is one rejected row of a CSV import. Row is the line of the
// file the row starts on (the header is line 1).
type importError struct {
	Row     int    `json:"row"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// contactImport is the answer to a contacts import.
type contactImport struct {
	Imported int `json:"imported"`
	// Enrolled counts the rows enrolled into ?cadence=.
	Enrolled int           `json:"enrolled"`
	Errors   []importError `json:"errors"`
	// ErrorsTruncated is set when more rows failed than are listed.
	ErrorsTruncated bool `json:"errors_truncated,omitempty"`
}

func (ci *contactImport) fail(row int, field, msg string) {
	if len(ci.Errors) >= maxImportErrors {
		ci.ErrorsTruncated = true
		return
	}
	ci.Errors = append(ci.Errors, importError{Row: row, Field: field, Message: msg})
}

// importContacts upserts every good row of a CSV file and reports the bad
// ones by row and field; good rows are kept when others fail. With
// ?cadence=ID every imported row is also enrolled.
func (s *Server) importContacts(r *request) (*reply, error) {
	eng, err := s.needEngine()
	if err != nil {
		return nil, err
	}
	cadenceID := r.URL.Query().Get("cadence")
	if cadenceID != "" {
		if err := s.checkEnrollable(r, "cadence", cadenceID); err != nil {
			return nil, err
		}
	}
	rows, err := readCSV(r.body)
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 || rows[0].err != "" {
		msg := "the file is empty"
		if len(rows) > 0 {
			msg = rows[0].err
		}
		return nil, fieldProblem("body", "the first line must be a CSV header naming a phone column: "+msg)
	}
	col := map[string]int{}
	for i, h := range rows[0].rec {
		h = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(h, "\ufeff")))
		if h == "" {
			return nil, fieldProblem("body", fmt.Sprintf("header column %d has no name", i+1))
		}
		if _, dup := col[h]; dup {
			return nil, fieldProblem("body", fmt.Sprintf("header column %q appears twice", h))
		}
		col[h] = i
	}
	if _, ok := col["phone"]; !ok {
		return nil, fieldProblem("body", "the header has no phone column (phone,first_name,last_name,timezone,state,zip, then any fields)")
	}
	out := contactImport{Errors: []importError{}}
	for _, row := range rows[1:] {
		line, rec := row.line, row.rec
		if row.err != "" {
			out.fail(line, "row", row.err)
			continue
		}
		b := contactBody{Fields: map[string]string{}}
		for name, i := range col {
			v := ""
			if i < len(rec) {
				v = strings.TrimSpace(rec[i])
			}
			switch name {
			case "phone":
				b.Phone = v
			case "first_name":
				b.FirstName = v
			case "last_name":
				b.LastName = v
			case "timezone":
				b.TimeZone = v
			case "state":
				b.State = v
			case "zip":
				b.Zip = v
			case "owner":
				b.Owner = v
			default:
				if v != "" {
					b.Fields[name] = v
				}
			}
		}
		c, ferrs := b.contact("")
		if len(ferrs) > 0 {
			for _, fe := range ferrs {
				out.fail(line, fe.Path, fe.Message)
			}
			continue
		}
		saved, err := eng.UpsertContact(r.Context(), c)
		if err != nil {
			if p := storeProblem(err, "contact", c.Phone); p != nil {
				out.fail(line, "phone", p.Detail)
				continue
			}
			return nil, fmt.Errorf("import contacts: row %d: %w", line, err)
		}
		out.Imported++
		if cadenceID == "" {
			continue
		}
		if _, err := eng.Enroll(r.Context(), engine.EnrollRequest{CadenceID: cadenceID, ContactID: saved.ID}); err != nil {
			var p *Problem
			if !errors.As(enrollError(err, cadenceID, ""), &p) {
				return nil, fmt.Errorf("import contacts: row %d: %w", line, err)
			}
			out.fail(line, "cadence", p.Detail)
			continue
		}
		out.Enrolled++
	}
	return jsonReply(http.StatusOK, out)
}

// csvRow is one record of an uploaded CSV file, or why it could not be
// read; line is where it starts (the first line is 1).
type csvRow struct {
	line int
	rec  []string
	err  string
}

// readCSV reads a whole upload (already bounded by the body limit) so
// that a file over maxImportRows is refused before anything is written.
func readCSV(body []byte) ([]csvRow, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	var rows []csvRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if len(rows) > maxImportRows {
			return nil, fieldProblem("body", fmt.Sprintf("at most %d rows per import; split the file", maxImportRows))
		}
		if err != nil {
			// FieldPos may not be called after a failed Read.
			line := 0
			if last := len(rows); last > 0 {
				line = rows[last-1].line + 1
			}
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				line = pe.StartLine
			}
			rows = append(rows, csvRow{line: max(line, 1), err: csvMessage(err)})
			continue
		}
		line, _ := cr.FieldPos(0)
		rows = append(rows, csvRow{line: line, rec: rec})
	}
}

// csvMessage is a CSV error without the reader's line prefix.
func csvMessage(err error) string {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	if errors.Is(err, io.EOF) {
		return "the file is empty"
	}
	return err.Error()
}

// checkEnrollable answers 404 (naming field) for a cadence that does not
// exist and 409 for one that does not enroll, before any work is done.
func (s *Server) checkEnrollable(r *request, field, id string) error {
	cad, err := s.store.GetCadence(r.Context(), id)
	if errors.Is(err, engine.ErrNotFound) {
		p := notFound("cadence", id)
		p.Errors = []engine.FieldError{fieldErr(field, "no such cadence")}
		return p
	}
	if err != nil {
		return fmt.Errorf("get cadence: %w", err)
	}
	if cad.Status != engine.StatusActive {
		return conflictAt(field, fmt.Sprintf("cadence %q is %s; only active cadences enroll (activate it first)", id, cad.Status))
	}
	return nil
}
