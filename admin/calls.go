package admin

import (
	"net/http"
	"strconv"

	"github.com/trunkline/trunkline/cdr"
)

// LiveCalls is the switch's table of calls in progress, as the admin API
// lists and ends them; sip's *Server implements it. Both methods must be
// safe for concurrent use and must not block the call path for long.
// Calls returns a snapshot, newest first. Hangup ends the call with the
// switch's id from the switch (CDR hangup side "admin"); false means there
// is no such call (any more), an error that the switch could not end it.
type LiveCalls interface {
	Calls(f cdr.CallFilter) []cdr.ActiveCall
	Hangup(id string) (bool, error)
}

// WithLiveCalls serves GET /api/v1/calls and DELETE /api/v1/calls/{id}
// from lc; without it they answer 503.
func WithLiveCalls(lc LiveCalls) Option { return func(s *Server) { s.live = lc } }

// Live-call listing limits.
const (
	defaultCallLimit = 100
	maxCallLimit     = 10000
)

// listCalls serves GET /api/v1/calls?customer=&carrier=&limit=: the calls
// in progress on this node, newest first. A customer token's query is
// narrowed to its customer by authorize.
func (s *Server) listCalls(w http.ResponseWriter, r *http.Request) error {
	if s.live == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no switch on this server")
	}
	q := r.URL.Query()
	f := cdr.CallFilter{CustomerID: q.Get("customer"), CarrierID: q.Get("carrier"), Limit: defaultCallLimit}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxCallLimit {
			return errInvalid("limit", "must be a whole number from 1 to %d, got %q", maxCallLimit, v)
		}
		f.Limit = n
	}
	calls := s.live.Calls(f)
	if calls == nil {
		calls = []cdr.ActiveCall{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"calls": calls})
	return nil
}

// hangupCall serves DELETE /api/v1/calls/{id}: the switch ends the call.
// A ?customer= (which authorize sets for a customer token) limits it to
// that customer's calls: another's is not found.
func (s *Server) hangupCall(w http.ResponseWriter, r *http.Request) error {
	if s.live == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no switch on this server")
	}
	id := r.PathValue("id")
	customer := r.URL.Query().Get("customer")
	if customer != "" && len(s.live.Calls(cdr.CallFilter{CallID: id, CustomerID: customer})) == 0 {
		return errNotFound("call", id)
	}
	ok, err := s.live.Hangup(id)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: "the call could not be hung up: " + err.Error(), Err: err}
	}
	if !ok {
		return errNotFound("call", id)
	}
	p := principalOf(r)
	s.log.Info("call hung up", "call", id, "user", p.username, "role", p.role, "token", p.tokenID)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
