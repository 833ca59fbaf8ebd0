package admin_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
)

// Every successful change is in the audit log with its author, the
// request, and the resource before and after; failed changes and reads
// are not; secrets never are.
func TestAuditLog(t *testing.T) {
	e := newEnv(t, cheapArgon)
	e.newUser("alice", "admin", "")
	alice := e.tokenFor("alice")
	send := func(method, path string, body any) map[string]any {
		t.Helper()
		w := e.send(method, path, body, "Bearer "+alice, "application/json")
		if w.Code >= 300 && method != "BAD" {
			t.Fatalf("%s %s: %d %s", method, path, w.Code, w.Body)
		}
		var v map[string]any
		json.Unmarshal(w.Body.Bytes(), &v)
		return v
	}
	c := send("POST", "/api/v1/customers", map[string]any{"name": "Acme", "currency": "EUR"})
	id := c["id"].(string)
	send("PUT", "/api/v1/customers/"+id, map[string]any{"name": "Acme Telecom", "currency": "EUR"})
	if w := e.send("PUT", "/api/v1/customers/"+id, map[string]any{"name": "", "currency": "EUR"}, "Bearer "+alice, "application/json"); w.Code != 400 {
		t.Fatalf("bad PUT: %d", w.Code)
	}
	send("GET", "/api/v1/customers/"+id, nil)
	send("POST", "/api/v1/users", map[string]any{"username": "bob", "password": "bob's long password", "role": "read-only"})
	send("DELETE", "/api/v1/customers/"+id, nil)

	var log struct {
		Entries []struct {
			Username, Role, Method, Path, Route, Client string
			Status                                      int
			AtMs                                        int64 `json:"at_ms"`
			Before, After                               map[string]any
		}
	}
	decode(t, e.req("GET", "/api/v1/audit?user=alice", nil), &log)
	got := []string{}
	for _, x := range log.Entries {
		got = append(got, x.Method+" "+x.Path)
		if x.Username != "alice" || x.Role != "admin" || x.AtMs == 0 || x.Client == "" || x.Status >= 300 {
			t.Errorf("entry %+v", x)
		}
	}
	want := []string{"DELETE /api/v1/customers/" + id, "POST /api/v1/users", "PUT /api/v1/customers/" + id, "POST /api/v1/customers"}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Fatalf("alice's changes %v, want %v (newest first; no failed change, no read)", got, want)
	}
	put, del, created, user := log.Entries[2], log.Entries[0], log.Entries[3], log.Entries[1]
	if put.Before["name"] != "Acme" || put.After["name"] != "Acme Telecom" || put.Route != "PUT /api/v1/customers/{id}" {
		t.Errorf("the PUT: before %v, after %v, route %q", put.Before, put.After, put.Route)
	}
	if del.Before["name"] != "Acme Telecom" || del.After != nil || created.After["name"] != "Acme" || created.Before != nil {
		t.Errorf("the DELETE %+v, the POST %+v", del, created)
	}
	raw := e.req("GET", "/api/v1/audit", nil).Body.String()
	if strings.Contains(raw, "bob's long password") || strings.Contains(raw, "argon2") || user.After["username"] != "bob" {
		t.Errorf("the audit log shows a secret, or not the user: %s", raw)
	}
	// Two-factor set-up is audited without its secret (nor the otpauth URI
	// that carries it).
	totp := e.send("POST", "/api/v1/me/totp", nil, "Bearer "+alice, "")
	var setup struct{ Secret, URI string }
	decode(t, totp, &setup)
	raw = e.req("GET", "/api/v1/audit", nil).Body.String()
	if setup.Secret == "" || strings.Contains(raw, setup.Secret) || !strings.Contains(raw, "/api/v1/me/totp") {
		t.Errorf("the audit log after a TOTP set-up (secret %q): %s", setup.Secret, raw)
	}
	decode(t, e.req("GET", "/api/v1/audit?path=/api/v1/users&method=post", nil), &log)
	if len(log.Entries) != 2 { // alice's creation by the initial token, and bob's
		t.Errorf("?path=/api/v1/users&method=post: %d entries", len(log.Entries))
	}
	// ?dry_run on a route that does not know it changes things: audited.
	send("POST", "/api/v1/customers?dry_run=true", map[string]any{"name": "Sneaky", "currency": "EUR"})
	decode(t, e.req("GET", "/api/v1/audit?path=/api/v1/customers%3Fdry_run", nil), &log)
	if len(log.Entries) != 1 {
		t.Errorf("a change with ?dry_run=true on a route that ignores it: %d entries", len(log.Entries))
	}
	wantError(t, e.req("GET", "/api/v1/audit?limit=0", nil), http.StatusBadRequest, "invalid", "limit")
}
