package admin

import (
	"context"
	"net/http"
	"strconv"
	"time"
)

// Simulator answers what the switch would do with a call from customerID
// to number, from caller ("" for none), at a time: a JSON-encodable result
// (the sell row, the carrier plan, costs, number translation). It must be
// safe for concurrent use; an error means it could not simulate at all (a
// refused call is a result, not an error). routing's (*Router).SimulateCall
// fits.
type Simulator func(ctx context.Context, customerID, number, caller string, at time.Time) (any, error)

// WithSimulator sets what serves GET /api/v1/simulate; without it that
// endpoint answers 503.
func WithSimulator(fn Simulator) Option { return func(s *Server) { s.simulate = fn } }

// simulateCall serves GET /api/v1/simulate?customer=…&number=…&caller=…&at=…;
// at is RFC 3339 or Unix seconds and defaults to now; caller is optional.
func (s *Server) simulateCall(w http.ResponseWriter, r *http.Request) error {
	if s.simulate == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "call simulation is not configured")
	}
	q := r.URL.Query()
	customer, number := q.Get("customer"), q.Get("number")
	if customer == "" {
		return errInvalid("customer", "required")
	}
	if number == "" {
		return errInvalid("number", "required")
	}
	at := time.Now()
	if v := q.Get("at"); v != "" {
		if sec, err := strconv.ParseInt(v, 10, 64); err == nil {
			at = time.Unix(sec, 0)
		} else if t, err := time.Parse(time.RFC3339, v); err == nil {
			at = t
		} else {
			return errInvalid("at", "must be RFC 3339 or Unix seconds, got %q", v)
		}
	}
	caller := q.Get("caller")
	if len(caller) > 256 {
		return errInvalid("caller", "longer than 256 bytes")
	}
	res, err := s.simulate(r.Context(), customer, number, caller, at)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "simulation failed: " + err.Error(), Err: err}
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}
