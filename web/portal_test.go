package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/web"
)

// api sends method path with a JSON body to the panel's API as secret and
// returns the decoded answer; it fails the test unless the status is want.
func api(t *testing.T, srv *httptest.Server, secret, method, path, body string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+secret)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("%s %s = %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	var v map[string]any
	json.Unmarshal(b, &v)
	return v
}

// asHost is a browser that asks srv for pages of host (its Host header),
// keeping cookies in jar.
func asHost(srv *httptest.Server, host string, jar http.CookieJar) *http.Client {
	return &http.Client{Jar: jar, Transport: hostTransport{host}}
}

type hostTransport struct{ host string }

func (h hostTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Host = h.host
	return http.DefaultTransport.RoundTrip(r)
}

// portalSignIn signs c in as username and returns the page it lands on.
func portalSignIn(t *testing.T, c *http.Client, base, username string) (int, string) {
	t.Helper()
	_, csrf, _ := get(t, c, base, "/login")
	res, err := c.PostForm(base+"/login", url.Values{"csrf": {csrf}, "username": {username}, "password": {"a long password"}})
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, readAll(res)
}

// Requests are served by their Host: a portal domain serves the customer
// portal, branded, to customers' users only; a panel domain and the
// switch's address serve the panel; any other name gets nothing. A
// customer's user sees its balance and payments, its rates (searched and
// downloaded), its access and CDRs, and nothing of the operator's. A
// session made on one host is not one on another.
func TestPortalByDomain(t *testing.T) {
	srv, secret := panel(t)
	cust := api(t, srv, secret, "GET", "/api/v1/customers", "", 200)["customers"].([]any)[0].(map[string]any)["id"].(string)
	api(t, srv, secret, "POST", "/api/v1/domains", `{"host":"portal.example.test","area":"portal","brand":"Acme Voice","colour":"#aa3300"}`, 201)
	api(t, srv, secret, "POST", "/api/v1/domains", `{"host":"panel.example.test","area":"panel"}`, 201)
	carrier := api(t, srv, secret, "POST", "/api/v1/carriers", `{"name":"Carrier X","currency":"EUR"}`, 201)["id"].(string)
	buy := api(t, srv, secret, "POST", "/api/v1/ratecards", `{"name":"Buy X","kind":"provider","carrier_id":"`+carrier+`"}`, 201)["id"].(string)
	sell := api(t, srv, secret, "POST", "/api/v1/ratecards", `{"name":"Retail","kind":"customer","currency":"EUR","provider_cards":["`+buy+`"]}`, 201)["id"].(string)
	api(t, srv, secret, "PUT", "/api/v1/ratecards/"+buy+"/rates", `[{"prefix":"4420","rate":"0.0011"}]`, 200)
	api(t, srv, secret, "PUT", "/api/v1/ratecards/"+sell+"/rates", `[{"prefix":"4420","description":"UK London","rate":"0.0123"},{"prefix":"33","description":"France","rate":"0.0456"}]`, 200)
	api(t, srv, secret, "POST", "/api/v1/customers/"+cust+"/routes", `{"prefix":"","card_id":"`+sell+`"}`, 201)
	api(t, srv, secret, "POST", "/api/v1/customers/"+cust+"/ips", `{"cidr":"192.0.2.77"}`, 201)
	api(t, srv, secret, "POST", "/api/v1/customers/"+cust+"/payments", `{"total":"25.00","status":"completed","description":"wire 42"}`, 201)
	api(t, srv, secret, "POST", "/api/v1/users", `{"username":"acme","password":"a long password","role":"customer","customer_id":"`+cust+`"}`, 201)

	jar, _ := cookiejar.New(nil)
	portal, panel, stranger := asHost(srv, "portal.example.test", jar), asHost(srv, "panel.example.test:443", jar), asHost(srv, "evil.example.test", nil)
	if body, _, res := get(t, stranger, srv.URL, "/login"); res.StatusCode != 404 || strings.Contains(body, "<form") {
		t.Fatalf("an unknown host: %d %s", res.StatusCode, body)
	}
	if _, _, res := get(t, stranger, srv.URL, "/healthz"); res.StatusCode != 200 {
		t.Fatalf("the API on an unknown host: %d", res.StatusCode)
	}
	for _, c := range []*http.Client{browser(t), panel} {
		if body, _, _ := get(t, c, srv.URL, "/login"); !strings.Contains(body, "Sign in to Trunkline") {
			t.Fatalf("the panel's sign-in: %s", body)
		}
	}
	login, _, _ := get(t, portal, srv.URL, "/login")
	if !strings.Contains(login, "Sign in to Acme Voice") {
		t.Fatalf("the portal's sign-in: %s", login)
	}
	if css, _, _ := get(t, portal, srv.URL, "/static/brand.css"); !strings.Contains(css, "#aa3300") {
		t.Fatalf("brand.css: %q", css)
	}
	if code, body := portalSignIn(t, portal, srv.URL, "ops"); code != http.StatusForbidden || !strings.Contains(body, "for customers") {
		t.Fatalf("an operator on the portal: %d %s", code, body)
	}

	code, home := portalSignIn(t, portal, srv.URL, "acme")
	if code != 200 || !strings.Contains(home, "Balance <strong>25.00</strong>") || !strings.Contains(home, "wire 42") || !strings.Contains(home, "Acme Voice") {
		t.Fatalf("the portal's home: %d %s", code, home)
	}
	rates, _, _ := get(t, portal, srv.URL, "/rates?prefix=44")
	if !strings.Contains(rates, "UK London") || !strings.Contains(rates, "0.012300") || strings.Contains(rates, "France") {
		t.Fatalf("rates starting 44: %s", rates)
	}
	csv, _, res := get(t, portal, srv.URL, "/rates.csv")
	if res.StatusCode != 200 || !strings.HasPrefix(csv, "prefix,description,rate") || !strings.Contains(csv, "France") || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/csv") {
		t.Fatalf("rates CSV: %d %q", res.StatusCode, csv)
	}
	if access, _, _ := get(t, portal, srv.URL, "/access"); !strings.Contains(access, "192.0.2.77") {
		t.Fatalf("access: %s", access)
	}
	for _, path := range []string{"/", "/rates", "/rates.csv", "/cdrs", "/calls", "/access", "/account"} {
		body, _, res := get(t, portal, srv.URL, path)
		if res.StatusCode != 200 || strings.Contains(body, "Carrier X") || strings.Contains(body, "Buy X") || strings.Contains(body, "0.001100") {
			t.Fatalf("%s on the portal: %d, shows the operator's side: %s", path, res.StatusCode, body)
		}
	}
	for _, path := range []string{"/customers", "/carriers", "/ratecards", "/audit", "/quickstart"} {
		if _, _, res := get(t, portal, srv.URL, path); res.StatusCode != 404 {
			t.Fatalf("%s on the portal: %d, want 404", path, res.StatusCode)
		}
	}
	// The customer chooses its CDR columns: among a customer's only.
	_, csrf, _ := get(t, portal, srv.URL, "/cdrs")
	noFollow := *portal
	noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if res, err := noFollow.PostForm(srv.URL+"/cdrs/columns", url.Values{"csrf": {csrf}, "field": {"setup_time", "callee", "duration"}}); err != nil || res.StatusCode != http.StatusSeeOther {
		t.Fatalf("choosing columns: %v %v", res.Status, err)
	}
	cdrs, _, _ := get(t, portal, srv.URL, "/cdrs")
	if !strings.Contains(cdrs, `value="callee" checked`) || strings.Contains(cdrs, `value="sip_code" checked`) || strings.Contains(cdrs, `value="buy_cost"`) {
		t.Fatalf("the CDR page's columns after choosing: %s", cdrs)
	}
	if res, _ := noFollow.PostForm(srv.URL+"/cdrs/columns", url.Values{"csrf": {csrf}, "field": {"margin"}}); res.StatusCode == http.StatusSeeOther {
		t.Fatal("a customer chose an operator column")
	}
	// The portal's session cookie, sent to the panel's host, is no session
	// there.
	if body, _, _ := get(t, panel, srv.URL, "/account"); !strings.Contains(body, `action="/login"`) {
		t.Fatalf("the portal's session on the panel's host: %s", body)
	}
}

