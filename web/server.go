package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Form limits: an ordinary form, and one carrying a rate deck.
const (
	maxForm     = 64 << 10
	maxDeckForm = 16 << 20
)

// Server serves the panel at / and hands everything else under /api/,
// /metrics, /healthz and /readyz to the admin API.
type Server struct {
	api       http.Handler
	log       *slog.Logger
	tmpl      *template.Template
	sessions  sessions
	mux       *http.ServeMux // the control panel
	portal    *http.ServeMux // the customer portal
	domains   func(ctx context.Context) (map[string]store.Domain, error)
	panelHost string // the switch's own name: always the panel
}

// New returns the panel over api, the admin API's handler.
func New(api http.Handler, log *slog.Logger, opts ...Option) *Server {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Server{api: api, log: log, mux: http.NewServeMux(), portal: http.NewServeMux(),
		tmpl: template.Must(template.New("").Funcs(template.FuncMap{"join": strings.Join, "unix": unixTime, "unixNum": unixNumber, "has": slices.Contains[[]string], "inc": func(i int) int { return i + 1 }}).ParseFS(templateFS, "templates/*.html"))}
	for _, o := range opts {
		o(s)
	}
	// What both areas serve: assets, signing in and out, a user's own
	// account, calls and CDRs (the API narrows them to a customer's).
	static, _ := fs.Sub(staticFS, "static")
	files := http.StripPrefix("/static/", http.FileServerFS(static)) // no listing
	for _, m := range []*http.ServeMux{s.mux, s.portal} {
		m.Handle("GET /static/panel.css", files)
		m.Handle("GET /static/passkey.js", files)
		m.HandleFunc("GET /static/brand.css", s.brandCSS)
		m.HandleFunc("GET /login", s.loginPage)
		m.HandleFunc("POST /login", s.login)
		m.HandleFunc("POST /login/passkey/options", s.passkeyLoginOptions)
		m.HandleFunc("POST /login/passkey", s.passkeyLogin)
		m.HandleFunc("POST /logout", s.signedIn(s.logout))
		m.HandleFunc("GET /calls", s.signedIn(s.calls))
		m.HandleFunc("POST /calls/{id}/hangup", s.signedIn(s.hangup))
		m.HandleFunc("GET /cdrs", s.signedIn(s.cdrs))
		m.HandleFunc("GET /cdrs.csv", s.signedIn(s.cdrsCSV))
		m.HandleFunc("GET /account", s.signedIn(s.account))
		m.HandleFunc("GET /help", s.signedIn(s.help))
		m.HandleFunc("POST /account/profile", s.signedIn(s.saveProfile))
		m.HandleFunc("POST /cdrs/columns", s.signedIn(customerOnly(s.chooseColumns)))
		m.HandleFunc("POST /account/password", s.signedIn(s.changePassword))
		m.HandleFunc("POST /account/totp", s.signedIn(s.enableTOTP))
		m.HandleFunc("POST /account/totp/confirm", s.signedIn(s.confirmTOTP))
		m.HandleFunc("POST /account", s.signedIn(s.noScript))
		m.HandleFunc("POST /account/passkeys/options", s.signedIn(s.passkeyOptions))
		m.HandleFunc("POST /account/passkeys", s.signedIn(s.addPasskey))
		m.HandleFunc("POST /account/passkeys/{id}/remove", s.signedIn(s.removePasskey))
	}
	s.portal.HandleFunc("GET /{$}", s.signedIn(s.portalHome))
	s.portal.HandleFunc("GET /rates", s.signedIn(s.portalRates))
	s.portal.HandleFunc("GET /rates.csv", s.signedIn(s.portalRatesCSV))
	s.portal.HandleFunc("GET /access", s.signedIn(s.portalAccess))
	s.mux.HandleFunc("GET /{$}", s.signedIn(s.dashboard))
	s.mux.HandleFunc("GET /customers", s.signedIn(s.customers))
	s.mux.HandleFunc("GET /customers/{id}", s.signedIn(s.customerPage))
	s.mux.HandleFunc("POST /customers/{id}/payments", s.signedIn(s.addPayment))
	s.mux.HandleFunc("POST /customers", s.signedIn(operator(s.addCustomer)))
	s.mux.HandleFunc("POST /customers/{id}/ips", s.signedIn(operator(s.customerForm("ips", ipForm))))
	s.mux.HandleFunc("POST /customers/{id}/sip-users", s.signedIn(operator(s.customerForm("sip-users", sipUserForm))))
	s.mux.HandleFunc("POST /customers/{id}/routes", s.signedIn(operator(s.customerForm("routes", routeForm))))
	s.mux.HandleFunc("POST /carriers", s.signedIn(operator(s.addCarrier)))
	s.mux.HandleFunc("POST /carriers/{id}/endpoints", s.signedIn(operator(s.addEndpoint)))
	s.mux.HandleFunc("POST /ratecards", s.signedIn(operator(s.addRateCard)))
	s.mux.HandleFunc("GET /carriers", s.signedIn(s.carriers))
	s.mux.HandleFunc("GET /carriers/{id}", s.signedIn(operator(s.carrierPage)))
	s.mux.HandleFunc("GET /audit", s.signedIn(s.audit))
	s.mux.HandleFunc("GET /simulate", s.signedIn(operator(s.simulate)))
	s.mux.HandleFunc("GET /alerts", s.signedIn(operator(s.alerts)))
	s.mux.HandleFunc("GET /exports", s.signedIn(operator(s.exports)))
	s.mux.HandleFunc("GET /exports/{id}/runs", s.signedIn(operator(s.exportRuns)))
	s.mux.HandleFunc("GET /bans", s.signedIn(operator(s.bans)))
	s.mux.HandleFunc("GET /domains", s.signedIn(operator(s.domainsPage)))
	s.mux.HandleFunc("POST /domains", s.signedIn(operator(s.addDomain)))
	s.mux.HandleFunc("POST /domains/{id}/remove", s.signedIn(operator(s.removeDomain)))
	s.mux.HandleFunc("POST /bans/{ip}/lift", s.signedIn(operator(s.liftBan)))
	s.mux.HandleFunc("GET /users", s.signedIn(operator(s.users)))
	s.mux.HandleFunc("POST /users", s.signedIn(operator(s.addUser)))
	s.mux.HandleFunc("POST /tokens/{id}/revoke", s.signedIn(operator(s.revokeToken)))
	s.mux.HandleFunc("GET /ratecards", s.signedIn(s.rateCards))
	s.mux.HandleFunc("GET /ratecards/{id}/rates", s.signedIn(operator(s.ratesPage)))
	s.mux.HandleFunc("POST /ratecards/{id}/rates", s.signedIn(operator(s.uploadRates)))
	s.mux.HandleFunc("GET /ratecards/{id}/rates.csv", s.signedIn(operator(s.ratesCSV)))
	s.mux.HandleFunc("GET /quickstart", s.signedIn(operator(s.quickstartPage)))
	s.mux.HandleFunc("POST /quickstart", s.signedIn(operator(s.quickstart)))
	return s
}

