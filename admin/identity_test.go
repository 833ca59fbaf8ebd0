package admin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

var cheapArgon = admin.WithArgon2(auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1})

// login posts credentials without a token and returns the response.
func (e *env) login(body map[string]any) (int, map[string]any) {
	e.t.Helper()
	w := e.send("POST", "/api/v1/login", body, "", "application/json")
	var v map[string]any
	if strings.HasPrefix(w.Header().Get("Content-Type"), "application/json") {
		decode(e.t, w, &v)
	}
	return w.Code, v
}

func (e *env) as(token, method, path string, body any) int {
	e.t.Helper()
	return e.send(method, path, body, "Bearer "+token, "application/json").Code
}

func (e *env) newUser(name, role, customer string) string {
	e.t.Helper()
	return e.create("/api/v1/users", map[string]any{"username": name, "password": "long enough pw", "role": role, "customer_id": customer})
}

func (e *env) tokenFor(name string) string {
	e.t.Helper()
	code, v := e.login(map[string]any{"username": name, "password": "long enough pw"})
	if code != http.StatusCreated {
		e.t.Fatalf("login %s = %d %v", name, code, v)
	}
	return v["token"].(string)
}

func TestLoginTOTPAndRevoke(t *testing.T) {
	e := newEnv(t, cheapArgon)
	e.newUser("alice", "admin", "")

	if code, _ := e.login(map[string]any{"username": "alice", "password": "wrong password"}); code != 401 {
		t.Fatalf("wrong password: %d", code)
	}
	if code, _ := e.login(map[string]any{"username": "nobody", "password": "long enough pw"}); code != 401 {
		t.Fatalf("unknown user: %d", code)
	}
	tok := e.tokenFor("alice")
	if c := e.as(tok, "GET", "/api/v1/customers", nil); c != 200 {
		t.Fatalf("login token: %d", c)
	}

	// Enable TOTP: the secret is pending until confirmed with a code.
	w := e.send("POST", "/api/v1/me/totp", nil, "Bearer "+tok, "")
	wantStatus(t, w, 200)
	var setup struct{ Secret, URI string }
	decode(t, w, &setup)
	if !strings.HasPrefix(setup.URI, "otpauth://totp/Trunkline:alice?") || setup.Secret == "" {
		t.Fatalf("setup %+v", setup)
	}
	if code, _ := e.login(map[string]any{"username": "alice", "password": "long enough pw"}); code != 201 {
		t.Fatalf("pending TOTP already required: %d", code)
	}
	if c := e.as(tok, "POST", "/api/v1/me/totp/confirm", map[string]any{"code": "000000"}); c != 400 {
		t.Fatalf("confirm with a wrong code: %d", c)
	}
	now := time.Now()
	code, _ := auth.TOTPCode(setup.Secret, now)
	w = e.send("POST", "/api/v1/me/totp/confirm", map[string]any{"code": code}, "Bearer "+tok, "application/json")
	wantStatus(t, w, 200)
	var conf struct {
		RecoveryCodes []string `json:"recovery_codes"`
	}
	decode(t, w, &conf)
	if len(conf.RecoveryCodes) != 10 {
		t.Fatalf("recovery codes %v", conf.RecoveryCodes)
	}

	// Now a code is required, a wrong one refused, a reused one refused.
	if c, v := e.login(map[string]any{"username": "alice", "password": "long enough pw"}); c != 401 || v["error"].(map[string]any)["code"] != admin.CodeTOTPRequired {
		t.Fatalf("no code: %d %v", c, v)
	}
	if c, _ := e.login(map[string]any{"username": "alice", "password": "long enough pw", "totp": "123456"}); c != 401 {
		t.Fatalf("wrong code: %d", c)
	}
	if c, _ := e.login(map[string]any{"username": "alice", "password": "long enough pw", "totp": code}); c != 401 {
		t.Fatalf("code reused: %d", c)
	}
	next, _ := auth.TOTPCode(setup.Secret, now.Add(30*time.Second))
	c, v := e.login(map[string]any{"username": "alice", "password": "long enough pw", "totp": next, "ttl_seconds": 3600})
	if c != 201 {
		t.Fatalf("right code: %d %v", c, v)
	}
	tok2 := v["token"].(string)
	if v["expires"] == nil {
		t.Error("ttl_seconds gave no expiry")
	}
	// A recovery code works once.
	if c, _ := e.login(map[string]any{"username": "alice", "password": "long enough pw", "recovery_code": conf.RecoveryCodes[0]}); c != 201 {
		t.Fatalf("recovery code: %d", c)
	}
	if c, _ := e.login(map[string]any{"username": "alice", "password": "long enough pw", "recovery_code": conf.RecoveryCodes[0]}); c != 401 {
		t.Fatalf("recovery code reused: %d", c)
	}

	// Revoke tok2 → 401.
	if c := e.as(tok2, "GET", "/api/v1/customers", nil); c != 200 {
		t.Fatalf("tok2: %d", c)
	}
	w = e.send("GET", "/api/v1/tokens", nil, "Bearer "+tok, "")
	var list struct {
		Tokens []struct{ ID, Name, Token string }
	}
	decode(t, w, &list)
	if strings.Contains(w.Body.String(), "sha256") {
		t.Error("token list shows hashes")
	}
	for _, tk := range list.Tokens {
		if tk.Token != "" {
			t.Error("token list shows a secret")
		}
	}
	id := tokenID(t, e, tok2)
	if c := e.as(tok, "DELETE", "/api/v1/tokens/"+id, nil); c != 204 {
		t.Fatalf("revoke: %d", c)
	}
	if c := e.as(tok2, "GET", "/api/v1/customers", nil); c != 401 {
		t.Fatalf("revoked token: %d, want 401", c)
	}
	// The bootstrap token stays an admin token.
	if c := e.as(e.token, "GET", "/api/v1/users", nil); c != 200 {
		t.Fatalf("bootstrap token: %d", c)
	}
}

