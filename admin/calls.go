package admin

import (
	"context"
	"net/http"
	"strconv"

	"github.com/trunkline/trunkline/cdr"
)

// LiveCalls is the switch's table of calls in progress, as the admin API
// lists and ends them: those of every node of a cluster. Both methods must
// be safe for concurrent use and must not block the call path for long.
// Calls returns a snapshot, newest first, and how many nodes did not
// answer in time (their calls are not in it); an error that the other
// nodes could not be asked. Hangup ends the call with
// the switch's id from the switch (CDR hangup side "admin"); false means
// there is no such call (any more), an error that the switch could not end
// it or could not ask every node.
type LiveCalls interface {
	Calls(ctx context.Context, f cdr.CallFilter) (calls []cdr.ActiveCall, missing int, err error)
	Hangup(ctx context.Context, id string) (bool, error)
}

// WithLiveCalls serves GET /api/v1/calls and DELETE /api/v1/calls/{id}
// from lc; without it they answer 503.
func WithLiveCalls(lc LiveCalls) Option { return func(s *Server) { s.live = lc } }

// Live-call listing limits.
const (
	defaultCallLimit = 100
	maxCallLimit     = 10000
)

// headerNodesMissing says how many nodes did not answer a listing of live
// calls in time.
const headerNodesMissing = "Trunkline-Nodes-Missing"

// listCalls serves GET /api/v1/calls?customer=&carrier=&limit=: the calls
// in progress on every node, newest first. A customer token's query is
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
	calls, missing, err := s.live.Calls(r.Context(), f)
	if err != nil {
		return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error(), Err: err}
	}
	if calls == nil {
		calls = []cdr.ActiveCall{}
	}
	body := map[string]any{"calls": calls}
	if missing > 0 && !forCustomer(w) {
		// Partial: say so rather than pass a node's calls off as none
		// (the cluster's health is not a customer's business).
		w.Header().Set(headerNodesMissing, strconv.Itoa(missing))
		body["nodes_missing"] = missing
	}
	writeJSON(w, http.StatusOK, body)
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
	if customer != "" {
		calls, missing, err := s.live.Calls(r.Context(), cdr.CallFilter{CallID: id, CustomerID: customer})
		if err != nil {
			return &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable, Message: err.Error(), Err: err}
		}
		if len(calls) == 0 && missing > 0 {
			return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "not every node answered; try again")
		}
		if len(calls) == 0 {
			return errNotFound("call", id)
		}
	}
	ok, err := s.live.Hangup(r.Context(), id)
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
