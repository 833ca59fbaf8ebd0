package admin_test

import (
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestCreateCustomer(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"ok", `{"name":"Acme","currency":"EUR"}`, 201, "", ""},
		{"ok full", `{"name":"Acme","currency":"USD","status":"suspended","channel_limit":10,"cps_limit":2}`, 201, "", ""},
		{"no name", `{"currency":"EUR"}`, 400, admin.CodeInvalid, "name"},
		{"blank name", `{"name":"  ","currency":"EUR"}`, 400, admin.CodeInvalid, "name"},
		{"lower currency", `{"name":"A","currency":"eur"}`, 400, admin.CodeInvalid, "currency"},
		{"long currency", `{"name":"A","currency":"EURO"}`, 400, admin.CodeInvalid, "currency"},
		{"made-up currency", `{"name":"A","currency":"ABC"}`, 400, admin.CodeInvalid, "currency"},
		{"test currency", `{"name":"A","currency":"XXX"}`, 400, admin.CodeInvalid, "currency"},
		{"NUL in name", `{"name":"A\u0000B","currency":"EUR"}`, 400, admin.CodeInvalid, "name"},
		{"CR-LF in name", `{"name":"A\r\nInjected: 1","currency":"EUR"}`, 400, admin.CodeInvalid, "name"},
		{"line separator in name", `{"name":"A\u2028B","currency":"EUR"}`, 400, admin.CodeInvalid, "name"},
		{"unicode name", `{"name":"Zürich Télécom ☎","currency":"CHF"}`, 201, "", ""},
		{"no currency", `{"name":"A"}`, 400, admin.CodeInvalid, "currency"},
		{"bad status", `{"name":"A","currency":"EUR","status":"disabled"}`, 400, admin.CodeInvalid, "status"},
		{"negative channels", `{"name":"A","currency":"EUR","channel_limit":-2}`, 400, admin.CodeInvalid, "channel_limit"},
		{"unlimited channels", `{"name":"A","currency":"EUR","channel_limit":-1}`, 201, "", ""},
		{"negative cps", `{"name":"A","currency":"EUR","cps_limit":-5}`, 400, admin.CodeInvalid, "cps_limit"},
		{"string limit", `{"name":"A","currency":"EUR","cps_limit":"5"}`, 400, admin.CodeInvalid, "cps_limit"},
		{"unknown field", `{"name":"A","currency":"EUR","credit":"5"}`, 400, admin.CodeBadJSON, "credit"},
		{"id given", `{"id":"x","name":"A","currency":"EUR"}`, 400, admin.CodeInvalid, "id"},
		{"malformed", `{"name":"A",`, 400, admin.CodeBadJSON, ""},
		{"syntax", `{"name" "A"}`, 400, admin.CodeBadJSON, ""},
		{"empty", ``, 400, admin.CodeBadJSON, ""},
		{"array", `[]`, 400, admin.CodeBadJSON, ""},
		{"trailing", `{"name":"A","currency":"EUR"} {}`, 400, admin.CodeBadJSON, ""},
		{"too large", `{"name":"` + strings.Repeat("a", 1<<20) + `","currency":"EUR"}`, 413, admin.CodeTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("POST", "/api/v1/customers", tt.body)
			if tt.code == "" {
				wantStatus(t, w, tt.status)
				var c store.Customer
				decode(t, w, &c)
				if c.ID == "" || c.Status == "" {
					t.Errorf("created %+v: want an id and a status", c)
				}
				return
			}
			wantError(t, w, tt.status, tt.code, tt.field)
		})
	}
}

func TestCustomerContentType(t *testing.T) {
	e := newEnv(t)
	body := `{"name":"A","currency":"EUR"}`
	w := e.send("POST", "/api/v1/customers", body, "Bearer "+e.token, "text/csv")
	wantError(t, w, http.StatusUnsupportedMediaType, admin.CodeUnsupportedType, "")
	w = e.send("POST", "/api/v1/customers", body, "Bearer "+e.token, "application/json; charset=utf-8")
	wantStatus(t, w, 201)
	w = e.send("POST", "/api/v1/customers", body, "Bearer "+e.token, "")
	wantStatus(t, w, 201)
}

