package sip

import (
	"cmp"
	"slices"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
)

// States of a live call (cdr.ActiveCall.State).
const (
	stateRouting  = "routing"
	stateTrying   = "trying"
	stateRinging  = "ringing"
	stateAnswered = "answered"
)

// reasonAdminHangup is the CDR reason of a call an operator ended.
const reasonAdminHangup = "Admin Hangup"

// Calls returns a snapshot of the calls in progress that f selects, newest
// first. Each call is copied under its own lock, one at a time and never
// with the call table's lock held (the call path takes a call's lock, then
// the table's); a call of another customer than f's is skipped without
// taking its lock. It is safe for concurrent use.
func (s *Server) Calls(f cdr.CallFilter) []cdr.ActiveCall {
	now := s.now()
	var out []cdr.ActiveCall
	visit := func(c *call) {
		// ident and the other fields set before the call entered the
		// table never change: no lock needed to read them.
		if f.CustomerID != "" && c.ident.CustomerID != f.CustomerID {
			return
		}
		c.mu.Lock()
		lc, ok := s.liveCall(c, now)
		c.mu.Unlock()
		if ok && (f.CarrierID == "" || lc.CarrierID == f.CarrierID) {
			out = append(out, lc)
		}
	}
	if f.CallID != "" {
		if c := s.calls.get(f.CallID); c != nil {
			visit(c)
		}
	} else {
		s.calls.each(visit)
	}
	slices.SortFunc(out, func(a, b cdr.ActiveCall) int {
		return cmp.Or(cmp.Compare(b.SetupMs, a.SetupMs), cmp.Compare(a.ID, b.ID))
	})
	if f.Limit > 0 && len(out) > f.Limit {
		out = out[:f.Limit]
	}
	return out
}

// liveCall describes c as at now; false when it has ended. c.mu is held.
func (s *Server) liveCall(c *call, now time.Time) (cdr.ActiveCall, bool) {
	if c.ended {
		return cdr.ActiveCall{}, false
	}
	lc := cdr.ActiveCall{
		ID: c.id, SIPCallID: c.a.callID, CustomerID: c.ident.CustomerID, Caller: c.caller,
		SetupMs: c.setup.UnixMilli(), Node: s.node, Attempt: c.attempt, State: stateRouting,
	}
	if p := c.plan; p != nil {
		lc.Callee, lc.SellRate, lc.Currency = p.Number, p.Sell.Row.PerMinute, p.Sell.Card.Settings().Currency
	} else if n, err := routing.Normalize(c.dialled, c.ident.TechPrefix); err == nil {
		lc.Callee = n
	} else {
		lc.Callee = c.dialled
	}
	if c.attempt > 0 {
		lc.CarrierID = c.carrier.CarrierID
		if c.carrier.Buy.Card != nil {
			lc.BuyRate = c.carrier.Buy.Row.PerMinute
		}
	}
	switch {
	case c.answeredLeg != nil:
		lc.State, lc.AnswerMs = stateAnswered, c.answered.UnixMilli()
		lc.Duration = int((now.Sub(c.answered) + time.Second - 1) / time.Second)
	case c.leg != nil && c.provisional:
		lc.State = stateRinging
	case c.leg != nil:
		lc.State = stateTrying
	}
	return lc, true
}

// Hangup ends the call with the switch's id id from the switch, on an
// operator's word; false when there is no such call (or it has just
// ended). An answered call gets a BYE on both legs and its CDR says 200
// "Admin Hangup". A call not yet answered gets 487 Request Terminated on
// the customer's INVITE (not 503: the customer should not retry it
// elsewhere, as it would a switch that is unavailable) and a CANCEL to the
// carrier attempt in progress; its CDR says 487 "Admin Hangup". Either way
// the CDR's hangup side is "admin", and it is written exactly once whatever
// BYE, CANCEL or timer races it (finish under the call's lock).
func (s *Server) Hangup(id string) (bool, error) {
	s.closeMu.Lock()
	closed := s.closing
	s.closeMu.Unlock()
	if closed {
		return false, ErrClosed
	}
	c := s.calls.get(id)
	if c == nil {
		return false, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return false, nil
	}
	lc, _ := s.liveCall(c, s.now())
	s.log.Info("call hung up by an operator", "call", c.id, "customer", c.ident.CustomerID, "state", lc.State, "attempt", c.attempt)
	if c.answeredLeg != nil {
		s.byeBoth(c)
		s.finish(c, nil, outcome{code: 200, reason: reasonAdminHangup, answered: true}, "admin")
		return true, nil
	}
	if !c.inv.answered() {
		s.answerInvite(c, 487, "Request Terminated")
	}
	if c.leg != nil {
		s.metrics.attempts.WithLabelValues("cancelled").Inc()
	}
	s.finish(c, nil, outcome{code: 487, reason: reasonAdminHangup, cancelled: true, relayed: true}, "admin")
	return true, nil
}
