package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net/http"
	"sync"
	"time"
)

// Session limits.
const (
	sessionCookie = "tl_session"
	preCookie     = "tl_pre" // the CSRF token of the sign-in form
	sessionIdle   = 12 * time.Hour
	maxSessions   = 10_000
	maxPerUser    = 20 // sessions of one user; a new one ends the oldest
)

// session is one signed-in browser.
type session struct {
	id       string
	csrf     string
	token    string // the API token's secret: never leaves the server
	tokenID  string
	username string
	host     string // the host it was made on: it serves no other
	seen     time.Time

	mu       sync.Mutex
	role     string // as the API last said
	customer string // the customer of a customer's user
}

func (s *session) getRole() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.role
}

func (s *session) setRole(role, customer string) {
	s.mu.Lock()
	s.role, s.customer = role, customer
	s.mu.Unlock()
}

func (s *session) getCustomer() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.customer
}

// sessions is the table of signed-in browsers.
type sessions struct {
	mu sync.Mutex
	m  map[string]*session
}

func randomToken() string {
	var b [32]byte
	rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// add stores a new session and returns it with the sessions it pushed
// out (the user's oldest past maxPerUser; the least recently seen when the
// table is full), whose tokens the caller revokes.
func (t *sessions) add(token, tokenID, username, host string) (*session, []*session) {
	s := &session{id: randomToken(), csrf: randomToken(), token: token, tokenID: tokenID, username: username, host: host, seen: time.Now()}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil {
		t.m = map[string]*session{}
	}
	var out []*session
	oldest := func(keep func(*session) bool) *session {
		var o *session
		for _, x := range t.m {
			if keep(x) && (o == nil || x.seen.Before(o.seen)) {
				o = x
			}
		}
		return o
	}
	mine := 0
	for _, x := range t.m {
		if x.username == username {
			mine++
		}
	}
	for ; mine >= maxPerUser; mine-- {
		o := oldest(func(x *session) bool { return x.username == username })
		delete(t.m, o.id)
		out = append(out, o)
	}
	if len(t.m) >= maxSessions {
		o := oldest(func(*session) bool { return true })
		delete(t.m, o.id)
		out = append(out, o)
	}
	t.m[s.id] = s
	return s, out
}

// of returns r's session, nil when it has none (or it is idle too long,
// or was made on another host).
func (t *sessions) of(r *http.Request) *session {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.m[c.Value]
	if s == nil || s.host != hostOf(r) {
		return nil
	}
	if time.Since(s.seen) > sessionIdle {
		delete(t.m, s.id)
		return nil
	}
	s.seen = time.Now()
	return s
}

// drop ends the session id.
func (t *sessions) drop(id string) {
	t.mu.Lock()
	delete(t.m, id)
	t.mu.Unlock()
}

// setCookie sends name=value as an HttpOnly, SameSite=Strict cookie for
// the whole panel, Secure over TLS; maxAge < 0 deletes it.
func setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: "/", MaxAge: maxAge, HttpOnly: true,
		Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
}

// sameToken compares two CSRF tokens in constant time.
func sameToken(a, b string) bool {
	return a != "" && len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
