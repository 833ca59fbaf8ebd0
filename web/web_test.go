package web_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/web"
)

// panel starts the panel over a real admin API on an embedded store, with
// a user "ops" (password "a long password") and a customer that lacks
// everything.
func panel(t *testing.T) (*httptest.Server, string) {
	t.Helper()
	srv, secret, _ := panelStore(t)
	return srv, secret
}

// panelStore is panel, with its store.
func panelStore(t testing.TB) (*httptest.Server, string, *store.Embedded) {
	t.Helper()
	j, err := cdr.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	return panelOver(t, j)
}

// panelOver is panelStore with CDRs from cdrs.
func panelOver(t testing.TB, cdrs cdr.Source) (*httptest.Server, string, *store.Embedded) {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	api := admin.New(st, admin.WithArgon2(auth.Argon2Params{Memory: 1024, Time: 1, Threads: 1}), admin.WithCDRs(cdrs), admin.WithLiveCalls(noCalls{}), admin.WithCredit(st.Credit()))
	secret, _, err := admin.EnsureToken(context.Background(), st)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.New(api.Handler(), slog.New(slog.DiscardHandler), web.WithDomains(api.Domains)).Handler())
	t.Cleanup(srv.Close)
	for path, body := range map[string]string{
		"/api/v1/users":     `{"username":"ops","password":"a long password","role":"admin"}`,
		"/api/v1/customers": `{"name":"Lacking Ltd","currency":"EUR"}`,
	} {
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+secret)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil || res.StatusCode != 201 {
			t.Fatalf("POST %s: %v %v", path, res.Status, err)
		}
		res.Body.Close()
	}
	return srv, secret, st
}

func browser(t *testing.T) *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Jar: jar}
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// get fetches path and returns the body and the page's CSRF token.
func get(t *testing.T, c *http.Client, base, path string) (string, string, *http.Response) {
	t.Helper()
	res, err := c.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	m := csrfRE.FindStringSubmatch(string(b))
	if m == nil {
		return string(b), "", res
	}
	return string(b), m[1], res
}

// Signing in goes through the API's login and keeps its token in an
// HttpOnly, SameSite=Strict session; pages carry a strict CSP; the
// customers page shows each customer's warnings; a form posted without
// the page's CSRF token (or from another origin) is refused; signing out
// revokes the token.
func TestPanelSignInAndSession(t *testing.T) {
	srv, _ := panel(t)
	c := browser(t)
	body, csrf, res := get(t, c, srv.URL, "/")
	if !strings.Contains(body, `action="/login"`) || csrf == "" {
		t.Fatalf("/ without a session: %s", body)
	}
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "script-src 'self';") ||
		!strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
		t.Fatalf("CSP %q", csp)
	}
	post := func(path string, form url.Values, origin string) *http.Response {
		t.Helper()
		req, _ := http.NewRequest("POST", srv.URL+path, strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		res, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res
	}
	// A forged sign-in (no token) and a wrong password.
	if res := post("/login", url.Values{"username": {"ops"}, "password": {"a long password"}}, ""); res.StatusCode != 403 {
		t.Fatalf("sign-in without the CSRF token: %d", res.StatusCode)
	}
	if res := post("/login", url.Values{"csrf": {csrf}, "username": {"ops"}, "password": {"wrong"}}, ""); res.StatusCode != 401 {
		t.Fatalf("a wrong password: %d", res.StatusCode)
	}
	_, csrf, _ = get(t, c, srv.URL, "/login")
	var sessionCookie *http.Cookie
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		for _, ck := range req.Response.Cookies() {
			if ck.Name == "tl_session" && ck.Value != "" {
				sessionCookie = ck
			}
		}
		return nil
	}
	if res := post("/login", url.Values{"csrf": {csrf}, "username": {"ops"}, "password": {"a long password"}}, srv.URL); res.StatusCode != 200 {
		t.Fatalf("sign-in: %d", res.StatusCode)
	}
	if sessionCookie == nil || !sessionCookie.HttpOnly || sessionCookie.SameSite != http.SameSiteStrictMode {
		t.Fatalf("session cookie %+v", sessionCookie)
	}
	page, csrf, _ := get(t, c, srv.URL, "/customers")
	if !strings.Contains(page, "Lacking Ltd") || !strings.Contains(page, "no ingress route") || !strings.Contains(page, "⚠") {
		t.Fatalf("customers page: %s", page)
	}
	if dash, _, _ := get(t, c, srv.URL, "/"); !strings.Contains(dash, "Lacking Ltd") || !strings.Contains(dash, "no way to recognise its calls") {
		t.Fatalf("dashboard: %s", dash)
	}
	// Forged sign-outs: no token, and a token from another origin.
	if res := post("/logout", url.Values{}, ""); res.StatusCode != 403 {
		t.Fatalf("sign-out without the CSRF token: %d", res.StatusCode)
	}
	if res := post("/logout", url.Values{"csrf": {csrf}}, "https://evil.example"); res.StatusCode != 403 {
		t.Fatalf("sign-out from another origin: %d", res.StatusCode)
	}
	if res := post("/logout", url.Values{"csrf": {csrf}}, ""); res.StatusCode != 200 {
		t.Fatalf("sign-out: %d", res.StatusCode)
	}
	if body, _, _ := get(t, c, srv.URL, "/customers"); strings.Contains(body, "Lacking Ltd") {
		t.Fatal("the customers page after signing out")
	}
	// The API stays where it was.
	if res, err := http.Get(srv.URL + "/healthz"); err != nil || res.StatusCode != 200 {
		t.Fatalf("/healthz through the panel's listener: %v", err)
	}
}