func TestCustomerLifecycle(t *testing.T) {
	e := newEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "Acme", "currency": "EUR", "channel_limit": 5})

	var c store.Customer
	decode(t, e.req("GET", "/api/v1/customers/"+id, nil), &c)
	want := store.Customer{ID: id, Name: "Acme", Currency: "EUR", Status: "active", ChannelLimit: 5}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("GET = %+v, want %+v", c, want)
	}

	w := e.req("PUT", "/api/v1/customers/"+id, map[string]any{"name": "Acme Ltd", "status": "suspended"})
	wantStatus(t, w, 200)
	c = store.Customer{}
	decode(t, e.req("GET", "/api/v1/customers/"+id, nil), &c)
	want = store.Customer{ID: id, Name: "Acme Ltd", Currency: "EUR", Status: "suspended"}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("after PUT = %+v, want %+v", c, want)
	}
	wantError(t, e.req("PUT", "/api/v1/customers/"+id, map[string]any{"name": "A", "currency": "USD"}), 409, admin.CodeConflict, "currency")
	wantError(t, e.req("PUT", "/api/v1/customers/"+id, map[string]any{"id": "other", "name": "A"}), 400, admin.CodeInvalid, "id")
	wantError(t, e.req("PUT", "/api/v1/customers/"+id, map[string]any{"name": "A", "status": "gone"}), 400, admin.CodeInvalid, "status")
	wantError(t, e.req("PUT", "/api/v1/customers/nope", map[string]any{"name": "A"}), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/nope", nil), 404, admin.CodeNotFound, "")

	id2 := e.create("/api/v1/customers", map[string]any{"name": "Beta", "currency": "USD"})
	var list struct{ Customers []store.Customer }
	decode(t, e.req("GET", "/api/v1/customers", nil), &list)
	if len(list.Customers) != 2 {
		t.Fatalf("list = %+v", list)
	}

	ip := e.create("/api/v1/customers/"+id+"/ips", map[string]any{"cidr": "192.0.2.0/24"})
	wantStatus(t, e.req("DELETE", "/api/v1/customers/"+id, nil), 204)
	wantError(t, e.req("DELETE", "/api/v1/customers/"+id, nil), 404, admin.CodeNotFound, "")
	if _, err := e.st.Get(t.Context(), store.CustomerIPs, ip); err == nil {
		t.Error("deleting a customer kept its ip entries")
	}
	decode(t, e.req("GET", "/api/v1/customers", nil), &list)
	if len(list.Customers) != 1 || list.Customers[0].ID != id2 {
		t.Errorf("list after delete = %+v", list)
	}
}

func TestEmptyLists(t *testing.T) {
	e := newEnv(t)
	for _, path := range []string{"/api/v1/customers", "/api/v1/carriers", "/api/v1/ratecards"} {
		w := e.req("GET", path, nil)
		wantStatus(t, w, 200)
		if strings.Contains(w.Body.String(), "null") {
			t.Errorf("GET %s = %s, want an empty array", path, w.Body)
		}
	}
}

// A customer stored before today's rules (a test currency, a tab in its
// name) can still be changed, suspended say, as long as those stay.
func TestLegacyCustomerStillEditable(t *testing.T) {
	e := newEnv(t)
	old := store.Customer{ID: "legacy", Name: "Old\tName", Currency: "XTS", Status: "active"}
	if err := store.PutJSON(t.Context(), e.st, store.Customers, old.ID, old); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, e.req("PUT", "/api/v1/customers/legacy", map[string]any{"name": "Old\tName", "currency": "XTS", "status": "suspended"}), 200)
	wantError(t, e.req("PUT", "/api/v1/customers/legacy", map[string]any{"name": "New\tName", "currency": "XTS"}), 400, admin.CodeInvalid, "name")
}
