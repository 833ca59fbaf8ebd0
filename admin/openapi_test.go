package admin

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/cdr"
)

// TestOpenAPIListsRoutes checks that the embedded document is valid JSON,
// describes every /api/v1 route with its method, and describes nothing that
// is not served.
func TestOpenAPIListsRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi = %q, want 3.x", doc.OpenAPI)
	}
	served := map[string]bool{"GET /healthz": true, "GET /readyz": true, "GET /metrics": true}
	for _, rt := range New(nil).apiRoutes() {
		served[rt.pattern] = true
		method, path, _ := strings.Cut(rt.pattern, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("openapi.json does not describe %s", rt.pattern)
		}
	}
	for path, ops := range doc.Paths {
		for method := range ops {
			if method == "parameters" {
				continue
			}
			if p := strings.ToUpper(method) + " " + path; !served[p] {
				t.Errorf("openapi.json describes %s, which is not served", p)
			}
		}
	}
}

// TestOpenAPICDRSchema checks that the CDR schema describes exactly the JSON
// fields of cdr.Record.
func TestOpenAPICDRSchema(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas struct {
				CDR struct {
					Properties map[string]json.RawMessage `json:"properties"`
				} `json:"CDR"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var want, got []string
	rt := reflect.TypeFor[cdr.Record]()
	for i := range rt.NumField() {
		name, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
		want = append(want, name)
	}
	for name := range doc.Components.Schemas.CDR.Properties {
		got = append(got, name)
	}
	slices.Sort(want)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("CDR schema properties\n %v\nwant the JSON fields of cdr.Record\n %v", got, want)
	}
}
