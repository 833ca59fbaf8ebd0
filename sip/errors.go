package sip

import "errors"

// ErrClosed is returned by Hangup once the switch is closed: it can no
// longer send anything to either leg.
var ErrClosed = errors.New("sip: switch closed")