// Handler serves the panel and the API on one listener.
func (s *Server) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Path
		if strings.HasPrefix(p, "/api/") || p == "/metrics" || p == "/healthz" || p == "/readyz" {
			// One origin with the panel: no sniffing, no framing.
			w.Header().Set("X-Content-Type-Options", "nosniff")
			w.Header().Set("X-Frame-Options", "DENY")
			s.api.ServeHTTP(w, r)
			return
		}
		secure(w)
		d, status := s.domainOf(r)
		switch status {
		case http.StatusNotFound:
			http.Error(w, "unknown host", status)
			return
		case http.StatusServiceUnavailable:
			http.Error(w, "the switch cannot read its domains: try again", status)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), domainKey{}, d))
		// A form is small; a deck may be large, as the API allows.
		limit := int64(maxForm)
		if strings.HasSuffix(p, "/rates") {
			limit = maxDeckForm
		}
		r.Body = http.MaxBytesReader(w, r.Body, limit)
		if r.Method == http.MethodPost {
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
				http.Error(w, "forms are sent urlencoded", http.StatusUnsupportedMediaType)
				return
			}
			if err := r.ParseForm(); err != nil {
				http.Error(w, "the form is too large or malformed", http.StatusRequestEntityTooLarge)
				return
			}
		}
		if d.Area == admin.AreaPortal {
			s.portal.ServeHTTP(w, r)
			return
		}
		s.mux.ServeHTTP(w, r)
	})
}

// secure sets the headers every page gets: a strict CSP (no inline
// script or style, nothing from elsewhere: the one script is the
// panel's own passkey.js), no framing, no sniffing, no
// referrer to other sites, no caching.
func secure(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "+
		"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Frame-Options", "DENY")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin") // no-referrer would make forms send Origin: null
	h.Set("Cache-Control", "no-store")
}

