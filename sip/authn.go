package sip

import (
	"errors"
	"net/netip"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/auth"
)

// Digester challenges and verifies SIP digest credentials. Implementations
// are safe for concurrent use. Verify returns auth.ErrStaleNonce when the
// credentials were right but the nonce expired (the caller re-challenges
// with stale=true); any other error is a failed authentication.
type Digester interface {
	Challenge(realm string, stale bool) []string
	Verify(method, authorization string, src netip.Addr) (auth.Identity, error)
	Users() int // SIP users that can authenticate; with none, nobody is challenged
}

// SourceGuard counts failed authentications per source address and bans
// sources that fail too often. Implementations are safe for concurrent use.
type SourceGuard interface {
	Banned(src netip.Addr) bool
	Fail(src netip.Addr) bool // reports whether this failure banned src
	Succeed(src netip.Addr)
}

// FloodLimiter bounds the request rate of each source address.
type FloodLimiter interface {
	Allow(src netip.Addr) bool
}

// WithDigest makes the switch challenge calls from unknown addresses for
// SIP digest credentials in realm.
func WithDigest(d Digester, realm string) Option {
	return func(s *Server) { s.digest, s.realm = d, realm }
}

// WithSourceGuard drops requests from banned sources before parsing and
// reports every failed authentication to g.
func WithSourceGuard(g SourceGuard) Option { return func(s *Server) { s.guard = g } }

// WithFloodLimit drops requests beyond f's per-source rate before parsing.
func WithFloodLimit(f FloodLimiter) Option { return func(s *Server) { s.flood = f } }

// authenticate names the customer of an INVITE: by source address, else by
// the digest credentials in Proxy-Authorization. When it returns false it
// has answered the request (407 challenge or 403).
func (s *Server) authenticate(req *gosip.Request, tx *serverTx, src netip.Addr) (auth.Identity, bool) {
	ident, err := s.auth.Lookup(src, req.Recipient.User)
	if err == nil {
		return ident, true
	}
	if s.digest == nil || s.digest.Users() == 0 {
		s.authFailed(src, "unknown source")
		s.reply(tx, req, 403, "Forbidden")
		return auth.Identity{}, false
	}
	h := req.GetHeader("Proxy-Authorization")
	if h == nil {
		s.challenge(req, tx, false)
		return auth.Identity{}, false
	}
	ident, err = s.digest.Verify(string(req.Method), h.Value(), src)
	switch {
	case err == nil:
		if s.guard != nil {
			s.guard.Succeed(src)
		}
		return ident, true
	case errors.Is(err, auth.ErrStaleNonce):
		s.challenge(req, tx, true)
	default:
		s.authFailed(src, err.Error())
		s.reply(tx, req, 403, "Forbidden")
	}
	return auth.Identity{}, false
}

func (s *Server) challenge(req *gosip.Request, tx *serverTx, stale bool) {
	var hdrs []gosip.Header
	for _, c := range s.digest.Challenge(s.realm, stale) {
		hdrs = append(hdrs, gosip.NewHeader("Proxy-Authenticate", c))
	}
	s.reply(tx, req, 407, "Proxy Authentication Required", hdrs...)
}

func (s *Server) authFailed(src netip.Addr, why string) {
	s.metrics.authFailures.Inc()
	banned := s.guard != nil && s.guard.Fail(src)
	s.log.Info("authentication failed", "source", src.String(), "reason", why, "banned", banned)
}
