package auth

import (
	"encoding/json"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/icholy/digest"

	"github.com/trunkline/trunkline/store"
)

// digestVector is one entry of ../shared/testdata/vectors/digest.
type digestVector struct {
	ID        string  `json:"id"`
	Algorithm string  `json:"algorithm"`
	Username  string  `json:"username"`
	Realm     string  `json:"realm"`
	Password  string  `json:"password"`
	Method    string  `json:"method"`
	URI       string  `json:"uri"`
	Nonce     string  `json:"nonce"`
	QOP       *string `json:"qop"`
	NC        string  `json:"nc"`
	Cnonce    string  `json:"cnonce"`
	Opaque    string  `json:"opaque"`
	HA1       string  `json:"ha1"`
	Response  string  `json:"response"`
	Userhash  bool    `json:"userhash"`
}

func loadDigestVectors(t *testing.T) []digestVector {
	t.Helper()
	path := filepath.Join("..", "..", "shared", "testdata", "vectors", "digest", "digest-vectors.json")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("digest vectors (shared/testdata beside the repo): %v", err)
	}
	var doc struct{ Vectors []digestVector }
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Vectors
}

// TestDigestVectors checks HA1 and the response computation against the
// published known answers, and that the parser reads the Authorization
// header the client would send for each.
func TestDigestVectors(t *testing.T) {
	ran := 0
	for _, v := range loadDigestVectors(t) {
		if v.Algorithm != AlgMD5 && v.Algorithm != AlgSHA256 || v.Userhash {
			continue // SHA-512-256 / userhash: informational, not offered
		}
		t.Run(v.ID, func(t *testing.T) {
			ha1 := HA1(v.Algorithm, v.Username, v.Realm, v.Password)
			if v.HA1 != "" && ha1 != v.HA1 {
				t.Errorf("HA1 = %s, want %s", ha1, v.HA1)
			}
			if v.Response == "" {
				return
			}
			qop := ""
			if v.QOP != nil {
				qop = *v.QOP
			}
			if got := digestResponse(v.Algorithm, ha1, v.Nonce, v.NC, v.Cnonce, qop, v.Method, v.URI); got != v.Response {
				t.Errorf("response = %s, want %s", got, v.Response)
			}
			var nc int64
			if v.NC != "" {
				var err error
				if nc, err = strconv.ParseInt(v.NC, 16, 32); err != nil {
					t.Fatal(err)
				}
			}
			hdr := (&digest.Credentials{Username: v.Username, Realm: v.Realm, Nonce: v.Nonce, URI: v.URI,
				Response: v.Response, Algorithm: v.Algorithm, Cnonce: v.Cnonce, Opaque: v.Opaque, QOP: qop, Nc: int(nc)}).String()
			c, err := ParseAuthorization(hdr)
			if err != nil {
				t.Fatalf("parsing %s: %v", hdr, err)
			}
			if c.Username != v.Username || c.Realm != v.Realm || c.URI != v.URI || c.Nonce != v.Nonce {
				t.Errorf("parsed %+v from %s", c, hdr)
			}
			if !responseMatches(c.Response, digestResponse(v.Algorithm, ha1, c.Nonce, v.NC, c.Cnonce, c.QOP, v.Method, c.URI)) {
				t.Error("parsed credentials do not verify")
			}
		})
		ran++
	}
	if ran < 10 {
		t.Fatalf("only %d vectors ran", ran)
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }
func newClock() *clock               { return &clock{t: time.Unix(1_700_000_000, 0)} }
func mustAddr(s string) netip.Addr   { return netip.MustParseAddr(s) }
func sipUserRec(id, cust, user, pw string, allow ...string) store.SIPUser {
	return store.SIPUser{ID: id, CustomerID: cust, Username: user, Realm: DefaultRealm,
		HA1MD5: HA1(AlgMD5, user, DefaultRealm, pw), HA1SHA256: HA1(AlgSHA256, user, DefaultRealm, pw), AllowedCIDRs: allow}
}

func newTestDigest(t *testing.T, clk *clock, opts ...DigestOption) *Digest {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	for _, u := range []store.SIPUser{
		sipUserRec("1", "cust-a", "alice", "s3cret!"),
		sipUserRec("2", "cust-b", "bob", "hunter2", "192.0.2.0/24"),
	} {
		if err := store.PutJSON(t.Context(), st, store.SIPUsers, u.ID, u); err != nil {
			t.Fatal(err)
		}
	}
	d := NewDigest(st, "", append([]DigestOption{WithDigestClock(clk.now)}, opts...)...)
	if err := d.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	if d.Users() != 2 {
		t.Fatalf("loaded %d users", d.Users())
	}
	return d
}

// answer builds the Proxy-Authorization a UA sends for the challenge of
// alg among chals.
func answer(t *testing.T, chals []string, alg, user, pw, method string, nc int) string {
	t.Helper()
	for _, h := range chals {
		c, err := digest.ParseChallenge(h)
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm != alg {
			continue
		}
		cred, err := digest.Digest(c, digest.Options{Method: method, URI: "sip:4420@switch", Username: user, Password: pw, Count: nc})
		if err != nil {
			t.Fatal(err)
		}
		return cred.String()
	}
	t.Fatalf("no %s challenge in %q", alg, chals)
	return ""
}

func TestDigestChallenge(t *testing.T) {
	d := newTestDigest(t, newClock())
	chals := d.Challenge(DefaultRealm, true)
	if len(chals) != 2 {
		t.Fatalf("challenges %q", chals)
	}
	for i, alg := range []string{AlgSHA256, AlgMD5} {
		c, err := digest.ParseChallenge(chals[i])
		if err != nil {
			t.Fatal(err)
		}
		if c.Algorithm != alg || c.Realm != DefaultRealm || !c.Stale || !c.SupportsQOP("auth") || c.Nonce == "" {
			t.Errorf("challenge %d = %+v", i, c)
		}
	}
}

func TestDigestVerify(t *testing.T) {
	src := mustAddr("192.0.2.9")
	tests := []struct {
		name    string
		alg     string
		user    string
		pw      string
		src     netip.Addr
		mangle  func(string) string
		wantErr error
		want    string
	}{
		{name: "md5 ok", alg: AlgMD5, user: "alice", pw: "s3cret!", want: "cust-a"},
		{name: "sha256 ok", alg: AlgSHA256, user: "alice", pw: "s3cret!", want: "cust-a"},
		{name: "md5 wrong password", alg: AlgMD5, user: "alice", pw: "nope", wantErr: ErrBadCredentials},
		{name: "sha256 wrong password", alg: AlgSHA256, user: "alice", pw: "nope", wantErr: ErrBadCredentials},
		{name: "unknown user", alg: AlgMD5, user: "mallory", pw: "x", wantErr: ErrUnknownUser},
		{name: "allowed source", alg: AlgSHA256, user: "bob", pw: "hunter2", src: src, want: "cust-b"},
		{name: "source not allowed", alg: AlgSHA256, user: "bob", pw: "hunter2", src: mustAddr("198.51.100.1"), wantErr: ErrSourceNotAllowed},
		{name: "bad algorithm", alg: AlgMD5, user: "alice", pw: "s3cret!", mangle: replace("algorithm=MD5", "algorithm=SHA-512"), wantErr: ErrBadCredentials},
		{name: "no qop", alg: AlgMD5, user: "alice", pw: "s3cret!", mangle: replace("qop=auth", "qop=none"), wantErr: ErrBadCredentials},
		{name: "forged nonce", alg: AlgMD5, user: "alice", pw: "s3cret!", mangle: replaceNonce("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"), wantErr: ErrBadCredentials},
		{name: "wrong realm", alg: AlgMD5, user: "alice", pw: "s3cret!", mangle: replace(`realm="trunkline"`, `realm="elsewhere"`), wantErr: ErrWrongRealm},
		{name: "malformed", alg: AlgMD5, user: "alice", pw: "s3cret!", mangle: func(string) string { return `Digest username="a", nonce` }, wantErr: ErrBadCredentials},
		{name: "basic scheme", alg: AlgMD5, user: "alice", pw: "s3cret!", mangle: func(string) string { return "Basic YWxpY2U6eA==" }, wantErr: ErrBadCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDigest(t, newClock())
			h := answer(t, d.Challenge(DefaultRealm, false), tt.alg, tt.user, tt.pw, "INVITE", 1)
			if tt.mangle != nil {
				h = tt.mangle(h)
			}
			s := tt.src
			if !s.IsValid() {
				s = src
			}
			id, err := d.Verify("INVITE", h, s)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Verify = %+v, %v; want %v", id, err, tt.wantErr)
				}
				return
			}
			if err != nil || id.CustomerID != tt.want || id.Method != "digest" || id.User != tt.user {
				t.Fatalf("Verify = %+v, %v; want %s", id, err, tt.want)
			}
		})
	}
}