// signIn signs c in as ops and returns a page's CSRF token.
func signIn(t *testing.T, c *http.Client, base, password string) string {
	t.Helper()
	_, csrf, _ := get(t, c, base, "/login")
	res, err := c.PostForm(base+"/login", url.Values{"csrf": {csrf}, "username": {"ops"}, "password": {password}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	body, csrf, _ := get(t, c, base, "/account")
	if !strings.Contains(body, "My account") {
		t.Fatalf("not signed in: %s", body)
	}
	return csrf
}

// The operations pages answer from the API: carriers, live calls, CDRs
// (and their CSV), the audit log, and my account: a password change, and
// two-factor set-up with a QR code image made by the switch and a code
// from the app.
func TestPanelPages(t *testing.T) {
	srv, token := panel(t)
	c := browser(t)
	csrf := signIn(t, c, srv.URL, "a long password")
	for path, want := range map[string]string{
		"/carriers": "No carriers yet",
		"/calls":    "No call in progress",
		"/cdrs":     "No CDR matches",
		"/audit":    "POST /api/v1/customers",
		"/users":    "API tokens",
		"/exports":  "No export yet",
		"/simulate": "Simulate a call",
		"/alerts":   "Lacking Ltd",
		"/help":     `id="customers"`,
	} {
		if body, _, res := get(t, c, srv.URL, path); res.StatusCode != 200 || !strings.Contains(body, want) {
			t.Errorf("%s: %d, no %q:\n%s", path, res.StatusCode, want, body)
		}
	}
	if alerts, _, _ := get(t, c, srv.URL, "/alerts"); !strings.Contains(alerts, "Users without two-factor") || !strings.Contains(alerts, "<li><span class=\"warn\">⚠</span> ops</li>") {
		t.Errorf("alerts: no user without two-factor listed:\n%s", alerts)
	}
	page, _, _ := get(t, c, srv.URL, "/customers")
	if !strings.Contains(page, `href="/help#customers"`) || !strings.Contains(page, `href="/alerts"`) {
		t.Errorf("the customers page has no help link or alerts icon")
	}
	if m := regexp.MustCompile(`href="(/customers/[^"/]+)"`).FindStringSubmatch(page); m == nil {
		t.Errorf("the customers page links no customer:\n%s", page)
	} else if one, _, _ := get(t, c, srv.URL, m[1]); !strings.Contains(one, "media relay auto (when behind NAT)") {
		t.Errorf("%s does not say how its media is relayed:\n%s", m[1], one)
	}
	res, err := c.Get(srv.URL + "/cdrs.csv?customer=x")
	if err != nil || res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("CDR CSV: %v %v", res.Status, err)
	}
	res.Body.Close()

	post := func(path string, form url.Values) string {
		t.Helper()
		form.Set("csrf", csrf)
		res, err := c.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return string(b)
	}
	// Users and tokens: a user added from the page; a token revoked.
	if page := post("/users", url.Values{"username": {"viewer"}, "password": {"a long password"}, "role": {"read-only"}}); !strings.Contains(page, "User viewer added") || !strings.Contains(page, "<td>viewer</td>") {
		t.Fatalf("adding a user: %s", page)
	}
	if page := post("/users", url.Values{"username": {"x"}, "password": {"short"}, "role": {"read-only"}}); !strings.Contains(page, "password") || !strings.Contains(page, `class="problem"`) {
		t.Fatalf("a user with a short password: %s", page)
	}
	api(t, srv, token, "POST", "/api/v1/tokens", `{"name":"ci robot"}`, 201)
	users, _, _ := get(t, c, srv.URL, "/users")
	m := regexp.MustCompile(`<td>ci robot</td>.*?action="/tokens/([^/"]+)/revoke"`).FindStringSubmatch(strings.ReplaceAll(users, "\n", " "))
	if m == nil {
		t.Fatalf("the token on the users page: %s", users)
	}
	post("/tokens/"+m[1]+"/revoke", url.Values{})
	if users, _, _ := get(t, c, srv.URL, "/users"); strings.Contains(users, "ci robot") {
		t.Fatal("a revoked token still listed")
	}
	// Profile: saved when well formed, refused with the reason when not.
	if page := post("/account/profile", url.Values{"email": {"noc@example.com"}, "mobile": {"+447700900123"}, "timezone": {"Europe/Paris"}}); !strings.Contains(page, "Profile saved") || !strings.Contains(page, `447700900123"`) || !strings.Contains(page, `value="Europe/Paris"`) {
		t.Fatalf("saving a profile: %s", page)
	}
	if page := post("/account/profile", url.Values{"mobile": {"07700 900123"}}); !strings.Contains(page, "E.164") {
		t.Fatalf("a mobile number not E.164: %s", page)
	}
	// Choosing CDR columns is a customer's own.
	if res, _ := c.PostForm(srv.URL+"/cdrs/columns", url.Values{"csrf": {csrf}, "field": {"callee"}}); res.StatusCode != http.StatusForbidden {
		t.Errorf("an operator choosing a customer's columns: %d", res.StatusCode)
	}
	// Simulate without a simulator: the API's reason.
	if page, _, _ := get(t, c, srv.URL, "/simulate?customer=x&number=44"); !strings.Contains(page, `class="problem"`) {
		t.Fatalf("simulate: %s", page)
	}

	// Two-factor: set up, the QR code image, a wrong code, the right one.
	page = post("/account/totp", url.Values{})
	secret := regexp.MustCompile(`<code class="totp-secret">([A-Z2-7]+)</code>`).FindStringSubmatch(page)
	if !strings.Contains(page, `src="data:image/png;base64,`) || secret == nil {
		t.Fatalf("two-factor set-up page: %s", page)
	}
	if page := post("/account/totp/confirm", url.Values{"code": {"000000"}}); !strings.Contains(page, "not the app") {
		t.Fatalf("a wrong code: %s", page)
	}
	code, _ := auth.TOTPCode(secret[1], time.Now())
	if page := post("/account/totp/confirm", url.Values{"code": {code}}); !strings.Contains(page, "Two-factor is on") || !strings.Contains(page, "<code>") {
		t.Fatalf("the right code: %s", page)
	}
	// Password: changed, and this session goes on.
	if page := post("/account/password", url.Values{"old_password": {"a long password"}, "new_password": {"another long password"}}); !strings.Contains(page, "Password changed") {
		t.Fatalf("password change: %s", page)
	}
	if body, _, _ := get(t, c, srv.URL, "/customers"); !strings.Contains(body, "Lacking Ltd") {
		t.Fatal("the session ended with the password change")
	}
}

// noCalls is a switch with no call in progress.
type noCalls struct{}

func (noCalls) Calls(context.Context, cdr.CallFilter) ([]cdr.ActiveCall, int, error) {
	return nil, 0, nil
}
func (noCalls) Hangup(context.Context, string) (bool, error) { return false, nil }

// A customer's user sees its own calls and CDRs, no operator page, and no
// buy-side column.
func TestPanelCustomerUser(t *testing.T) {
	srv, secret := panel(t)
	var cust struct{ Customers []struct{ ID string } }
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/customers", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, res, &cust)
	body := `{"username":"portal","password":"a long password","role":"customer","customer_id":"` + cust.Customers[0].ID + `"}`
	req, _ = http.NewRequest("POST", srv.URL+"/api/v1/users", strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 201 {
		t.Fatalf("customer user: %v %v", res.Status, err)
	}
	c := browser(t)
	_, csrf, _ := get(t, c, srv.URL, "/login")
	res, err = c.PostForm(srv.URL+"/login", url.Values{"csrf": {csrf}, "username": {"portal"}, "password": {"a long password"}})
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(page), "<h1>CDRs ") || strings.Contains(string(page), `href="/customers"`) || strings.Contains(string(page), `href="/audit"`) {
		t.Fatalf("a customer user's first page:\n%s", page)
	}
	for _, path := range []string{"/customers", "/quickstart", "/ratecards/x/rates"} {
		if _, _, res := get(t, c, srv.URL, path); res.StatusCode != http.StatusForbidden {
			t.Fatalf("a customer user on %s: %d", path, res.StatusCode)
		}
	}
}

func decodeJSON(t *testing.T, res *http.Response, v any) {
	t.Helper()
	defer res.Body.Close()
	if err := json.NewDecoder(res.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}

// The quickstart form makes the set through the API; a broken rate shows
// the API's reason and keeps what was typed.
func TestPanelQuickstart(t *testing.T) {
	srv, _ := panel(t)
	c := browser(t)
	csrf := signIn(t, c, srv.URL, "a long password")
	form := url.Values{"csrf": {csrf}, "carrier_name": {"First Carrier"}, "carrier_host": {"127.0.0.1"}, "carrier_port": {"5070"},
		"currency": {"USD"}, "rates": {"prefix,rate\n44,ten\n"}, "customer_name": {"Panel Customer"}, "markup": {"20"}, "ip": {"127.0.0.9"}, "make": {"1"}}
	res, err := c.PostForm(srv.URL+"/quickstart", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 400 || !strings.Contains(string(b), "rates_csv") || !strings.Contains(string(b), "Panel Customer") {
		t.Fatalf("a quickstart with a bad rate: %d\n%s", res.StatusCode, b)
	}
	// A step of the wizard carries the others' fields.
	step := url.Values{"csrf": {csrf}, "step": {"2"}, "carrier_name": {"Wizard Carrier"}, "currency": {"EUR"}}
	res, err = c.PostForm(srv.URL+"/quickstart", step)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "Step 2") || !strings.Contains(string(b), `type="hidden" name="carrier_name" value="Wizard Carrier"`) || !strings.Contains(string(b), `<textarea name="rates"`) {
		t.Fatalf("the wizard's second step:\n%s", b)
	}
	// The SIP password is typed on the last step and never sent back.
	step = url.Values{"csrf": {csrf}, "step": {"4"}, "sip_user": {"pbx1"}, "sip_password": {"S3cretSIPpass!"}}
	res, err = c.PostForm(srv.URL+"/quickstart", step)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if strings.Contains(string(b), "S3cretSIPpass") || !strings.Contains(string(b), `name="sip_password" type="password"`) {
		t.Fatalf("the wizard's last step and the SIP password:\n%s", b)
	}
	form.Set("rates", "prefix,rate\n44,0.0100\n")
	res, err = c.PostForm(srv.URL+"/quickstart", form)
	if err != nil {
		t.Fatal(err)
	}
	b, _ = io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "Made: customer") {
		t.Fatalf("the quickstart: %d\n%s", res.StatusCode, b)
	}
	if page, _, _ := get(t, c, srv.URL, "/customers"); !strings.Contains(page, "Panel Customer") {
		t.Fatal("the quickstart's customer is not listed")
	}
}

// A deck through the panel: checked first (a bad line reported by line,
// nothing stored), then a good one checked (its diff) and applied.
func TestPanelRatesUpload(t *testing.T) {
	srv, secret := panel(t)
	req, _ := http.NewRequest("POST", srv.URL+"/api/v1/carriers", strings.NewReader(`{"name":"K","currency":"EUR"}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	var k struct{ ID string }
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, res, &k)
	req, _ = http.NewRequest("POST", srv.URL+"/api/v1/ratecards", strings.NewReader(`{"name":"K buy","kind":"provider","carrier_id":"`+k.ID+`","currency":"EUR"}`))
	req.Header.Set("Authorization", "Bearer "+secret)
	req.Header.Set("Content-Type", "application/json")
	var card struct{ ID string }
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	decodeJSON(t, res, &card)

	c := browser(t)
	csrf := signIn(t, c, srv.URL, "a long password")
	if page, _, _ := get(t, c, srv.URL, "/ratecards"); !strings.Contains(page, "K buy") {
		t.Fatalf("rate cards page: %s", page)
	}
	if page, _, _ := get(t, c, srv.URL, "/carriers/"+k.ID); !strings.Contains(page, "No endpoint") || !strings.Contains(page, "K buy") {
		t.Fatalf("the carrier's page: %s", page)
	}
	checked := ""
	up := func(deck, action string) (int, string) {
		res, err := c.PostForm(srv.URL+"/ratecards/"+card.ID+"/rates", url.Values{"csrf": {csrf}, "deck": {deck}, "action": {action}, "checked": {checked}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		return res.StatusCode, string(b)
	}
	if code, page := up("prefix,rate\n44,0.01\n33,cheap\n", "check"); code != 400 || !strings.Contains(page, "<td>3</td>") || !strings.Contains(page, "cheap") {
		t.Fatalf("a bad deck checked: %d\n%s", code, page)
	}
	code, page := up("prefix,rate\n44,0.01\n33,0.02\n", "check")
	if code != 200 || !strings.Contains(page, "2 rows, no problem") || !strings.Contains(page, `value="apply"`) {
		t.Fatalf("a good deck checked: %d\n%s", code, page)
	}
	checked = regexp.MustCompile(`name="checked" value="([0-9a-f]+)"`).FindStringSubmatch(page)[1]
	// Edited after the check: not applied.
	if code, _ := up("prefix,rate\n44,0.01\n33,0.00\n", "apply"); code != http.StatusConflict {
		t.Fatalf("a deck edited after its check, applied: %d", code)
	}
	var rates struct{ Rates []any }
	req, _ = http.NewRequest("GET", srv.URL+"/api/v1/ratecards/"+card.ID+"/rates", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, _ = http.DefaultClient.Do(req)
	decodeJSON(t, res, &rates)
	if len(rates.Rates) != 0 {
		t.Fatalf("a checked deck was stored: %v", rates.Rates)
	}
	if code, page := up("prefix,rate\n44,0.01\n33,0.02\n", "apply"); code != 200 || !strings.Contains(page, "Applied: revision") {
		t.Fatalf("the deck applied: %d\n%s", code, page)
	}
	res, _ = http.DefaultClient.Do(req)
	decodeJSON(t, res, &rates)
	if len(rates.Rates) != 2 {
		t.Fatalf("after applying: %v", rates.Rates)
	}
}

// A customer's page: its warnings and balance; a payment recorded once
// even when the form is sent twice, its entry in the ledger.
func TestPanelPayment(t *testing.T) {
	srv, _ := panel(t)
	c := browser(t)
	signIn(t, c, srv.URL, "a long password")
	list, _, _ := get(t, c, srv.URL, "/customers")
	id := regexp.MustCompile(`href="/customers/([0-9a-f]+)"`).FindStringSubmatch(list)
	if id == nil {
		t.Fatalf("no customer link: %s", list)
	}
	page, csrf, _ := get(t, c, srv.URL, "/customers/"+id[1])
	key := regexp.MustCompile(`name="payment_key" value="([^"]+)"`).FindStringSubmatch(page)
	if !strings.Contains(page, "no ingress route") || key == nil {
		t.Fatalf("customer page: %s", page)
	}
	for range 2 { // the same form sent twice
		res, err := c.PostForm(srv.URL+"/customers/"+id[1]+"/payments", url.Values{"csrf": {csrf}, "payment_key": {key[1]}, "total": {"12.00"}})
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(string(b), "Payment recorded") {
			t.Fatalf("payment: %d\n%s", res.StatusCode, b)
		}
	}
	page, _, _ = get(t, c, srv.URL, "/customers/"+id[1])
	if !strings.Contains(page, "Balance <strong>12.00</strong>") || strings.Count(page, "<td>payment</td>") != 1 {
		t.Fatalf("after the payment:\n%s", page)
	}
}

// The CSV link carries the page's filters; a form over 64 KiB is refused
// before any work; a session whose API token was revoked elsewhere ends
// (back to the sign-in page).
func TestPanelLimitsAndRevocation(t *testing.T) {
	srv, secret := panel(t)
	c := browser(t)
	csrf := signIn(t, c, srv.URL, "a long password")
	page, _, _ := get(t, c, srv.URL, "/cdrs?customer=cu1&number=44")
	link := regexp.MustCompile(`href="(/cdrs\.csv\?[^"]+)"`).FindStringSubmatch(page)
	if link == nil {
		t.Fatalf("no CSV link: %s", page)
	}
	u, err := url.Parse(strings.ReplaceAll(link[1], "&amp;", "&"))
	if err != nil || u.Query().Get("customer") != "cu1" || u.Query().Get("number") != "44" {
		t.Fatalf("the CSV link %q drops the filters", link[1])
	}
	res, err := c.PostForm(srv.URL+"/account/password", url.Values{"csrf": {csrf}, "old_password": {strings.Repeat("x", 70<<10)}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("a 70 KiB form: %d", res.StatusCode)
	}
	// Revoke every token of ops through the API: the panel's session ends.
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/tokens", nil)
	req.Header.Set("Authorization", "Bearer "+secret)
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var toks struct {
		Tokens []struct {
			ID     string
			UserID string `json:"user_id"`
		}
	}
	decodeJSON(t, res, &toks)
	for _, tk := range toks.Tokens {
		if tk.UserID != "" {
			req, _ := http.NewRequest("DELETE", srv.URL+"/api/v1/tokens/"+tk.ID, nil)
			req.Header.Set("Authorization", "Bearer "+secret)
			if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 204 {
				t.Fatalf("revoking: %v %v", res.Status, err)
			}
		}
	}
	if body, _, _ := get(t, c, srv.URL, "/customers"); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("a page after the session's token was revoked:\n%s", body)
	}
}

func readAll(res *http.Response) string {
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return string(b)
}
