package web

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/trunkline/trunkline/admin"
)

// loginPage serves the sign-in form with a fresh CSRF token, also set as
// a cookie (double submit: a forged form cannot read it).
func (s *Server) loginPage(w http.ResponseWriter, r *http.Request) {
	if s.sessions.of(r) != nil {
		http.Redirect(w, r, "/", http.StatusSeeOther)
		return
	}
	s.loginForm(w, r, http.StatusOK, "", "")
}

func (s *Server) loginForm(w http.ResponseWriter, r *http.Request, status int, username, problem string) {
	csrf := randomToken()
	setCookie(w, r, preCookie, csrf, 600)
	s.render(w, status, "login.html", map[string]any{"CSRF": csrf, "Username": username, "Problem": problem, "Brand": brand(r)})
}

// preCSRF checks a sign-in form's CSRF token against its cookie (double
// submit: a forged form cannot read it) and its Origin.
func preCSRF(r *http.Request) bool {
	pre, err := r.Cookie(preCookie)
	return err == nil && sameOrigin(r) && sameToken(r.PostFormValue("csrf"), pre.Value)
}

// login signs in through POST /api/v1/login (its throttle, its two-factor
// rules) and keeps the token it issues in a new session.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	if !preCSRF(r) {
		http.Error(w, "the form's CSRF token does not match: reload the page", http.StatusForbidden)
		return
	}
	username := r.PostFormValue("username")
	body := map[string]any{"username": username, "password": r.PostFormValue("password"), "token_name": "panel", "ttl_seconds": int(sessionIdle.Seconds())}
	if code := r.PostFormValue("totp"); code != "" {
		body["totp"] = code
	}
	if code := strings.TrimSpace(r.PostFormValue("recovery_code")); code != "" {
		body["recovery_code"] = code
	}
	var tok struct {
		ID    string `json:"id"`
		Token string `json:"token"`
	}
	status, err := s.call(r, nil, "POST", "/api/v1/login", body, &tok)
	if err != nil || status != http.StatusCreated || tok.Token == "" {
		problem := "wrong username, password or code"
		switch status {
		case http.StatusTooManyRequests:
			problem = "too many failed attempts: wait a minute"
		case http.StatusServiceUnavailable:
			problem = "the switch is busy: try again"
		}
		s.loginForm(w, r, http.StatusUnauthorized, username, problem)
		return
	}
	if problem := s.startSession(w, r, tok.Token, tok.ID); problem != "" {
		s.loginForm(w, r, http.StatusForbidden, username, problem)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// me is what GET /api/v1/me says of a session's user.
type me struct {
	Username   string
	Role       string
	CustomerID string `json:"customer_id"`
}

// startSession keeps a token a sign-in issued in a new session and sets
// its cookie; it returns why the user may not sign in here instead (an
// operator's user on the customer portal), the token then revoked.
func (s *Server) startSession(w http.ResponseWriter, r *http.Request, token, tokenID string) string {
	var who me
	status, err := s.call(r, &session{token: token}, "GET", "/api/v1/me", nil, &who)
	if err == nil && status == http.StatusOK && portal(r) && who.Role != admin.RoleCustomer {
		err = errors.New("not a customer's user")
	}
	if err != nil || status != http.StatusOK {
		s.call(r, &session{token: token}, "DELETE", "/api/v1/tokens/"+tokenID, nil, nil)
		if portal(r) {
			return "this sign-in is for customers: the operator's users sign in on the control panel's address"
		}
		return "the sign-in could not be completed: try again"
	}
	// A browser signing in again leaves its previous session, and a user's
	// sessions past the cap end: their tokens are revoked.
	if old := s.sessions.of(r); old != nil {
		s.sessions.drop(old.id)
		s.call(r, old, "DELETE", "/api/v1/tokens/"+old.tokenID, nil, nil)
	}
	sess, pushed := s.sessions.add(token, tokenID, who.Username, hostOf(r))
	for _, o := range pushed {
		s.call(r, o, "DELETE", "/api/v1/tokens/"+o.tokenID, nil, nil)
	}
	sess.setRole(who.Role, who.CustomerID)
	setCookie(w, r, preCookie, "", -1)
	setCookie(w, r, sessionCookie, sess.id, 0)
	return ""
}

// logout revokes the session's token and ends the session.
func (s *Server) logout(w http.ResponseWriter, r *http.Request, sess *session) {
	s.call(r, sess, "DELETE", "/api/v1/tokens/"+sess.tokenID, nil, nil)
	s.sessions.drop(sess.id)
	setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}

// customerRow is a customer as the pages list it.
type customerRow struct {
	ID, Name, Currency, Status, Balance string
	Warnings                            []struct{ Code, Message string }
}

// dashboard shows what needs attention: customers and carriers with
// warnings, and the nodes.
func (s *Server) dashboard(w http.ResponseWriter, r *http.Request, sess *session) {
	if sess.getRole() == "customer" {
		http.Redirect(w, r, "/cdrs", http.StatusSeeOther) // a customer's own calls: no operator dashboard
		return
	}
	var cs struct{ Customers []customerRow }
	s.call(r, sess, "GET", "/api/v1/customers?warnings=true&limit=50", nil, &cs)
	var ks struct {
		Carriers []struct {
			ID, Name string
			Warnings []struct{ Code, Message string }
		}
	}
	s.call(r, sess, "GET", "/api/v1/carriers?warnings=true&limit=50", nil, &ks)
	var calls struct{ Calls []any }
	s.call(r, sess, "GET", "/api/v1/calls?limit=10000", nil, &calls)
	charts, scope := s.charts(r, sess, time.Now())
	s.render(w, http.StatusOK, "dashboard.html", s.page(r, sess, map[string]any{
		"Customers": cs.Customers, "Carriers": ks.Carriers, "ActiveCalls": len(calls.Calls), "Charts": charts, "Scope": scope}))
}

// pageSize is how many rows a list page shows.
const pageSize = 100

// listQuery is the API query of a list page: its search and its page.
func listQuery(r *http.Request) (url.Values, int) {
	q := url.Values{"limit": {strconv.Itoa(pageSize)}}
	if v := strings.TrimSpace(r.URL.Query().Get("q")); v != "" {
		q.Set("q", v)
	}
	page, _ := strconv.Atoi(r.URL.Query().Get("page"))
	page = max(page, 1)
	q.Set("offset", strconv.Itoa((page-1)*pageSize))
	return q, page
}

// pager is what a list page shows of its place: this page, the links to
// the pages around it.
type pager struct {
	Page, Pages, Total int
	Prev, Next         string
}

func newPager(r *http.Request, page, total int) pager {
	p := pager{Page: page, Total: total, Pages: max(1, (total+pageSize-1)/pageSize)}
	link := func(n int) string {
		q := url.Values{"page": {strconv.Itoa(n)}}
		if v := strings.TrimSpace(r.URL.Query().Get("q")); v != "" {
			q.Set("q", v)
		}
		return r.URL.Path + "?" + q.Encode()
	}
	if page > 1 {
		p.Prev = link(page - 1)
	}
	if page < p.Pages {
		p.Next = link(page + 1)
	}
	return p
}

// customers lists the customers with their warnings, a page at a time,
// searched by name.
func (s *Server) customers(w http.ResponseWriter, r *http.Request, sess *session) {
	s.customersView(w, r, sess, http.StatusOK, "")
}

func (s *Server) customersView(w http.ResponseWriter, r *http.Request, sess *session, code int, problem string) {
	q, page := listQuery(r)
	var cs struct {
		Customers []customerRow
		Total     int
	}
	status, err := s.call(r, sess, "GET", "/api/v1/customers?"+q.Encode(), nil, &cs)
	if err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	s.render(w, code, "customers.html", s.page(r, sess, map[string]any{"Customers": cs.Customers,
		"Pager": newPager(r, page, cs.Total), "Q": q.Get("q"), "Problem": problem, "Form": r.PostForm}))
}
