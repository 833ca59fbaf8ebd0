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

// TestOpenAPISchemas checks that the schemas of types served as they are
// describe exactly their JSON fields.
func TestOpenAPISchemas(t *testing.T) {
	var doc struct {
		Components struct {
			Schemas map[string]struct {
				Properties map[string]json.RawMessage `json:"properties"`
			} `json:"schemas"`
		} `json:"components"`
	}
	if err := json.Unmarshal(openAPISpec, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	for name, rt := range map[string]reflect.Type{
		"CDR":        reflect.TypeFor[cdr.Record](),
		"ActiveCall": reflect.TypeFor[cdr.ActiveCall](),
	} {
		var want, got []string
		for i := range rt.NumField() {
			field, _, _ := strings.Cut(rt.Field(i).Tag.Get("json"), ",")
			want = append(want, field)
		}
		for field := range doc.Components.Schemas[name].Properties {
			got = append(got, field)
		}
		slices.Sort(want)
		slices.Sort(got)
		if !slices.Equal(got, want) {
			t.Errorf("%s schema properties\n %v\nwant the JSON fields of %s\n %v", name, got, rt, want)
		}
	}
}
