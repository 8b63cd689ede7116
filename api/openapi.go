package api

import (
	_ "embed"
	"net/http"
)

// openAPIDocument describes every route of routes(); a test keeps the two
// in step.
//
//go:embed openapi.json
var openAPIDocument []byte

// OpenAPI returns the OpenAPI 3.1 document of the API.
func OpenAPI() []byte { return append([]byte(nil), openAPIDocument...) }

// openAPI: GET /v1/openapi.json (public: it is documentation).
func (s *Server) openAPI(*request) (*reply, error) {
	return &reply{status: http.StatusOK, header: http.Header{"Content-Type": {"application/json"}}, body: openAPIDocument}, nil
}
