package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/trunkline/trunkline/admin"
)

// The passkey endpoints' refusals (a browser's ceremonies are in
// web.TestBrowserPasskey): the site must be a configured domain over
// https, or localhost; enrolling asks the password again; a ceremony is
// answered once, by the user it was made for; sign-in failures count
// towards the login throttle; ceremonies per client are bounded.
func TestPasskeyRefusals(t *testing.T) {
	e := newEnv(t, cheapArgon)
	e.create("/api/v1/domains", map[string]any{"host": "panel.example.com", "area": "panel", "brand": "Acme"})
	e.newUser("ops", "admin", "")
	e.newUser("other", "admin", "")
	tok, otherTok := e.tokenFor("ops"), e.tokenFor("other")
	post := func(token, origin, path string, body any) (int, map[string]any) {
		t.Helper()
		auth := ""
		if token != "" {
			auth = "Bearer " + token
		}
		w := e.send("POST", path, body, auth, "application/json", map[string]string{"Origin": origin, "X-Forwarded-For": "ignored"})
		var v map[string]any
		json.Unmarshal(w.Body.Bytes(), &v)
		return w.Code, v
	}
	errCode := func(v map[string]any) string {
		e, _ := v["error"].(map[string]any)
		s, _ := e["code"].(string)
		return s
	}
	pw := map[string]any{"password": "long enough pw"}
	for _, origin := range []string{"", "null", "https://evil.example.com", "http://panel.example.com", "https://panel.example.com/path", "https://192.0.2.1"} {
		if code, v := post(tok, origin, "/api/v1/me/passkeys/options", pw); code != 400 || errCode(v) != admin.CodeBadOrigin {
			t.Errorf("enrol from %q = %d %v, want 400 %s", origin, code, v, admin.CodeBadOrigin)
		}
	}
	if code, _ := post(tok, "https://panel.example.com", "/api/v1/me/passkeys/options", map[string]any{"password": "wrong password"}); code != http.StatusForbidden {
		t.Errorf("enrol with a wrong password = %d, want 403", code)
	}
	code, v := post(tok, "https://panel.example.com", "/api/v1/me/passkeys/options", pw)
	if code != 200 {
		t.Fatalf("enrol options = %d %v", code, v)
	}
	pk, _ := v["publicKey"].(map[string]any)
	rp, _ := pk["rp"].(map[string]any)
	user, _ := pk["user"].(map[string]any)
	sel, _ := pk["authenticatorSelection"].(map[string]any)
	if rp["id"] != "panel.example.com" || rp["name"] != "Acme" || user["name"] != "ops" || user["id"] == "ops" || sel["residentKey"] != "required" {
		t.Fatalf("creation options %v", pk)
	}
	ceremony := v["ceremony"].(string)
	fake := map[string]any{"ceremony": ceremony, "name": "k", "credential": map[string]any{"id": "AAAA", "type": "public-key"}}
	// Another user cannot answer it; nor can it be answered twice.
	if code, v := post(otherTok, "https://panel.example.com", "/api/v1/me/passkeys", fake); code != 400 || errCode(v) != admin.CodeBadPasskey {
		t.Errorf("another user's ceremony = %d %v", code, v)
	}
	if code, v := post(tok, "https://panel.example.com", "/api/v1/me/passkeys", fake); code != 400 || errCode(v) != admin.CodeBadPasskey {
		t.Errorf("a ceremony answered again = %d %v", code, v)
	}
	// A localhost ceremony is not panel.example.com's.
	_, v = post(tok, "http://localhost:8080", "/api/v1/me/passkeys/options", pw)
	fake["ceremony"] = v["ceremony"]
	if code, v := post(tok, "https://panel.example.com", "/api/v1/me/passkeys", fake); code != 400 || errCode(v) != admin.CodeBadPasskey {
		t.Errorf("a ceremony answered from another site = %d %v", code, v)
	}
	if code, _ := post("", "https://panel.example.com", "/api/v1/me/passkeys/options", pw); code != http.StatusUnauthorized {
		t.Errorf("enrol without a token = %d", code)
	}

	// Sign-in: a second factor needs the right password and a passkey.
	if code, _ := post("", "https://panel.example.com", "/api/v1/login/passkey/options", map[string]any{"username": "ops", "password": "wrong"}); code != http.StatusUnauthorized {
		t.Errorf("second-factor options with a wrong password = %d", code)
	}
	if code, v := post("", "https://panel.example.com", "/api/v1/login/passkey/options", map[string]any{"username": "ops", "password": "long enough pw"}); code != 400 || errCode(v) != admin.CodeNoPasskey {
		t.Errorf("second-factor options without a passkey = %d %v", code, v)
	}
	// Answers to no ceremony fail, and failing is throttled.
	throttled := false
	for i := range 30 {
		code, _ := post("", "https://panel.example.com", "/api/v1/login/passkey", map[string]any{"ceremony": fmt.Sprint("nope", i), "credential": map[string]any{}})
		if code == http.StatusTooManyRequests {
			throttled = true
			break
		}
		if code != http.StatusUnauthorized {
			t.Fatalf("a sign-in with no ceremony = %d", code)
		}
	}
	if !throttled {
		t.Error("30 failed passkey sign-ins from one client were not throttled")
	}
	// A client may hold only so many ceremonies.
	limited := false
	for range 30 {
		if code, _ := post("", "http://localhost", "/api/v1/login/passkey/options", map[string]any{}); code == http.StatusTooManyRequests {
			limited = true
			break
		} else if code != 200 {
			t.Fatalf("discoverable options = %d", code)
		}
	}
	if !limited {
		t.Error("30 ceremonies from one client were all kept")
	}
}