// tokenID finds the id of a token from its secret through /me/../tokens.
func tokenID(t *testing.T, e *env, secret string) string {
	t.Helper()
	toks, err := store.ListJSON[store.Token](t.Context(), e.st, store.Tokens)
	if err != nil {
		t.Fatal(err)
	}
	for _, tk := range toks {
		if tk.SHA256 == sha(secret) {
			return tk.ID
		}
	}
	t.Fatal("token not stored")
	return ""
}

func TestTokenExpiry(t *testing.T) {
	e := newEnv(t, cheapArgon)
	e.newUser("bob", "admin", "")
	tok := e.tokenFor("bob")
	toks, _ := store.ListJSON[store.Token](t.Context(), e.st, store.Tokens)
	for _, tk := range toks {
		if tk.UserID != "" {
			tk.Expires = time.Now().Add(-time.Second).Unix()
			store.PutJSON(t.Context(), e.st, store.Tokens, tk.ID, tk)
		}
	}
	if c := e.as(tok, "GET", "/api/v1/customers", nil); c != 401 {
		t.Fatalf("expired token: %d", c)
	}
}

func TestRoles(t *testing.T) {
	e := newEnv(t, cheapArgon)
	a := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	b := e.create("/api/v1/customers", map[string]any{"name": "B", "currency": "EUR"})
	e.newUser("ro", "read-only", "")
	e.newUser("cust", "customer", a)
	ro, cu := e.tokenFor("ro"), e.tokenFor("cust")

	tests := []struct {
		name, token, method, path string
		body                      any
		want                      int
	}{
		{"ro reads", ro, "GET", "/api/v1/customers", nil, 200},
		{"ro reads one", ro, "GET", "/api/v1/customers/" + b, nil, 200},
		{"ro cannot write", ro, "POST", "/api/v1/customers", map[string]any{"name": "C", "currency": "EUR"}, 403},
		{"ro cannot delete", ro, "DELETE", "/api/v1/customers/" + b, nil, 403},
		{"ro cannot create users", ro, "POST", "/api/v1/users", map[string]any{"username": "x", "password": "long enough pw"}, 403},
		{"ro sees itself", ro, "GET", "/api/v1/me", nil, 200},
		{"customer reads own", cu, "GET", "/api/v1/customers/" + a, nil, 200},
		{"customer reads own ips", cu, "GET", "/api/v1/customers/" + a + "/ips", nil, 200},
		{"customer cannot read another", cu, "GET", "/api/v1/customers/" + b, nil, 403},
		{"customer cannot read another's ips", cu, "GET", "/api/v1/customers/" + b + "/ips", nil, 403},
		{"customer cannot list customers", cu, "GET", "/api/v1/customers", nil, 403},
		{"customer cannot read carriers", cu, "GET", "/api/v1/carriers", nil, 403},
		{"customer cannot edit itself", cu, "PUT", "/api/v1/customers/" + a, map[string]any{"name": "A2", "currency": "EUR"}, 403},
		{"customer cannot ask another's cdrs", cu, "GET", "/api/v1/cdrs?customer=" + b, nil, 403},
		{"customer adds own sip user", cu, "POST", "/api/v1/customers/" + a + "/sip-users", map[string]any{"username": "u1", "password": "12345678"}, 201},
		{"customer cannot add another's sip user", cu, "POST", "/api/v1/customers/" + b + "/sip-users", map[string]any{"username": "u2", "password": "12345678"}, 403},
		{"customer cannot see bans", cu, "GET", "/api/v1/bans", nil, 403},
		{"customer lists own tokens", cu, "GET", "/api/v1/tokens", nil, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := e.as(tt.token, tt.method, tt.path, tt.body); c != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, c, tt.want)
			}
		})
	}
	// Role changes apply to existing tokens at once.
	uid := ""
	us, _ := store.ListJSON[store.User](t.Context(), e.st, store.Users)
	for _, u := range us {
		if u.Username == "ro" {
			uid = u.ID
		}
	}
	if c := e.req("PUT", "/api/v1/users/"+uid, map[string]any{"role": "admin"}).Code; c != 200 {
		t.Fatalf("promote: %d", c)
	}
	if c := e.as(ro, "POST", "/api/v1/customers", map[string]any{"name": "C", "currency": "EUR"}); c != 201 {
		t.Fatalf("promoted user writes: %d", c)
	}
	// Deleting a user revokes its tokens.
	if c := e.req("DELETE", "/api/v1/users/"+uid, nil).Code; c != 204 {
		t.Fatalf("delete user: %d", c)
	}
	if c := e.as(ro, "GET", "/api/v1/me", nil); c != 401 {
		t.Fatalf("deleted user's token: %d", c)
	}
}

