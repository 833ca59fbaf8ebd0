package auth

import "errors"

// ErrUnknownSource reports a source address that no customer is
// authenticated by; the switch answers 403.
var ErrUnknownSource = errors.New("source address not authorised")

// Digest verification errors. The switch answers ErrStaleNonce with a new
// challenge carrying stale=true (the credentials were right, the nonce is
// old), and the others with a fresh challenge or 403; every one but
// ErrStaleNonce counts as a failure towards a ban.
var (
	ErrStaleNonce       = errors.New("digest nonce expired")
	ErrBadCredentials   = errors.New("digest credentials invalid")
	ErrUnknownUser      = errors.New("unknown SIP user")
	ErrReplay           = errors.New("digest nonce count replayed")
	ErrWrongRealm       = errors.New("digest realm not served")
	ErrSourceNotAllowed = errors.New("SIP user not allowed from this source address")
)
