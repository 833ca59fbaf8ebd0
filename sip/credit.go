package sip

import (
	"context"
	"time"

	"github.com/trunkline/trunkline/routing"
)

// Credit is credit control as the switch carries it out (routing.Wallet
// implements it): a call's credit is opened at set-up, extended block by
// block while it is answered, and charged or released when it ends. See
// routing.Wallet for the contract; all methods are safe for concurrent use.
type Credit interface {
	Open(ctx context.Context, p *routing.Plan, callID string) (*routing.Grant, error)
	Extend(ctx context.Context, g *routing.Grant) (int, error)
	Refresh(ctx context.Context, g *routing.Grant) error
	RefreshEvery() time.Duration
	Release(ctx context.Context, g *routing.Grant)
	// ChargeAll returns one error per charge, nil for one posted.
	ChargeAll(ctx context.Context, cs []routing.Charge) []error
}

// WithCredit puts calls under credit control and charges every answered
// call to its customer's ledger when its CDR is written.
func WithCredit(c Credit) Option { return func(s *Server) { s.credit = c } }

// creditLead is how long before a call's paid time ends the switch asks for
// the next block (at most half the time left).
const creditLead = 2 * time.Second

// Reasons in CDRs of calls the switch ended for money.
const (
	reasonCreditExhausted = "credit exhausted"
	reasonMaxCallCost     = "max call cost"
)

// startCredit begins the paid time of an answered call with a grant.
// c.mu is held.
func (s *Server) startCredit(c *call) {
	if c.grant == nil {
		return
	}
	c.paidEnd = c.answered.Add(time.Duration(c.grant.Paid) * time.Second)
	s.refreshAttempt(c) // it may have rung for minutes
	s.armCredit(c)
}

// armCredit sets the timer that extends the call's credit before its paid
// time ends, or refreshes its holds first when that is further away than
// they live. c.mu is held.
func (s *Server) armCredit(c *call) {
	left := c.paidEnd.Sub(s.now())
	wait := left - min(creditLead, left/2)
	if every := s.credit.RefreshEvery(); wait > every {
		c.creditTimer = time.AfterFunc(every, func() { s.refreshCredit(c) })
		return
	}
	c.creditTimer = time.AfterFunc(wait, func() { s.extendCredit(c) })
}

// refreshCredit keeps a long block's holds alive until it is time to
// extend them.
func (s *Server) refreshCredit(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	if err := s.credit.Refresh(context.Background(), c.grant); err != nil {
		s.log.Error("call credit not refreshed", "call", c.id, "customer", c.ident.CustomerID, "error", err)
	}
	s.armCredit(c)
}

// refreshAttempt keeps a call's holds alive while it tries carriers and
// rings: each attempt refreshes them. c.mu is held.
func (s *Server) refreshAttempt(c *call) {
	if c.grant == nil {
		return
	}
	if err := s.credit.Refresh(context.Background(), c.grant); err != nil {
		s.log.Error("call credit not refreshed", "call", c.id, "customer", c.ident.CustomerID, "error", err)
	}
}

// extendCredit reserves the next block of a call's credit; when there is
// none, the call ends when its paid time does.
func (s *Server) extendCredit(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	added, err := s.credit.Extend(context.Background(), c.grant)
	if err != nil {
		s.log.Error("call credit not extended", "call", c.id, "customer", c.ident.CustomerID, "error", err)
	}
	if added > 0 {
		c.paidEnd = c.paidEnd.Add(time.Duration(added) * time.Second)
		s.armCredit(c)
		if c.up {
			s.callUp(c) // the register learns the new paid time
		}
		return
	}
	c.creditTimer = time.AfterFunc(c.paidEnd.Sub(s.now()), func() { s.creditExhausted(c) })
}

// creditExhausted ends a call whose paid time is over: BYE to both sides at
// that second, then the CDR, billed for the paid time at most.
func (s *Server) creditExhausted(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	reason := reasonCreditExhausted
	if c.grant.AtCap() {
		reason = reasonMaxCallCost
	}
	s.log.Info("call ended: its paid time is over", "call", c.id, "customer", c.ident.CustomerID, "paid", c.grant.Paid, "reason", reason)
	s.metrics.creditCuts.Inc()
	s.byeBoth(c)
	s.finish(c, nil, outcome{code: 200, reason: reason, answered: true}, "switch")
}

// endCredit stops a call's credit timer and frees the reservation of a
// call that will not be charged. c.mu is held.
func (s *Server) endCredit(c *call, charged bool) {
	if c.creditTimer != nil {
		c.creditTimer.Stop()
	}
	if c.grant != nil && !charged {
		s.credit.Release(context.Background(), c.grant)
	}
}