func TestUsersValidation(t *testing.T) {
	e := newEnv(t, cheapArgon)
	a := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	tests := []struct {
		name  string
		body  map[string]any
		want  int
		field string
	}{
		{"short password", map[string]any{"username": "x", "password": "short"}, 400, "password"},
		{"bad role", map[string]any{"username": "x", "password": "long enough pw", "role": "root"}, 400, "role"},
		{"customer without id", map[string]any{"username": "x", "password": "long enough pw", "role": "customer"}, 400, "customer_id"},
		{"customer unknown", map[string]any{"username": "x", "password": "long enough pw", "role": "customer", "customer_id": "nope"}, 400, "customer_id"},
		{"admin with customer", map[string]any{"username": "x", "password": "long enough pw", "role": "admin", "customer_id": a}, 400, "customer_id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.req("POST", "/api/v1/users", tt.body), tt.want, "invalid", tt.field)
		})
	}
	e.newUser("dup", "", "")
	wantError(t, e.req("POST", "/api/v1/users", map[string]any{"username": "dup", "password": "long enough pw"}), 409, "conflict", "username")
	docs, _ := e.st.List(t.Context(), store.Users)
	if !strings.Contains(string(docs[0].Data), "$argon2id$") || strings.Contains(string(docs[0].Data), "long enough pw") {
		t.Errorf("stored user %s", docs[0].Data)
	}
	w := e.req("GET", "/api/v1/users", nil)
	if strings.Contains(w.Body.String(), "argon2") {
		t.Error("user list shows the hash")
	}
}

