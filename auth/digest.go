package auth

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/icholy/digest"

	"github.com/trunkline/trunkline/store"
)

// Digest defaults.
const (
	DefaultRealm      = "trunkline"
	DefaultNonceTTL   = 5 * time.Minute
	DefaultNonceTable = 100_000
)

// Digest verifies SIP digest credentials (RFC 3261 §22, RFC 7616, RFC 8760)
// of customers' SIP users against the HA1s in the store. Nonces are
// stateless (HMAC-signed with a timestamp), expire after a TTL and carry a
// nonce count that may only grow, so a captured request cannot be
// replayed. Challenge and Verify are safe for concurrent use; Reload swaps
// the user table in atomically and never blocks them.
type Digest struct {
	st     store.Store
	algs   []string // offered, in order of preference
	realms map[string]bool
	nonces *nonces
	log    *slog.Logger
	users  atomic.Pointer[sipUsers]
}

// DigestOption configures a Digest.
type DigestOption func(*digestConfig)

type digestConfig struct {
	algs     []string
	realms   []string
	key      []byte
	ttl      time.Duration
	maxTable int
	now      func() time.Time
	log      *slog.Logger
}

// WithAlgorithms sets the digest algorithms offered, most preferred first
// (default SHA-256, then MD5). Verify refuses credentials computed with an
// algorithm not in the list. Names other than AlgSHA256 and AlgMD5 are
// ignored; an empty list keeps the default.
func WithAlgorithms(algs ...string) DigestOption {
	return func(c *digestConfig) {
		var ok []string
		for _, a := range algs {
			switch {
			case strings.EqualFold(a, AlgSHA256):
				ok = append(ok, AlgSHA256)
			case strings.EqualFold(a, AlgMD5):
				ok = append(ok, AlgMD5)
			}
		}
		if len(ok) > 0 {
			c.algs = ok
		}
	}
}

// WithRealms adds realms that Verify accepts besides the default one.
func WithRealms(realms ...string) DigestOption {
	return func(c *digestConfig) { c.realms = append(c.realms, realms...) }
}

// WithNonceKey sets the HMAC key nonces are signed with. Nodes of a
// cluster share one, and so does a node across restarts, so that nonces
// issued before stay valid; the default is a random key per process.
func WithNonceKey(key []byte) DigestOption { return func(c *digestConfig) { c.key = key } }

// WithNonceTTL sets how long a nonce is fresh (default DefaultNonceTTL).
func WithNonceTTL(d time.Duration) DigestOption { return func(c *digestConfig) { c.ttl = d } }

// WithNonceTable bounds the number of nonces whose count is tracked
// (default DefaultNonceTable); past it the oldest are treated as stale.
func WithNonceTable(n int) DigestOption { return func(c *digestConfig) { c.maxTable = n } }

// WithDigestClock sets the clock (for tests).
func WithDigestClock(now func() time.Time) DigestOption { return func(c *digestConfig) { c.now = now } }

// WithDigestLogger sets the logger; the default discards.
func WithDigestLogger(l *slog.Logger) DigestOption { return func(c *digestConfig) { c.log = l } }

