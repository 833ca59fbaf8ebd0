package admin

import (
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/trunkline/trunkline/auth"
)

// Roles of admin users.
const (
	RoleAdmin    = "admin"     // everything
	RoleReadOnly = "read-only" // GET only
	RoleCustomer = "customer"  // GET of its own customer, CDRs and calls; manages its SIP users and CDR columns, hangs up its calls
)

// Error codes of authorisation and login.
const (
	CodeForbidden     = "forbidden"
	CodeTooMany       = "too_many_requests"
	CodeTOTPRequired  = "totp_required"
	CodeLoginRequired = "bad_login"
)

// principal is who a request's token acts for.
type principal struct {
	tokenID    string
	userID     string // "" for a bootstrap token
	username   string
	role       string
	customerID string
}

type principalKey struct{}

func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// publicRoutes need no token.
var publicRoutes = map[string]bool{
	"POST /api/v1/login":                 true,
	"POST /api/v1/login/passkey/options": true,
	"POST /api/v1/login/passkey":         true,
}

// selfRoutes are open to every role: their handlers act on the caller's
// own user and tokens.
var selfRoutes = map[string]bool{
	"GET /api/v1/openapi.json":         true,
	"GET /api/v1/me":                   true,
	"PUT /api/v1/me/password":          true,
	"PUT /api/v1/me/timezone":          true,
	"PUT /api/v1/me/profile":           true,
	"POST /api/v1/me/totp":             true,
	"POST /api/v1/me/totp/confirm":     true,
	"GET /api/v1/me/passkeys":          true,
	"POST /api/v1/me/passkeys/options": true,
	"POST /api/v1/me/passkeys":         true,
	"PUT /api/v1/me/passkeys/{id}":     true,
	"DELETE /api/v1/me/passkeys/{id}":  true,
	"GET /api/v1/tokens":               true,
	"POST /api/v1/tokens":              true,
	"DELETE /api/v1/tokens/{id}":       true,
}

// customerScoped routes take a ?customer= that narrows them to one
// customer's CDRs or calls; a customer token's is forced to its own.
var customerScoped = map[string]bool{
	"GET /api/v1/cdrs":          true,
	"GET /api/v1/calls":         true,
	"DELETE /api/v1/calls/{id}": true,
}

// authorize decides whether p may use the route pattern for r. A customer
// token's CDR and live-call requests are narrowed to its customer here.
func authorize(p principal, pattern string, r *http.Request) error {
	if p.role == RoleAdmin || selfRoutes[pattern] {
		return nil
	}
	method, path, _ := strings.Cut(pattern, " ")
	forbidden := errStatus(http.StatusForbidden, CodeForbidden, "role %q may not %s %s", p.role, r.Method, r.URL.Path)
	switch p.role {
	case RoleReadOnly:
		if method == http.MethodGet {
			return nil
		}
	case RoleCustomer:
		if p.customerID == "" {
			return forbidden
		}
		if customerScoped[pattern] {
			q := r.URL.Query()
			if c := q.Get("customer"); c != "" && c != p.customerID {
				return forbidden
			}
			if q.Has("carrier") { // which calls took which carrier is the operator's
				return errStatus(http.StatusForbidden, CodeForbidden, "a customer token may not select by carrier")
			}
			q.Set("customer", p.customerID)
			r.URL.RawQuery = q.Encode()
			return nil
		}
		if !strings.HasPrefix(path, "/api/v1/customers/{id}") || r.PathValue("id") != p.customerID {
			return forbidden
		}
		if method == http.MethodGet || strings.HasPrefix(path, "/api/v1/customers/{id}/sip-users") || path == "/api/v1/customers/{id}/cdr-fields" {
			return nil // its own SIP users, its own CDR columns
		}
	}
	return forbidden
}

// BanList is the switch's table of banned SIP sources, as the admin API
// sees it; *auth.Bans implements it. Both methods must be safe for
// concurrent use.
type BanList interface {
	List() []auth.Ban
	// Lift reports whether ip was banned; an error means it was lifted on
	// this node only.
	Lift(ip netip.Addr) (bool, error)
}

// identityConfig holds the options and state of users, logins and bans.
type identityConfig struct {
	bans     BanList
	realm    string
	argon    *auth.Argon2Params
	issuer   string
	once     sync.Once
	throttle *auth.Throttle
}

// WithBans serves GET/DELETE /api/v1/bans from b; without it they answer
// 503.
func WithBans(b BanList) Option { return func(s *Server) { s.idn.bans = b } }

// WithSIPRealm sets the digest realm SIP users are created in (default
// auth.DefaultRealm); it must be the realm the switch challenges with.
func WithSIPRealm(realm string) Option { return func(s *Server) { s.idn.realm = realm } }

// WithArgon2 sets the argon2id cost of new password hashes (default
// auth.DefaultArgon2).
func WithArgon2(p auth.Argon2Params) Option { return func(s *Server) { s.idn.argon = &p } }

// WithLoginThrottle sets the login throttle (default auth.NewThrottle with
// its defaults), shared by the username and client-address keys.
func WithLoginThrottle(t *auth.Throttle) Option { return func(s *Server) { s.idn.throttle = t } }

func (s *Server) sipRealm() string {
	if s.idn.realm == "" {
		return auth.DefaultRealm
	}
	return s.idn.realm
}

func (s *Server) argon() auth.Argon2Params {
	if s.idn.argon == nil {
		return auth.DefaultArgon2
	}
	return *s.idn.argon
}

func (s *Server) loginThrottle() *auth.Throttle {
	s.idn.once.Do(func() {
		if s.idn.throttle == nil {
			s.idn.throttle = auth.NewThrottle(0, 0, 0, 0, nil)
			go func(t *auth.Throttle) { // for the process's life, like the server
				for range time.Tick(time.Minute) {
					t.Sweep()
				}
			}(s.idn.throttle)
		}
	})
	return s.idn.throttle
}