func TestChangePassword(t *testing.T) {
	e := newEnv(t, cheapArgon)
	e.newUser("carol", "read-only", "")
	tok := e.tokenFor("carol")
	w := e.send("PUT", "/api/v1/me/password", map[string]any{"old_password": "not it at all", "new_password": "another long one"}, "Bearer "+tok, "application/json")
	wantError(t, w, 403, admin.CodeForbidden, "old_password")
	if c := e.as(tok, "PUT", "/api/v1/me/password", map[string]any{"old_password": "long enough pw", "new_password": "another long one"}); c != 204 {
		t.Fatalf("change: %d", c)
	}
	if c, _ := e.login(map[string]any{"username": "carol", "password": "long enough pw"}); c != 401 {
		t.Fatalf("old password still works: %d", c)
	}
	if c, _ := e.login(map[string]any{"username": "carol", "password": "another long one"}); c != 201 {
		t.Fatalf("new password: %d", c)
	}
	// The bootstrap token has no user.
	if c := e.req("PUT", "/api/v1/me/password", map[string]any{"old_password": "x", "new_password": "another long one"}).Code; c != 400 {
		t.Fatalf("bootstrap change: %d", c)
	}
}

func TestLoginThrottle(t *testing.T) {
	e := newEnv(t, cheapArgon, admin.WithLoginThrottle(auth.NewThrottle(3, time.Minute, time.Minute, time.Hour, nil)))
	e.newUser("dave", "admin", "")
	for i := range 3 {
		if c, _ := e.login(map[string]any{"username": "dave", "password": "guess number " + string(rune('a'+i))}); c != 401 {
			t.Fatalf("guess %d: %d", i, c)
		}
	}
	w := e.send("POST", "/api/v1/login", map[string]any{"username": "dave", "password": "long enough pw"}, "", "application/json")
	wantError(t, w, 429, admin.CodeTooMany, "")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
}

func TestBansAPI(t *testing.T) {
	bans := auth.NewBans(auth.WithBanThreshold(3, time.Minute),
		auth.WithExempt(auth.ExemptPrefixes(netip.MustParsePrefix("198.51.100.0/24"))))
	e := newEnv(t, admin.WithBans(bans))
	src := netip.MustParseAddr("203.0.113.9")
	exempt := netip.MustParseAddr("198.51.100.20")
	for range 3 {
		bans.Fail(src)
	}
	for range 50 {
		bans.Fail(exempt)
	}
	if !bans.Banned(src) || bans.Banned(exempt) {
		t.Fatal("ban table")
	}
	w := e.req("GET", "/api/v1/bans", nil)
	wantStatus(t, w, 200)
	var list struct{ Bans []auth.Ban }
	decode(t, w, &list)
	if len(list.Bans) != 1 || list.Bans[0].IP != src || list.Bans[0].Count != 1 {
		t.Fatalf("bans %+v", list.Bans)
	}
	wantError(t, e.req("DELETE", "/api/v1/bans/not-an-ip", nil), 400, "invalid", "ip")
	wantError(t, e.req("DELETE", "/api/v1/bans/192.0.2.1", nil), 404, "not_found", "")
	if c := e.req("DELETE", "/api/v1/bans/"+src.String(), nil).Code; c != 204 {
		t.Fatalf("lift: %d", c)
	}
	if bans.Banned(src) {
		t.Fatal("still banned after lift")
	}
	wantError(t, newEnv(t).req("GET", "/api/v1/bans", nil), 503, "unavailable", "")
}

