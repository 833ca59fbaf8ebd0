package sip

import (
	"slices"
	"time"

	"github.com/trunkline/trunkline/routing"
)

// failoverAt is failover under the carrier's own codes when it has them:
// then only those codes move on, besides no response at all, a redirect
// and a challenge (which cannot reach the customer anyway).
func failoverAt(at *routing.Attempt, code int) bool {
	if len(at.FailoverCodes) == 0 {
		return failover(code)
	}
	return code == 0 || carrierOnly(code) || slices.Contains(at.FailoverCodes, code)
}

// orDefault is the carrier's timeout d, or def when the carrier has none.
func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// failover reports whether a final response code from a carrier means "try
// the next carrier" rather than "relay this answer to the customer". Code 0
// stands for no response at all (timeout or transport error). Busy, not
// found, cancelled and global failures are the callee's answer and are
// final; server and network failures are the carrier's and move on, and so
// do a redirect or an authentication challenge (the carrier's own affair:
// neither can reach the customer across the border).
func failover(code int) bool {
	switch {
	case code == 0:
		return true
	case carrierOnly(code):
		return true
	case code == 408, code == 480, code == 503:
		return true
	case code >= 500 && code < 600:
		return true
	default:
		return false
	}
}

// carrierOnly reports the answers that concern the switch as the carrier's
// client and mean nothing to the customer: a redirect (its Contact does not
// cross) or a challenge (its credentials are the switch's business).
func carrierOnly(code int) bool {
	return code >= 300 && code < 400 || code == 401 || code == 407
}
