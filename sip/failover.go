package sip

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