func TestSIPUsersAPI(t *testing.T) {
	e := newEnv(t)
	a := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	id := e.create("/api/v1/customers/"+a+"/sip-users", map[string]any{"username": "pbx1", "password": "s3cret-pass", "allowed_cidrs": []string{"192.0.2.0/24"}})
	wantError(t, e.req("POST", "/api/v1/customers/"+a+"/sip-users", map[string]any{"username": "pbx1", "password": "s3cret-pass"}), 409, "conflict", "username")
	wantError(t, e.req("POST", "/api/v1/customers/"+a+"/sip-users", map[string]any{"username": "a:b", "password": "s3cret-pass"}), 400, "invalid", "username")
	wantError(t, e.req("POST", "/api/v1/customers/"+a+"/sip-users", map[string]any{"username": "x", "password": "short"}), 400, "invalid", "password")
	wantError(t, e.req("POST", "/api/v1/customers/"+a+"/sip-users", map[string]any{"username": "x", "password": "s3cret-pass", "allowed_cidrs": []string{"10.0.0.1/8"}}), 400, "invalid", "allowed_cidrs")
	wantError(t, e.req("POST", "/api/v1/customers/nope/sip-users", map[string]any{"username": "y", "password": "s3cret-pass"}), 404, "not_found", "")

	w := e.req("GET", "/api/v1/customers/"+a+"/sip-users", nil)
	wantStatus(t, w, 200)
	if body := w.Body.String(); strings.Contains(body, "ha1") || strings.Contains(body, "s3cret") || !strings.Contains(body, "pbx1") {
		t.Fatalf("list %s", body)
	}
	docs, _ := e.st.List(t.Context(), store.SIPUsers)
	if strings.Contains(string(docs[0].Data), "s3cret") {
		t.Fatal("password stored")
	}
	// The stored HA1s verify through the digest verifier.
	d := auth.NewDigest(e.st, "")
	if err := d.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	u, _ := store.GetJSON[store.SIPUser](t.Context(), e.st, store.SIPUsers, id)
	if u.HA1MD5 != auth.HA1(auth.AlgMD5, "pbx1", auth.DefaultRealm, "s3cret-pass") || u.HA1SHA256 != auth.HA1(auth.AlgSHA256, "pbx1", auth.DefaultRealm, "s3cret-pass") {
		t.Fatalf("HA1s %+v", u)
	}
	if c := e.req("DELETE", "/api/v1/customers/"+a+"/sip-users/"+id, nil).Code; c != 204 {
		t.Fatalf("delete: %d", c)
	}
}

func TestCustomerHostsAPI(t *testing.T) {
	e := newEnv(t)
	a := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	id := e.create("/api/v1/customers/"+a+"/hosts", map[string]any{"host": "PBX.example.com.", "tech_prefix": "12#"})
	wantError(t, e.req("POST", "/api/v1/customers/"+a+"/hosts", map[string]any{"host": "pbx.example.com", "tech_prefix": "12#"}), 409, "conflict", "host")
	wantError(t, e.req("POST", "/api/v1/customers/"+a+"/hosts", map[string]any{"host": "192.0.2.1"}), 400, "invalid", "host")
	w := e.req("GET", "/api/v1/customers/"+a+"/hosts", nil)
	if !strings.Contains(w.Body.String(), `"pbx.example.com"`) {
		t.Fatalf("list %s", w.Body)
	}
	if c := e.req("DELETE", "/api/v1/customers/"+a+"/hosts/"+id, nil).Code; c != 204 {
		t.Fatalf("delete: %d", c)
	}
}

