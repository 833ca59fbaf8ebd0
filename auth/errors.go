package auth

import "errors"

// ErrUnknownSource reports a source address that no customer is
// authenticated by; the switch answers 403.
var ErrUnknownSource = errors.New("source address not authorised")