// When the domains cannot be read, the switch's own addresses and name
// still reach the panel; other names get 503, not a guess.
func TestDomainsUnreadable(t *testing.T) {
	h := web.New(http.NotFoundHandler(), nil, web.WithPanelHost("switch.example.test"),
		web.WithDomains(func(context.Context) (map[string]store.Domain, error) { return nil, errors.New("store down") })).Handler()
	for host, want := range map[string]int{"127.0.0.1:8080": 200, "[::1]:8080": 200, "localhost": 200, "switch.example.test": 200, "portal.example.test": 503} {
		r := httptest.NewRequest("GET", "/login", nil)
		r.Host = host
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != want {
			t.Errorf("host %s: %d, want %d", host, w.Code, want)
		}
	}
}

// Getting started by hand, form by form: a carrier and its endpoint, its
// provider card and deck, a customer card marked up on it, a customer, its
// address and route. The customer then lacks nothing; a bad form shows
// the API's reason and keeps what was typed.
func TestPanelGettingStartedByHand(t *testing.T) {
	srv, _ := panel(t)
	c := browser(t)
	csrf := signIn(t, c, srv.URL, "a long password")
	post := func(path string, form url.Values) (string, string) {
		t.Helper()
		form.Set("csrf", csrf)
		res, err := c.PostForm(srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		return readAll(res), res.Request.URL.Path
	}
	page, at := post("/carriers", url.Values{"name": {"Hand Carrier"}, "currency": {"eur"}})
	if !strings.HasPrefix(at, "/carriers/") || !strings.Contains(page, "Hand Carrier") {
		t.Fatalf("adding a carrier: at %s\n%s", at, page)
	}
	carrier := strings.TrimPrefix(at, "/carriers/")
	if page, _ := post("/carriers/"+carrier+"/endpoints", url.Values{"host": {"192.0.2.50"}, "port": {"5060"}, "transport": {"udp"}}); !strings.Contains(page, "udp:192.0.2.50:5060") {
		t.Fatalf("adding an endpoint: %s", page)
	}
	page, at = post("/ratecards", url.Values{"name": {"Hand Buy"}, "kind": {"provider"}, "carrier_id": {carrier}})
	buy := strings.TrimSuffix(strings.TrimPrefix(at, "/ratecards/"), "/rates")
	if !strings.HasSuffix(at, "/rates") {
		t.Fatalf("adding a provider card: at %s\n%s", at, page)
	}
	if page, _ := post("/ratecards/"+buy+"/rates", url.Values{"deck": {"prefix,rate\n44,0.0100\n"}, "action": {"check"}}); !strings.Contains(page, "1 rows, no problem") || !strings.Contains(page, `<table class="diff">`) {
		t.Fatalf("checking the deck: %s", page)
	}
	sum := regexp.MustCompile(`name="checked" value="([0-9a-f]+)"`)
	page, _ = post("/ratecards/"+buy+"/rates", url.Values{"deck": {"prefix,rate\n44,0.0100\n"}, "action": {"check"}})
	if page, _ := post("/ratecards/"+buy+"/rates", url.Values{"deck": {"prefix,rate\n44,0.0100\n"}, "action": {"apply"}, "checked": {sum.FindStringSubmatch(page)[1]}}); !strings.Contains(page, "Applied") {
		t.Fatalf("applying the deck: %s", page)
	}
	_, at = post("/ratecards", url.Values{"name": {"Hand Sell"}, "kind": {"customer"}, "currency": {"EUR"}, "provider_cards": {buy}, "markup": {"25"}})
	sell := strings.TrimSuffix(strings.TrimPrefix(at, "/ratecards/"), "/rates")
	// A customer with a currency that is not one: the reason, what was typed.
	if page, _ := post("/customers", url.Values{"name": {"Hand Customer"}, "currency": {"XYZ"}}); !strings.Contains(page, "currency") || !strings.Contains(page, `value="Hand Customer"`) {
		t.Fatalf("a bad customer: %s", page)
	}
	page, at = post("/customers", url.Values{"name": {"Hand Customer"}, "currency": {"EUR"}})
	customer := strings.TrimPrefix(at, "/customers/")
	if !strings.Contains(page, "no ingress route") {
		t.Fatalf("a new customer's page: %s", page)
	}
	post("/customers/"+customer+"/ips", url.Values{"cidr": {"192.0.2.60"}})
	// The portal's domain, from the panel.
	if page, _ := post("/domains", url.Values{"host": {"Portal.Example.Test"}, "area": {"portal"}, "brand": {"Hand Voice"}}); !strings.Contains(page, "portal.example.test CNAME") {
		t.Fatalf("adding a domain: %s", page)
	}
	if page, _ := post("/domains", url.Values{"host": {"192.0.2.1"}, "area": {"portal"}}); !strings.Contains(page, "not an address") {
		t.Fatalf("a domain that is an address: %s", page)
	}
	page, _ = post("/customers/"+customer+"/routes", url.Values{"prefix": {""}, "card_id": {sell}})
	if strings.Contains(page, `class="warn"`) || !strings.Contains(page, "192.0.2.60") || !strings.Contains(page, sell) {
		t.Fatalf("the customer once set up:\n%s", page)
	}
}