func TestDigestWrongRealmChallenge(t *testing.T) {
	d := newTestDigest(t, newClock())
	// A nonce issued for another realm does not verify in ours.
	h := answer(t, d.Challenge("other", false), AlgMD5, "alice", "s3cret!", "INVITE", 1)
	if _, err := d.Verify("INVITE", h, mustAddr("192.0.2.1")); !errors.Is(err, ErrWrongRealm) {
		t.Fatalf("Verify = %v, want ErrWrongRealm", err)
	}
}

func TestDigestMethodBound(t *testing.T) {
	d := newTestDigest(t, newClock())
	h := answer(t, d.Challenge(DefaultRealm, false), AlgMD5, "alice", "s3cret!", "INVITE", 1)
	if _, err := d.Verify("BYE", h, mustAddr("192.0.2.1")); !errors.Is(err, ErrBadCredentials) {
		t.Fatalf("INVITE credentials on BYE: %v", err)
	}
}

func TestDigestStaleNonce(t *testing.T) {
	for _, alg := range []string{AlgMD5, AlgSHA256} {
		t.Run(alg, func(t *testing.T) {
			clk := newClock()
			d := newTestDigest(t, clk, WithNonceTTL(time.Minute))
			chals := d.Challenge(DefaultRealm, false)
			clk.add(2 * time.Minute)
			good := answer(t, chals, alg, "alice", "s3cret!", "INVITE", 1)
			if _, err := d.Verify("INVITE", good, mustAddr("192.0.2.1")); !errors.Is(err, ErrStaleNonce) {
				t.Fatalf("expired nonce, right password: %v, want ErrStaleNonce", err)
			}
			bad := answer(t, chals, alg, "alice", "wrong", "INVITE", 1)
			if _, err := d.Verify("INVITE", bad, mustAddr("192.0.2.1")); !errors.Is(err, ErrBadCredentials) {
				t.Fatalf("expired nonce, wrong password: %v, want ErrBadCredentials", err)
			}
			// The re-challenge works.
			h := answer(t, d.Challenge(DefaultRealm, true), alg, "alice", "s3cret!", "INVITE", 1)
			if _, err := d.Verify("INVITE", h, mustAddr("192.0.2.1")); err != nil {
				t.Fatalf("after re-challenge: %v", err)
			}
		})
	}
}

