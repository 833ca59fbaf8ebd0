package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"
)

// TOTP settings: RFC 6238 defaults (SHA-1, 6 digits, 30 s), which every
// authenticator app understands; one step of clock skew is accepted.
const (
	totpPeriod = 30
	totpSkew   = 1
)

// NewTOTP generates a TOTP secret for account under issuer and returns it
// with the otpauth:// URI that an authenticator app reads from a QR code.
func NewTOTP(issuer, account string) (secret, uri string, err error) {
	key, err := totp.Generate(totp.GenerateOpts{Issuer: issuer, AccountName: account, Period: totpPeriod})
	if err != nil {
		return "", "", err
	}
	return key.Secret(), key.URL(), nil
}

// CheckTOTP reports whether code is valid for secret at now and returns
// its time step. A step not after lastStep is refused, so that a code can
// be used only once; the caller stores the step returned.
func CheckTOTP(secret, code string, now time.Time, lastStep int64) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != 6 {
		return 0, false
	}
	cur := now.Unix() / totpPeriod
	for s := cur - totpSkew; s <= cur+totpSkew; s++ {
		if s <= lastStep {
			continue
		}
		want, err := totp.GenerateCodeCustom(secret, time.Unix(s*totpPeriod, 0), totp.ValidateOpts{
			Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1})
		if err != nil {
			return 0, false
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return s, true
		}
	}
	return 0, false
}

// TOTPCode returns the code for secret at t (for tests and tools).
func TOTPCode(secret string, t time.Time) (string, error) {
	return totp.GenerateCode(secret, t)
}

// NewRecoveryCodes returns n single-use recovery codes ("xxxxx-xxxxx",
// 50 random bits each) and their hashes to store.
func NewRecoveryCodes(n int) (codes, hashes []string) {
	for range n {
		b := make([]byte, 7)
		rand.Read(b)
		s := strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b))[:10]
		c := s[:5] + "-" + s[5:]
		codes = append(codes, c)
		hashes = append(hashes, HashRecoveryCode(c))
	}
	return codes, hashes
}

// HashRecoveryCode returns the stored form of a recovery code: the
// SHA-256 of its normalised text (case and dashes ignored). The codes are
// random, so a fast hash suffices.
func HashRecoveryCode(code string) string {
	c := strings.ToLower(strings.ReplaceAll(strings.TrimSpace(code), "-", ""))
	sum := sha256.Sum256([]byte("trunkline-recovery:" + c))
	return hex.EncodeToString(sum[:])
}

// UseRecoveryCode finds code among hashes and returns hashes without it;
// ok is false when code is not one of them.
func UseRecoveryCode(hashes []string, code string) (rest []string, ok bool) {
	h := HashRecoveryCode(code)
	for i, s := range hashes {
		if subtle.ConstantTimeCompare([]byte(s), []byte(h)) == 1 {
			rest = append(append([]string(nil), hashes[:i]...), hashes[i+1:]...)
			return rest, true
		}
	}
	return hashes, false
}
