package sip

// failover reports whether a final response code from a carrier means "try
// the next carrier" rather than "relay this answer to the customer". Code 0
// stands for no response at all (timeout or transport error). Busy, not
// found, cancelled and global failures are the callee's answer and are
// final; server and network failures are the carrier's and move on.
func failover(code int) bool {
	switch {
	case code == 0:
		return true
	case code == 408, code == 480, code == 503:
		return true
	case code >= 500 && code < 600:
		return true
	default:
		return false
	}
}
