package routing

import (
	"errors"
	"fmt"
)

// Reject is a routing decision that ends the call with a SIP status.
type Reject struct {
	Code   int
	Reason string
	Err    error // the cause, if any
}

func (r *Reject) Error() string {
	if r.Err != nil {
		return fmt.Sprintf("%d %s: %v", r.Code, r.Reason, r.Err)
	}
	return fmt.Sprintf("%d %s", r.Code, r.Reason)
}

func (r *Reject) Unwrap() error { return r.Err }

func reject(code int, reason string, err error) error {
	return &Reject{Code: code, Reason: reason, Err: err}
}

// Status returns the SIP status and reason an error should be answered
// with: a Reject's own, or 500 for anything else.
func Status(err error) (int, string) {
	var r *Reject
	if errors.As(err, &r) {
		return r.Code, r.Reason
	}
	return 500, "Server Internal Error"
}