// NewDigest returns a verifier over the SIP users in st that serves realm
// (DefaultRealm when ""), with an empty user table; call Reload.
func NewDigest(st store.Store, realm string, opts ...DigestOption) *Digest {
	if realm == "" {
		realm = DefaultRealm
	}
	c := digestConfig{algs: []string{AlgSHA256, AlgMD5}, realms: []string{realm}, ttl: DefaultNonceTTL,
		maxTable: DefaultNonceTable, now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	d := &Digest{st: st, algs: c.algs, realms: map[string]bool{}, log: c.log,
		nonces: newNonces(c.key, c.ttl, max(c.maxTable, 16), c.now)}
	for _, r := range c.realms {
		d.realms[r] = true
	}
	d.users.Store(&sipUsers{})
	return d
}

// Challenge returns the values of the Proxy-Authenticate (or
// WWW-Authenticate) headers to send: one challenge per offered algorithm
// (by default SHA-256 then MD5: order of preference, RFC 8760), with
// qop=auth and a fresh nonce.
// SIP does not allow folding these headers, so each value is its own
// header line. stale=true tells the client its credentials were right and
// only the nonce was old.
func (d *Digest) Challenge(realm string, stale bool) []string {
	nonce := d.nonces.issue(realm)
	out := make([]string, 0, len(d.algs))
	for _, alg := range d.algs {
		c := digest.Challenge{Realm: realm, Nonce: nonce, Stale: stale, Algorithm: alg, QOP: []string{"auth"}}
		out = append(out, c.String())
	}
	return out
}

// Verify checks the value of a Proxy-Authorization (or Authorization)
// header for a request of method from src. On success it returns the SIP
// user's customer. Its errors wrap one of the sentinels: ErrBadCredentials
// (malformed, not our nonce, wrong response, unsupported algorithm or qop),
// ErrWrongRealm, ErrUnknownUser, ErrStaleNonce (right response, expired
// nonce: re-challenge with stale=true), ErrReplay, ErrSourceNotAllowed.
// Verify does not compare the digest uri with the Request-URI; a caller
// that wants that compares Credentials.URI itself (ParseAuthorization).
func (d *Digest) Verify(method, authorization string, src netip.Addr) (Identity, error) {
	c, err := ParseAuthorization(authorization)
	if err != nil {
		return Identity{}, err
	}
	if !d.realms[c.Realm] {
		return Identity{}, fmt.Errorf("realm %q: %w", c.Realm, ErrWrongRealm)
	}
	alg := AlgMD5
	switch {
	case c.Algorithm == "" || strings.EqualFold(c.Algorithm, AlgMD5):
	case strings.EqualFold(c.Algorithm, AlgSHA256):
		alg = AlgSHA256
	default:
		return Identity{}, fmt.Errorf("algorithm %q: %w", c.Algorithm, ErrBadCredentials)
	}
	if !slices.Contains(d.algs, alg) {
		return Identity{}, fmt.Errorf("algorithm %s is not offered: %w", alg, ErrBadCredentials)
	}
	if c.QOP != "auth" || c.Nc <= 0 || c.Cnonce == "" {
		return Identity{}, fmt.Errorf("qop %q (nc %d): qop=auth with nc and cnonce required: %w", c.QOP, c.Nc, ErrBadCredentials)
	}
	u, ok := d.users.Load().get(c.Realm, c.Username)
	if !ok {
		return Identity{}, fmt.Errorf("user %q: %w", c.Username, ErrUnknownUser)
	}
	state := d.nonces.check(c.Realm, c.Nonce)
	if state == nonceForged {
		return Identity{}, fmt.Errorf("user %q: nonce not issued here: %w", c.Username, ErrBadCredentials)
	}
	ha1 := u.ha1MD5
	if alg == AlgSHA256 {
		ha1 = u.ha1SHA256
	}
	nc := fmt.Sprintf("%08x", c.Nc)
	if ha1 == "" || !responseMatches(c.Response, digestResponse(alg, ha1, c.Nonce, nc, c.Cnonce, c.QOP, method, c.URI)) {
		return Identity{}, fmt.Errorf("user %q: %w", c.Username, ErrBadCredentials)
	}
	if state == nonceExpired {
		return Identity{}, fmt.Errorf("user %q: %w", c.Username, ErrStaleNonce)
	}
	switch ok, stale := d.nonces.accept(c.Nonce, uint32(c.Nc)); {
	case stale:
		return Identity{}, fmt.Errorf("user %q: %w", c.Username, ErrStaleNonce)
	case !ok:
		return Identity{}, fmt.Errorf("user %q nc %s: %w", c.Username, nc, ErrReplay)
	}
	if !u.allowed(src) {
		return Identity{}, fmt.Errorf("user %q from %s: %w", c.Username, src, ErrSourceNotAllowed)
	}
	return Identity{CustomerID: u.customerID, Method: "digest", User: c.Username, Entry: u.id, EntryChannels: u.channels, EntryCPS: u.cps}, nil
}

// ParseAuthorization parses the value of an Authorization or
// Proxy-Authorization header with the Digest scheme. Its errors wrap
// ErrBadCredentials.
func ParseAuthorization(v string) (*digest.Credentials, error) {
	c, err := digest.ParseCredentials(v)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadCredentials, err)
	}
	if c.Username == "" || c.Nonce == "" || c.Response == "" {
		return nil, fmt.Errorf("%w: username, nonce and response are required", ErrBadCredentials)
	}
	return c, nil
}

// Reload reads every SIP user from the store and swaps in a new table. A
// user whose allowed CIDRs do not parse is an error naming it.
func (d *Digest) Reload(ctx context.Context) error {
	recs, err := store.ListJSON[store.SIPUser](ctx, d.st, store.SIPUsers)
	if err != nil {
		return fmt.Errorf("loading SIP users: %w", err)
	}
	u, err := newSIPUsers(recs)
	if err != nil {
		return err
	}
	d.users.Store(u)
	return nil
}

// Users returns the number of SIP users loaded.
func (d *Digest) Users() int { return len(d.users.Load().byKey) }
