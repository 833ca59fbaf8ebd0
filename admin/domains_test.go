package admin_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/admin"
)

// Custom domains: checked names, one domain per host, the CNAME to make;
// an admin's to change, a read-only user's to read, never a customer's.
func TestDomains(t *testing.T) {
	e := newEnv(t, cheapArgon, admin.WithPublicHost("switch.example.net"))
	var d struct {
		ID, Host, Area, Brand, Colour, CNAME string
	}
	w := e.req("POST", "/api/v1/domains", map[string]any{"host": "Portal.Example.COM.", "area": "portal", "brand": "Acme Voice", "colour": "#1A2B3C"})
	wantStatus(t, w, 201)
	decode(t, w, &d)
	if d.Host != "portal.example.com" || d.Colour != "#1a2b3c" || d.CNAME != "portal.example.com CNAME switch.example.net" {
		t.Fatalf("created %+v", d)
	}
	for _, c := range []struct {
		name  string
		body  map[string]any
		field string
	}{
		{"address", map[string]any{"host": "192.0.2.1", "area": "panel"}, "host"},
		{"IPv6 address", map[string]any{"host": "::1", "area": "panel"}, "host"},
		{"one label", map[string]any{"host": "localhost", "area": "panel"}, "host"},
		{"empty label", map[string]any{"host": "a..example.com", "area": "panel"}, "host"},
		{"hyphen first", map[string]any{"host": "-a.example.com", "area": "panel"}, "host"},
		{"underscore", map[string]any{"host": "a_b.example.com", "area": "panel"}, "host"},
		{"no area", map[string]any{"host": "x.example.com"}, "area"},
		{"bad area", map[string]any{"host": "x.example.com", "area": "admin"}, "area"},
		{"bad colour", map[string]any{"host": "x.example.com", "area": "panel", "colour": "red;}"}, "colour"},
		{"brand with a newline", map[string]any{"host": "x.example.com", "area": "panel", "brand": "a\nb"}, "brand"},
		{"cert alone", map[string]any{"host": "x.example.com", "area": "panel", "cert_file": "/nonexistent.pem"}, "cert_file"},
		{"cert missing", map[string]any{"host": "x.example.com", "area": "panel", "cert_file": "/nonexistent.pem", "key_file": "/nonexistent.key"}, "cert_file"},
		{"id chosen", map[string]any{"id": "mine", "host": "x.example.com", "area": "panel"}, "id"},
	} {
		t.Run(c.name, func(t *testing.T) {
			wantError(t, e.req("POST", "/api/v1/domains", c.body), 400, admin.CodeInvalid, c.field)
		})
	}
	wantError(t, e.req("POST", "/api/v1/domains", map[string]any{"host": "portal.example.com", "area": "panel"}), 409, admin.CodeConflict, "host")

	// What GET shows, PUT takes back.
	w = e.req("GET", "/api/v1/domains/"+d.ID, nil)
	wantStatus(t, w, 200)
	back := strings.Replace(w.Body.String(), `"Acme Voice"`, `"Acme"`, 1)
	wantStatus(t, e.req("PUT", "/api/v1/domains/"+d.ID, back), 200)
	panel := e.create("/api/v1/domains", map[string]any{"host": "panel.example.com", "area": "panel"})
	wantError(t, e.req("PUT", "/api/v1/domains/"+panel, map[string]any{"host": "portal.example.com", "area": "panel"}), 409, admin.CodeConflict, "host")

	cust := e.create("/api/v1/customers", map[string]any{"name": "C", "currency": "EUR"})
	e.newUser("viewer", "read-only", "")
	e.newUser("cust", "customer", cust)
	viewer, customer := e.tokenFor("viewer"), e.tokenFor("cust")
	if code := e.as(viewer, "GET", "/api/v1/domains", nil); code != 200 {
		t.Errorf("read-only GET domains = %d", code)
	}
	if code := e.as(viewer, "POST", "/api/v1/domains", map[string]any{"host": "y.example.com", "area": "panel"}); code != http.StatusForbidden {
		t.Errorf("read-only POST domains = %d", code)
	}
	if code := e.as(customer, "GET", "/api/v1/domains", nil); code != http.StatusForbidden {
		t.Errorf("customer GET domains = %d", code)
	}
	var list struct {
		Domains []struct{ Host, Brand string }
	}
	decode(t, e.req("GET", "/api/v1/domains", nil), &list)
	if len(list.Domains) != 2 {
		t.Fatalf("listed %+v", list)
	}
	wantStatus(t, e.req("DELETE", "/api/v1/domains/"+panel, nil), 204)
	wantError(t, e.req("GET", "/api/v1/domains/"+panel, nil), 404, admin.CodeNotFound, "")
}
