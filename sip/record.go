package sip

import (
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
)

// finish ends a call once: it writes the final CDR and drops the call from
// the table. at is the carrier attempt that ended it, or nil for the current
// one (BYE) or none (rejected before routing). c.mu is held.
func (s *Server) finish(c *call, at *routing.Attempt, out outcome, side string) {
	if c.ended {
		return
	}
	c.ended = true
	if c.maxTimer != nil {
		c.maxTimer.Stop()
	}
	if c.seTimer != nil {
		c.seTimer.Stop()
	}
	if l := c.leg; l != nil {
		// Ended while a carrier attempt was in progress (a BYE in an early
		// dialog): the attempt is cancelled.
		c.leg = nil
		c.legTimer.Stop()
		s.cancelLeg(l)
	}
	if !c.inv.answered() {
		s.answerInvite(c, 487, "Request Terminated") // ended before any final answer
	}
	s.ackPending(c)
	if at == nil && c.attempt > 0 {
		cur := c.carrier
		at = &cur
	}
	r := s.record(c, at, out, side, true)
	c.mediaRecord(&r)
	s.closeMedia(c)
	var ch *routing.Charge
	if s.credit != nil && r.AnswerMs > 0 {
		ch = &routing.Charge{CustomerID: r.CustomerID, CallID: c.id, Grant: c.grant, Kind: routing.KindCharge, Cost: r.SellCost, Setup: c.setup}
	}
	s.endCredit(c, ch != nil)
	s.endLimits(c)
	s.emit(r, ch, c.up)
	s.calls.remove(c, c.legs)
	if c.a.conn != nil {
		c.a.conn.release()
	}
	if l := c.answeredLeg; l != nil && l.b.conn != nil {
		l.b.conn.release()
	}
	s.metrics.active.Dec()
	switch {
	case out.answered:
		s.metrics.calls.WithLabelValues("answered").Inc()
	case out.cancelled:
		s.metrics.calls.WithLabelValues("cancelled").Inc()
	case c.attempt == 0:
		s.metrics.calls.WithLabelValues("rejected").Inc()
	default:
		s.metrics.calls.WithLabelValues("failed").Inc()
	}
}

// record rates an attempt and returns its CDR. c.mu is held.
func (s *Server) record(c *call, at *routing.Attempt, out outcome, side string, final bool) cdr.Record {
	end := s.now()
	r := cdr.Record{
		CallID: c.id, SIPCallID: c.a.callID, Attempt: c.attempt, Final: final, Node: s.node,
		CustomerID: c.ident.CustomerID, AuthMethod: c.ident.Method,
		SourceIP: c.source, Caller: c.caller,
		SetupMs: c.setup.UnixMilli(), EndMs: end.UnixMilli(),
		SIPCode: out.code, Reason: out.reason, HangupSide: side,
	}
	if !c.ringing.IsZero() && final {
		r.PDDMs = c.ringing.Sub(c.setup).Milliseconds()
	}
	answered := c.answered

	if c.plan != nil {
		r.Callee = c.plan.Number // after the customer's inbound translation
	} else if n, err := routing.Normalize(c.dialled, c.ident.TechPrefix); err == nil {
		r.Callee = n
	} else {
		r.Callee = c.dialled
	}
	if p := c.plan; p != nil {
		r.Callee = p.Number
		r.Prefix, r.Description = p.Sell.Row.Prefix, p.Sell.Row.Description
		r.Currency = p.Sell.Card.Settings().Currency
		r.SellRate = p.Sell.Row.PerMinute
	}
	if at != nil {
		r.CarrierID = at.CarrierID
		r.BuyRate = at.Buy.Row.PerMinute
	}
	if out.answered && !answered.IsZero() && at != nil && c.plan != nil {
		r.AnswerMs = answered.UnixMilli()
		r.Duration = int((end.Sub(answered) + time.Second - 1) / time.Second)
		// The switch ends the call when its paid time or its maximum
		// duration is over; the instant it takes to do so is not billed.
		if c.grant != nil {
			r.Duration = min(r.Duration, c.grant.Paid)
		}
		r.Duration = min(r.Duration, int((s.maxCallOf(c)+time.Second-1)/time.Second))
		sell := c.plan.Sell.Charge(r.Duration)
		buy := at.Buy.Charge(r.Duration)
		r.Billed = int(sell.Billed)
		r.SellCost, r.BuyCost = sell.Cost, buy.Cost
		r.Margin = sell.Cost - buy.Cost
		r.Trace = "sell " + sell.Trace.String() + "; buy " + buy.Trace.String()
	}
	return r
}

// maxCallOf is how long c may last once answered: its customer's maximum
// when it has one (shorter or longer than the switch's), else the
// switch's, never above MaxCallCeiling.
func (s *Server) maxCallOf(c *call) time.Duration {
	if n := c.plan.Customer.MaxCallSeconds; n > 0 {
		return min(MaxCallCeiling, time.Duration(n)*time.Second)
	}
	return s.maxCall
}

// maxDurationReached ends an answered call that has lasted the maximum
// duration: BYE to both sides, then the CDR.
func (s *Server) maxDurationReached(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	s.log.Info("call reached its maximum duration", "call", c.id, "max", s.maxCallOf(c))
	s.byeBoth(c)
	s.finish(c, nil, outcome{code: 200, reason: "Max Duration", answered: true}, "switch")
}