// signedIn serves next to a signed-in browser and sends any other to the
// sign-in page; a POST must carry the session's CSRF token.
func (s *Server) signedIn(next func(http.ResponseWriter, *http.Request, *session)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sess := s.sessions.of(r)
		if sess == nil {
			if r.Method != http.MethodGet {
				http.Error(w, "sign in first", http.StatusForbidden)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && (!sameOrigin(r) || !sameToken(r.PostFormValue("csrf"), sess.csrf)) {
			http.Error(w, "the form's CSRF token does not match: reload the page", http.StatusForbidden)
			return
		}
		// The API token may be gone (expired, revoked by a password
		// change elsewhere, deleted by an admin): then so is the session.
		// The user's role is read afresh.
		var who me
		if status, _ := s.call(r, sess, "GET", "/api/v1/me", nil, &who); status == http.StatusUnauthorized {
			s.sessions.drop(sess.id)
			setCookie(w, r, sessionCookie, "", -1)
			if r.Method != http.MethodGet {
				http.Error(w, "your session ended: sign in again", http.StatusForbidden)
				return
			}
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		} else if status == http.StatusOK {
			sess.setRole(who.Role, who.CustomerID)
		}
		next(w, r, sess)
	}
}

// sameOrigin refuses a POST whose Origin (or, without one, Referer) names
// another site; one with neither passes (the CSRF token still guards it).
func sameOrigin(r *http.Request) bool {
	src := r.Header.Get("Origin")
	if src == "" {
		src = r.Header.Get("Referer")
	}
	if src == "" {
		return true
	}
	u, err := url.Parse(src)
	return err == nil && u.Host == r.Host
}

// call sends method path (with a JSON body) to the admin API as the
// session's user, from the browser's address, and decodes a JSON answer
// into out; it returns the status.
func (s *Server) call(r *http.Request, sess *session, method, path string, body, out any) (int, error) {
	return s.callKeyed(r, sess, method, path, body, out, "")
}

// callKeyed is call with an Idempotency-Key (none when key is "").
func (s *Server) callKeyed(r *http.Request, sess *session, method, path string, body, out any, key string) (int, error) {
	var rd io.Reader
	hdr := map[string]string{}
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, err
		}
		rd = bytes.NewReader(b)
		hdr["Content-Type"] = "application/json"
	}
	if key != "" {
		hdr["Idempotency-Key"] = key
	}
	rec, err := s.raw(r, sess, method, path, rd, hdr)
	if err != nil {
		return 0, err
	}
	if out != nil {
		d := json.NewDecoder(bytes.NewReader(rec.Body.Bytes()))
		d.UseNumber() // unix milliseconds stay whole
		if err := d.Decode(out); err != nil && rec.Code < 300 {
			return rec.Code, err
		}
	}
	return rec.Code, nil
}

// raw sends method path with body and the headers hdr to the admin API as
// the session's user (none when sess is nil), from the browser's address,
// and returns the API's answer.
func (s *Server) raw(r *http.Request, sess *session, method, path string, body io.Reader, hdr map[string]string) (*httptest.ResponseRecorder, error) {
	req, err := s.apiRequest(r, sess, method, path, body, hdr)
	if err != nil {
		return nil, err
	}
	rec := httptest.NewRecorder()
	s.api.ServeHTTP(rec, req)
	return rec, nil
}

// apiRequest is the in-process API request for method path with body and
// the headers hdr, as the session's user (none when sess is nil), from
// the browser's address, host and origin (the site a passkey is for).
func (s *Server) apiRequest(r *http.Request, sess *session, method, path string, body io.Reader, hdr map[string]string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(r.Context(), method, path, body)
	if err != nil {
		return nil, err
	}
	req.RemoteAddr = r.RemoteAddr
	req.Host = r.Host
	if o := r.Header.Get("Origin"); o != "" {
		req.Header.Set("Origin", o)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if sess != nil {
		req.Header.Set("Authorization", "Bearer "+sess.token)
	}
	return req, nil
}

// unixTime shows unix seconds as a UTC time, "" as "never".
func unixTime(sec int64) string {
	if sec == 0 {
		return "never"
	}
	return time.Unix(sec, 0).UTC().Format("2006-01-02 15:04 UTC")
}

// unixNumber is unixTime of a JSON number (as a page decodes it).
func unixNumber(v any) string {
	switch n := v.(type) {
	case float64:
		return unixTime(int64(n))
	case json.Number:
		i, _ := n.Int64()
		return unixTime(i)
	}
	return ""
}

// render writes the page tmpl with data.
func (s *Server) render(w http.ResponseWriter, status int, tmpl string, data map[string]any) {
	var buf bytes.Buffer
	if err := s.tmpl.ExecuteTemplate(&buf, tmpl, data); err != nil {
		s.log.Error("rendering a page", "page", tmpl, "error", err)
		http.Error(w, "the page could not be rendered", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// customerOnly serves next only to a customer's users.
func customerOnly(next func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		if sess.getRole() != "customer" {
			http.Error(w, "this is a customer's own setting", http.StatusForbidden)
			return
		}
		next(w, r, sess)
	}
}

// operator serves next only to users who are not a customer's.
func operator(next func(http.ResponseWriter, *http.Request, *session)) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		if sess.getRole() == "customer" {
			http.Error(w, "your role may not see this page", http.StatusForbidden)
			return
		}
		next(w, r, sess)
	}
}
