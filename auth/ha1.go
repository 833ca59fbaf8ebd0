package auth

import (
	"crypto/md5"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"hash"
	"strings"
)

// Digest algorithms offered in challenges.
const (
	AlgMD5    = "MD5"
	AlgSHA256 = "SHA-256"
)

func newHash(alg string) hash.Hash {
	if strings.EqualFold(alg, AlgSHA256) {
		return sha256.New()
	}
	return md5.New()
}

func hexHash(alg string, parts ...string) string {
	h := newHash(alg)
	for i, p := range parts {
		if i > 0 {
			h.Write([]byte{':'})
		}
		h.Write([]byte(p))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// HA1 returns H(username:realm:password) in lowercase hex for alg (AlgMD5
// or AlgSHA256). The admin API stores these instead of the password.
func HA1(alg, username, realm, password string) string {
	return hexHash(alg, username, realm, password)
}

// digestResponse computes the expected "response" of RFC 7616 §3.4.1 from
// HA1: with qop, H(HA1:nonce:nc:cnonce:qop:HA2); without, H(HA1:nonce:HA2);
// HA2 = H(method:uri).
func digestResponse(alg, ha1, nonce, nc, cnonce, qop, method, uri string) string {
	ha2 := hexHash(alg, method, uri)
	if qop == "" {
		return hexHash(alg, ha1, nonce, ha2)
	}
	return hexHash(alg, ha1, nonce, nc, cnonce, qop, ha2)
}

// responseMatches compares a client's response to the expected one in
// constant time, ignoring hex case.
func responseMatches(got, want string) bool {
	return subtle.ConstantTimeCompare([]byte(strings.ToLower(got)), []byte(want)) == 1
}