func TestDigestReplay(t *testing.T) {
	for _, alg := range []string{AlgMD5, AlgSHA256} {
		t.Run(alg, func(t *testing.T) {
			d := newTestDigest(t, newClock())
			chals := d.Challenge(DefaultRealm, false)
			src := mustAddr("192.0.2.1")
			first := answer(t, chals, alg, "alice", "s3cret!", "INVITE", 1)
			if _, err := d.Verify("INVITE", first, src); err != nil {
				t.Fatal(err)
			}
			if _, err := d.Verify("INVITE", first, src); !errors.Is(err, ErrReplay) {
				t.Fatalf("same nc again: %v, want ErrReplay", err)
			}
			third := answer(t, chals, alg, "alice", "s3cret!", "INVITE", 3)
			if _, err := d.Verify("INVITE", third, src); err != nil {
				t.Fatalf("nc 3: %v", err)
			}
			second := answer(t, chals, alg, "alice", "s3cret!", "INVITE", 2)
			if _, err := d.Verify("INVITE", second, src); !errors.Is(err, ErrReplay) {
				t.Fatalf("nc 2 after 3: %v, want ErrReplay", err)
			}
		})
	}
}

// TestDigestNonceTableBounded fills the nc table past its bound: it stays
// bounded, and a forgotten nonce is stale, never replayable.
func TestDigestNonceTableBounded(t *testing.T) {
	clk := newClock()
	d := newTestDigest(t, clk, WithNonceTable(100))
	src := mustAddr("192.0.2.1")
	var first string
	for i := range 300 {
		clk.add(time.Millisecond)
		h := answer(t, d.Challenge(DefaultRealm, false), AlgMD5, "alice", "s3cret!", "INVITE", 1)
		if i == 0 {
			first = h
		}
		if _, err := d.Verify("INVITE", h, src); err != nil {
			t.Fatalf("nonce %d: %v", i, err)
		}
	}
	if n := d.nonces.size(); n > 100 {
		t.Fatalf("table holds %d nonces, bound 100", n)
	}
	if _, err := d.Verify("INVITE", first, src); !errors.Is(err, ErrStaleNonce) {
		t.Fatalf("forgotten nonce replayed: %v, want ErrStaleNonce", err)
	}
}

func TestDigestReload(t *testing.T) {
	d := newTestDigest(t, newClock())
	if err := store.PutJSON(t.Context(), d.st, store.SIPUsers, "3", store.SIPUser{ID: "3", Username: "x", Realm: DefaultRealm, AllowedCIDRs: []string{"bad"}}); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(t.Context()); err == nil {
		t.Fatal("bad CIDR accepted")
	}
	if d.Users() != 2 {
		t.Fatal("failed reload replaced the table")
	}
	if err := d.st.Delete(t.Context(), store.SIPUsers, "3"); err != nil {
		t.Fatal(err)
	}
	if err := d.st.Delete(t.Context(), store.SIPUsers, "1"); err != nil {
		t.Fatal(err)
	}
	if err := d.Reload(t.Context()); err != nil || d.Users() != 1 {
		t.Fatalf("reload: %v, %d users", err, d.Users())
	}
}

func replace(old, new string) func(string) string {
	return func(s string) string {
		return strings.Replace(s, old, new, 1)
	}
}

func replaceNonce(n string) func(string) string {
	return func(s string) string {
		c, err := digest.ParseCredentials(s)
		if err != nil {
			return s
		}
		c.Nonce = n
		return c.String()
	}
}
