package admin_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

// The passkey endpoints' refusals (a browser's ceremonies are in
// web.TestBrowserPasskey): the site must be a configured domain over
// https, or localhost; enrolling asks the password again; a ceremony is
// answered once, by the user it was made for; sign-in failures count
// towards the login throttle; ceremonies are sealed, each for its kind.
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
	// A ceremony is sealed: one altered, or made for sign-in, is no
	// enrolment's.
	_, v = post(tok, "http://localhost:8080", "/api/v1/me/passkeys/options", pw)
	good := v["ceremony"].(string)
	fake["ceremony"] = good[:len(good)-4] + "AAAA"
	if code, v := post(tok, "http://localhost:8080", "/api/v1/me/passkeys", fake); code != 400 || errCode(v) != admin.CodeBadPasskey {
		t.Errorf("an altered ceremony = %d %v", code, v)
	}
	_, v = post("", "http://localhost:8080", "/api/v1/login/passkey/options", map[string]any{})
	fake["ceremony"] = v["ceremony"]
	if code, v := post(tok, "http://localhost:8080", "/api/v1/me/passkeys", fake); code != 400 || errCode(v) != admin.CodeBadPasskey {
		t.Errorf("a sign-in ceremony answered as an enrolment = %d %v", code, v)
	}
	if code, _ := post("", "http://localhost:8080", "/api/v1/login/passkey/options", map[string]any{"username": "ops"}); code != 400 {
		t.Errorf("a username without a password = %d, want 400 (not a failed login)", code)
	}
}

// With two-factor on, enrolling a passkey needs a code too; an admin's
// password or two-factor reset removes the user's passkeys, as
// DELETE /users/{id}/passkeys does.
func TestPasskeyNeedsSecondFactor(t *testing.T) {
	e := newEnv(t, cheapArgon)
	id := e.newUser("ops", "admin", "")
	tok := e.tokenFor("ops")
	w := e.send("POST", "/api/v1/me/totp", nil, "Bearer "+tok, "")
	wantStatus(t, w, 200)
	var setup struct{ Secret string }
	decode(t, w, &setup)
	code, _ := auth.TOTPCode(setup.Secret, time.Now())
	wantStatus(t, e.send("POST", "/api/v1/me/totp/confirm", map[string]any{"code": code}, "Bearer "+tok, "application/json"), 200)
	opts := func(body map[string]any) *httptest.ResponseRecorder {
		return e.send("POST", "/api/v1/me/passkeys/options", body, "Bearer "+tok, "application/json", map[string]string{"Origin": "http://localhost"})
	}
	wantError(t, opts(map[string]any{"password": "long enough pw"}), 401, admin.CodeTOTPRequired, "")
	wantError(t, opts(map[string]any{"password": "long enough pw", "totp": "000000"}), 403, admin.CodeForbidden, "totp")
	next, _ := auth.TOTPCode(setup.Secret, time.Now().Add(30*time.Second))
	wantStatus(t, opts(map[string]any{"password": "long enough pw", "totp": next}), 200)

	// A passkey enrolled (stored as the enrolment would), then an admin's
	// reset: gone.
	u, err := store.GetJSON[store.User](t.Context(), e.st, store.Users, id)
	if err != nil {
		t.Fatal(err)
	}
	u.Passkeys = []store.Passkey{{ID: "k1", Name: "attacker's", RPID: "localhost", Credential: []byte(`{}`)}}
	if err := store.PutJSON(t.Context(), e.st, store.Users, id, u); err != nil {
		t.Fatal(err)
	}
	var view struct{ Passkeys int }
	decode(t, e.req("GET", "/api/v1/users/"+id, nil), &view)
	if view.Passkeys != 1 {
		t.Fatalf("the user's passkeys as an admin sees them: %d", view.Passkeys)
	}
	wantStatus(t, e.req("PUT", "/api/v1/users/"+id, map[string]any{"reset_totp": true}), 200)
	decode(t, e.req("GET", "/api/v1/users/"+id, nil), &view)
	if view.Passkeys != 0 {
		t.Fatalf("passkeys after a two-factor reset: %d", view.Passkeys)
	}
	u, _ = store.GetJSON[store.User](t.Context(), e.st, store.Users, id)
	u.Passkeys = []store.Passkey{{ID: "k2", Name: "x", RPID: "localhost", Credential: []byte(`{}`)}}
	store.PutJSON(t.Context(), e.st, store.Users, id, u)
	other := e.tokenFor("ops")
	wantStatus(t, e.req("DELETE", "/api/v1/users/"+id+"/passkeys", nil), 204)
	if code := e.as(other, "GET", "/api/v1/me", nil); code != 401 {
		t.Errorf("a session of the user after its passkeys were removed: %d, want 401", code)
	}
	decode(t, e.req("GET", "/api/v1/users/"+id, nil), &view)
	if view.Passkeys != 0 {
		t.Fatalf("passkeys after DELETE: %d", view.Passkeys)
	}

	// Wrong codes count as failed logins: guessing is throttled.
	e.newUser("guesser", "admin", "")
	tok = e.tokenFor("guesser")
	w = e.send("POST", "/api/v1/me/totp", nil, "Bearer "+tok, "")
	decode(t, w, &setup)
	code, _ = auth.TOTPCode(setup.Secret, time.Now())
	wantStatus(t, e.send("POST", "/api/v1/me/totp/confirm", map[string]any{"code": code}, "Bearer "+tok, "application/json"), 200)
	throttled := false
	for range 10 {
		if w := opts(map[string]any{"password": "long enough pw", "totp": "000000"}); w.Code == 429 {
			throttled = true
			break
		}
	}
	if !throttled {
		t.Error("10 wrong codes at enrolment were not throttled")
	}
}

// A user's profile: an email address and an E.164 mobile number, checked;
// "" clears one.
func TestProfile(t *testing.T) {
	e := newEnv(t, cheapArgon)
	e.newUser("ops", "read-only", "")
	tok := e.tokenFor("ops")
	put := func(body map[string]any) *httptest.ResponseRecorder {
		return e.send("PUT", "/api/v1/me/profile", body, "Bearer "+tok, "application/json")
	}
	w := put(map[string]any{"email": "noc@example.com", "mobile": "+447700900123"})
	wantStatus(t, w, 200)
	var u struct{ Email, Mobile string }
	decode(t, w, &u)
	if u.Email != "noc@example.com" || u.Mobile != "+447700900123" {
		t.Fatalf("profile: %+v", u)
	}
	for _, c := range []struct {
		body  map[string]any
		field string
	}{
		{map[string]any{"email": "noc@"}, "email"},
		{map[string]any{"email": "NOC <noc@example.com>"}, "email"},
		{map[string]any{"email": "a@b.c\r\nBcc: x@y.z"}, "email"},
		{map[string]any{"mobile": "07700900123"}, "mobile"},
		{map[string]any{"mobile": "+07700900123"}, "mobile"},
		{map[string]any{"mobile": "+44 7700 900123"}, "mobile"},
		{map[string]any{"mobile": "+1234567890123456"}, "mobile"},
		{map[string]any{"mobile": "+12345"}, "mobile"},
	} {
		wantError(t, put(c.body), 400, admin.CodeInvalid, c.field)
	}
	w = put(map[string]any{"email": "", "mobile": ""})
	var cleared struct{ Email, Mobile string }
	decode(t, w, &cleared)
	if cleared.Email != "" || cleared.Mobile != "" {
		t.Fatalf("profile cleared: %+v", cleared)
	}
}
