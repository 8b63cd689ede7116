package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/cadenza-dialer/cadenza/engine"
)

// exportCadence: GET /v1/cadences/{id}/export[?version=N] returns the
// portable JSON document (engine.DocumentFormat) as an attachment; its
// "source" records the cadence id, version and export time.
func (s *Server) exportCadence(req *request) (*reply, error) {
	id := req.PathValue("id")
	c, err := s.getCadenceOr404(req.Context(), id)
	if err != nil {
		return nil, err
	}
	if v := req.URL.Query().Get("version"); v != "" {
		n, err := versionParam("version", v)
		if err != nil {
			return nil, err
		}
		ver, err := s.store.GetVersion(req.Context(), id, n)
		if err != nil {
			return nil, storeError(err, "version", fmt.Sprintf("%s/%d", id, n), "get version")
		}
		c.Version, c.Definition = ver.Version, ver.Definition
	}
	doc, err := engine.ExportCadenceDocument(c, s.now())
	if err != nil {
		return nil, fmt.Errorf("export cadence %s: %w", id, err)
	}
	return &reply{status: http.StatusOK, header: http.Header{
		"Content-Type":        {"application/json"},
		"Content-Disposition": {fmt.Sprintf(`attachment; filename="%s.cadence.json"`, fileSlug(c.Name))},
	}, body: doc}, nil
}

// fileSlug makes a safe file name stem from a cadence name.
func fileSlug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
		if b.Len() >= 60 {
			break
		}
	}
	out := strings.TrimRight(b.String(), "-")
	if out == "" {
		return "cadence"
	}
	return out
}

// importCadence: POST /v1/cadences/import. The body is an exported
// document; every problem comes back at once as a 422. The new cadence is
// a draft, so its audio may be uploaded after the import.
func (s *Server) importCadence(req *request) (*reply, error) {
	def, errs := engine.ImportDocument(req.body)
	if len(errs) > 0 {
		return nil, errs
	}
	if err := s.checkRefs(req.Context(), def, "", false); err != nil {
		return nil, err
	}
	c, err := s.store.CreateCadence(req.Context(), def, engine.StatusDraft, s.now())
	if err != nil {
		return nil, storeError(err, "cadence", def.Name, "import cadence")
	}
	return s.cadenceReply(req.Context(), http.StatusCreated, c)
}

// templateItem is a template in a list, without its definition.
type templateItem struct {
	ID          string    `json:"id"`
	Name        string    `json:"name"`
	Description string    `json:"description,omitempty"`
	Actions     int       `json:"actions"`
	CreatedAt   time.Time `json:"created_at"`
}

// templateBody is the body of POST /v1/cadences/{id}/template.
type templateBody struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// newTemplateBody is the body of POST /v1/templates.
type newTemplateBody struct {
	Name        string          `json:"name"`
	Description string          `json:"description"`
	Definition  json.RawMessage `json:"definition"`
}

// checkTemplateMeta validates a template's name and description.
func checkTemplateMeta(name, description string) engine.FieldErrors {
	var errs engine.FieldErrors
	if strings.TrimSpace(name) == "" {
		errs = append(errs, engine.FieldError{Path: "name", Message: "is required"})
	} else if err := checkName("name", name); err != nil {
		errs = append(errs, engine.FieldError{Path: "name", Message: fmt.Sprintf("must be at most %d characters", engine.MaxNameLength)})
	}
	if len([]rune(description)) > engine.MaxDescriptionLength {
		errs = append(errs, engine.FieldError{Path: "description", Message: fmt.Sprintf("must be at most %d characters", engine.MaxDescriptionLength)})
	}
	return errs
}

// saveAsTemplate: POST /v1/cadences/{id}/template {"name", "description"?}
// stores the cadence's current definition as a template.
func (s *Server) saveAsTemplate(req *request) (*reply, error) {
	var b templateBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	if errs := checkTemplateMeta(b.Name, b.Description); len(errs) > 0 {
		return nil, errs
	}
	c, err := s.getCadenceOr404(req.Context(), req.PathValue("id"))
	if err != nil {
		return nil, err
	}
	return s.createTemplateFrom(req, engine.Template{Name: b.Name, Description: b.Description, Definition: c.Definition})
}

// createTemplate: POST /v1/templates {"name", "description"?, "definition"}.
func (s *Server) createTemplate(req *request) (*reply, error) {
	var b newTemplateBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	errs := checkTemplateMeta(b.Name, b.Description)
	var def engine.Definition
	if len(b.Definition) == 0 || string(b.Definition) == "null" {
		errs = append(errs, engine.FieldError{Path: "definition", Message: "is required"})
	} else {
		var derrs engine.FieldErrors
		def, derrs = engine.DecodeDefinition(b.Definition)
		for _, e := range derrs {
			e.Path = strings.TrimSuffix("definition."+e.Path, ".")
			errs = append(errs, e)
		}
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return s.createTemplateFrom(req, engine.Template{Name: b.Name, Description: b.Description, Definition: def})
}

func (s *Server) createTemplateFrom(req *request, t engine.Template) (*reply, error) {
	t, err := s.store.CreateTemplate(req.Context(), t, s.now())
	if err != nil {
		return nil, storeError(err, "template", t.Name, "create template")
	}
	return jsonReply(http.StatusCreated, t)
}

// listTemplates: GET /v1/templates.
func (s *Server) listTemplates(req *request) (*reply, error) {
	page, err := pageParams(req.URL.Query())
	if err != nil {
		return nil, err
	}
	ts, next, err := s.store.ListTemplates(req.Context(), page)
	if err != nil {
		return nil, listError(err, page, "list templates")
	}
	items := make([]templateItem, 0, len(ts))
	for _, t := range ts {
		items = append(items, templateItem{ID: t.ID, Name: t.Name, Description: t.Description, Actions: len(t.Definition.Steps), CreatedAt: t.CreatedAt})
	}
	return pageReply(req.Request, items, next)
}

// getTemplate: GET /v1/templates/{id}.
func (s *Server) getTemplate(req *request) (*reply, error) {
	id := req.PathValue("id")
	t, err := s.store.GetTemplate(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "template", id, "get template")
	}
	return jsonReply(http.StatusOK, t)
}

// deleteTemplate: DELETE /v1/templates/{id}.
func (s *Server) deleteTemplate(req *request) (*reply, error) {
	id := req.PathValue("id")
	if err := s.store.DeleteTemplate(req.Context(), id); err != nil {
		return nil, storeError(err, "template", id, "delete template")
	}
	return noContent()
}

// instantiateTemplate: POST /v1/templates/{id}/instantiate {"name"?}
// creates a draft cadence from the template.
func (s *Server) instantiateTemplate(req *request) (*reply, error) {
	var b nameBody
	if err := decodeStrict(req.body, &b); err != nil {
		return nil, err
	}
	if err := checkName("name", b.Name); err != nil {
		return nil, err
	}
	id := req.PathValue("id")
	t, err := s.store.GetTemplate(req.Context(), id)
	if err != nil {
		return nil, storeError(err, "template", id, "get template")
	}
	def := t.Definition
	if strings.TrimSpace(b.Name) != "" {
		def.Name = b.Name
	}
	if err := s.checkRefs(req.Context(), def, "", false); err != nil {
		return nil, err
	}
	c, err := s.store.CreateCadence(req.Context(), def, engine.StatusDraft, s.now())
	if err != nil {
		return nil, storeError(err, "cadence", def.Name, "instantiate template")
	}
	return s.cadenceReply(req.Context(), http.StatusCreated, c)
}
