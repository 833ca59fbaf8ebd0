package auth

import (
	"errors"
	"net/netip"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// FuzzDigestVerify feeds arbitrary Authorization header values through the
// parser and the verifier: nothing panics, every failure wraps one of the
// sentinels, and nothing but a correct answer to a nonce we issued is
// accepted (the fuzzer cannot know the HMAC key, so it never succeeds).
func FuzzDigestVerify(f *testing.F) {
	f.Add("INVITE", `Digest username="alice", realm="trunkline", nonce="x", uri="sip:1@h", response="00", qop=auth, nc=00000001, cnonce="c"`)
	f.Add("REGISTER", `Digest username="aaron",realm="asterisk",nonce="1c8192c9",uri="sip:blueface",response="08881d1d56c0b21f11d19f4067da7045",algorithm=MD5`)
	f.Add("INVITE", `Digest username="alice", realm="trunkline", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:1@h", algorithm=SHA-256, response="ab", qop=auth, nc=ffffffff, cnonce="c"`)
	f.Add("INVITE", `Digest username="al\"ice", realm="trunkline", nc=-1`)
	f.Add("INVITE", `Digest `)
	f.Add("INVITE", ``)
	f.Add("BYE", `Basic YWxpY2U6eA==`)
	st, err := store.OpenEmbedded(f.TempDir())
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	u := sipUserRec("1", "c", "alice", "pw")
	if err := store.PutJSON(f.Context(), st, store.SIPUsers, u.ID, u); err != nil {
		f.Fatal(err)
	}
	d := NewDigest(st, "", WithNonceTable(64), WithDigestClock(func() time.Time { return time.Unix(1_700_000_000, 0) }))
	if err := d.Reload(f.Context()); err != nil {
		f.Fatal(err)
	}
	sentinels := []error{ErrBadCredentials, ErrUnknownUser, ErrWrongRealm, ErrStaleNonce, ErrReplay, ErrSourceNotAllowed}
	f.Fuzz(func(t *testing.T, method, header string) {
		id, err := d.Verify(method, header, netip.MustParseAddr("192.0.2.1"))
		if err == nil {
			t.Fatalf("accepted %q as %+v", header, id)
		}
		for _, s := range sentinels {
			if errors.Is(err, s) {
				return
			}
		}
		t.Fatalf("error %v wraps no sentinel", err)
	})
}