func sha(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// A password change revokes the user's other tokens (not the one that
// made it); an admin's password reset or two-factor reset revokes all of
// them; confirming two-factor revokes the tokens issued on the password
// alone.
func TestCredentialChangesRevokeTokens(t *testing.T) {
	e := newEnv(t, cheapArgon)
	id := e.newUser("erin", "read-only", "")
	mine, other := e.tokenFor("erin"), e.tokenFor("erin")
	if c := e.as(mine, "PUT", "/api/v1/me/password", map[string]any{"old_password": "long enough pw", "new_password": "a new long password"}); c != 204 {
		t.Fatalf("change: %d", c)
	}
	if c := e.as(other, "GET", "/api/v1/me", nil); c != 401 {
		t.Fatalf("another token of the user after a password change: %d, want 401", c)
	}
	if c := e.as(mine, "GET", "/api/v1/me", nil); c != 200 {
		t.Fatalf("the token that changed the password: %d, want 200", c)
	}

	// An admin sets a new password: every token of the user goes.
	if c := e.req("PUT", "/api/v1/users/"+id, map[string]any{"password": "set by the admin"}).Code; c != 200 {
		t.Fatalf("admin reset: %d", c)
	}
	if c := e.as(mine, "GET", "/api/v1/me", nil); c != 401 {
		t.Fatalf("the user's token after an admin's password reset: %d, want 401", c)
	}

	// Two-factor confirmed: the password-only tokens go, the caller's stays.
	c, v := e.login(map[string]any{"username": "erin", "password": "set by the admin"})
	if c != 201 {
		t.Fatalf("login: %d", c)
	}
	tok := v["token"].(string)
	_, v = e.login(map[string]any{"username": "erin", "password": "set by the admin"})
	stale := v["token"].(string)
	w := e.send("POST", "/api/v1/me/totp", nil, "Bearer "+tok, "")
	var setup struct{ Secret string }
	decode(t, w, &setup)
	code, _ := auth.TOTPCode(setup.Secret, time.Now())
	if c := e.as(tok, "POST", "/api/v1/me/totp/confirm", map[string]any{"code": code}); c != 200 {
		t.Fatalf("confirm: %d", c)
	}
	if c := e.as(stale, "GET", "/api/v1/me", nil); c != 401 {
		t.Fatalf("a password-only token after two-factor was enabled: %d, want 401", c)
	}
	if c := e.as(tok, "GET", "/api/v1/me", nil); c != 200 {
		t.Fatalf("the token that enabled two-factor: %d, want 200", c)
	}
	// The admin resets two-factor: all tokens go.
	if c := e.req("PUT", "/api/v1/users/"+id, map[string]any{"reset_totp": true}).Code; c != 200 {
		t.Fatalf("reset_totp: %d", c)
	}
	if c := e.as(tok, "GET", "/api/v1/me", nil); c != 401 {
		t.Fatalf("the user's token after a two-factor reset: %d, want 401", c)
	}
}

// PUT /users/{id} changes only the fields sent: {} demotes nobody.
func TestPutUserPartial(t *testing.T) {
	e := newEnv(t, cheapArgon)
	cust := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	admin1 := e.newUser("root2", "admin", "")
	portal := e.newUser("portal", "customer", cust)
	get := func(id string) map[string]any {
		t.Helper()
		var v map[string]any
		decode(t, e.req("GET", "/api/v1/users/"+id, nil), &v)
		return v
	}
	for _, body := range []map[string]any{{}, {"username": "root2"}} {
		if c := e.req("PUT", "/api/v1/users/"+admin1, body).Code; c != 200 {
			t.Fatalf("PUT %v: %d", body, c)
		}
		if u := get(admin1); u["role"] != "admin" {
			t.Fatalf("PUT %v made the admin %v", body, u["role"])
		}
	}
	if c := e.req("PUT", "/api/v1/users/"+portal, map[string]any{}).Code; c != 200 {
		t.Fatal(c)
	}
	if u := get(portal); u["role"] != "customer" || u["customer_id"] != cust {
		t.Fatalf("PUT {} changed a customer user: %v", u)
	}
	// Leaving the customer role leaves the customer; joining it needs one.
	if c := e.req("PUT", "/api/v1/users/"+portal, map[string]any{"role": "read-only"}).Code; c != 200 {
		t.Fatal(c)
	}
	if u := get(portal); u["role"] != "read-only" || u["customer_id"] != nil {
		t.Fatalf("role read-only: %v", u)
	}
	wantError(t, e.req("PUT", "/api/v1/users/"+portal, map[string]any{"role": "customer"}), 400, "invalid", "customer_id")
	wantError(t, e.req("PUT", "/api/v1/users/"+portal, map[string]any{"role": "owner"}), 400, "invalid", "role")
}
