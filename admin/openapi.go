package admin

import (
	_ "embed"
	"net/http"
)

// openAPISpec is the hand-written OpenAPI 3 description of /api/v1.
//
//go:embed openapi.json
var openAPISpec []byte

// openAPI serves the spec; like all of /api/v1 it needs a token.
func (s *Server) openAPI(w http.ResponseWriter, r *http.Request) error {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	w.Write(openAPISpec)
	return nil
}
