package auth

import (
	"errors"
	"testing"

	"github.com/icholy/digest"
)

// WithAlgorithms sets which challenges are offered and in what order, and
// Verify refuses an algorithm that is not offered.
func TestDigestAlgorithms(t *testing.T) {
	tests := []struct {
		name  string
		algs  []string
		offer []string
	}{
		{"default", nil, []string{AlgSHA256, AlgMD5}},
		{"MD5 first", []string{"md5", "sha-256"}, []string{AlgMD5, AlgSHA256}},
		{"SHA-256 only", []string{AlgSHA256}, []string{AlgSHA256}},
		{"unknown names ignored", []string{"SHA-512", AlgMD5}, []string{AlgMD5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newTestDigest(t, newClock(), WithAlgorithms(tt.algs...))
			chals := d.Challenge(DefaultRealm, false)
			if len(chals) != len(tt.offer) {
				t.Fatalf("challenges %q, want %v", chals, tt.offer)
			}
			for i, want := range tt.offer {
				c, err := digest.ParseChallenge(chals[i])
				if err != nil || c.Algorithm != want {
					t.Fatalf("challenge %d = %q (%v), want %s", i, chals[i], err, want)
				}
				if _, err := d.Verify("INVITE", answer(t, chals, want, "alice", "s3cret!", "INVITE", i+1), mustAddr("192.0.2.9")); err != nil {
					t.Fatalf("%s credentials refused: %v", want, err)
				}
			}
			if len(tt.offer) == 1 && tt.offer[0] == AlgSHA256 {
				// An MD5 answer to a challenge the switch never made.
				all := newTestDigest(t, newClock()).Challenge(DefaultRealm, false)
				md5 := answer(t, all, AlgMD5, "alice", "s3cret!", "INVITE", 1)
				if _, err := d.Verify("INVITE", md5, mustAddr("192.0.2.9")); !errors.Is(err, ErrBadCredentials) {
					t.Fatalf("MD5 accepted while not offered: %v", err)
				}
			}
		})
	}
}
