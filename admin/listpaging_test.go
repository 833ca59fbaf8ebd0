package admin_test

import (
	"fmt"
	"testing"

	"github.com/trunkline/trunkline/admin"
)

// Lists page and search by name, sorted by name; "total" counts every
// match; without paging they answer as they always did.
func TestListPaging(t *testing.T) {
	e := newEnv(t)
	for i := range 25 {
		e.create("/api/v1/customers", map[string]any{"name": fmt.Sprintf("Cust %02d", 24-i), "currency": "EUR"})
	}
	e.create("/api/v1/customers", map[string]any{"name": "Other Ltd", "currency": "EUR"})
	type page struct {
		Customers []struct{ Name string }
		Total     *int
	}
	get := func(q string) page {
		t.Helper()
		var p page
		w := e.req("GET", "/api/v1/customers"+q, nil)
		wantStatus(t, w, 200)
		decode(t, w, &p)
		return p
	}
	if p := get(""); len(p.Customers) != 26 || p.Total != nil {
		t.Fatalf("unpaged: %d rows, total %v", len(p.Customers), p.Total)
	}
	p := get("?limit=10")
	if len(p.Customers) != 10 || p.Total == nil || *p.Total != 26 || p.Customers[0].Name != "Cust 00" || p.Customers[9].Name != "Cust 09" {
		t.Fatalf("first page: %+v total %v", p.Customers, p.Total)
	}
	if p := get("?limit=10&offset=20"); len(p.Customers) != 6 || p.Customers[5].Name != "Other Ltd" {
		t.Fatalf("last page: %+v", p.Customers)
	}
	if p := get("?q=oTHER"); len(p.Customers) != 1 || *p.Total != 1 {
		t.Fatalf("search: %+v", p.Customers)
	}
	if p := get("?warnings=true&limit=3&offset=24"); len(p.Customers) != 2 || *p.Total != 26 {
		t.Fatalf("warned, paged: %+v total %v", p.Customers, *p.Total)
	}
	wantError(t, e.req("GET", "/api/v1/customers?limit=0", nil), 400, admin.CodeInvalid, "limit")
	wantError(t, e.req("GET", "/api/v1/customers?offset=-1", nil), 400, admin.CodeInvalid, "offset")
	wantError(t, e.req("GET", "/api/v1/carriers?limit=5000", nil), 400, admin.CodeInvalid, "limit")
}
