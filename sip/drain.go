package sip

import (
	"context"
	"time"
)

// Drain stops the switch taking calls and ends the ones it has: new INVITEs
// get 503 with Retry-After from now on; calls still up when ctx ends are
// hung up (BYE on both legs of an answered call, 503 to a customer still
// waiting for an answer, CANCEL to its carrier) and their CDRs written.
// It returns once no call is left and the switch's BYEs have been
// answered or have timed out (at most 64·T1 more). Close still has to be
// called.
func (s *Server) Drain(ctx context.Context) {
	s.draining.Store(true)
	s.log.Info("draining: refusing new calls", "calls", s.calls.len())
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for s.calls.len() > 0 {
		select {
		case <-ctx.Done():
			s.endAll()
		case <-tick.C:
		}
	}
	// Let the BYEs and CANCELs just sent be answered (or retransmitted).
	deadline := time.Now().Add(s.timer64())
	for s.clients.pending() > 0 && time.Now().Before(deadline) {
		<-tick.C
	}
}

// Draining reports whether Drain has been called.
func (s *Server) Draining() bool { return s.draining.Load() }

// WithRecovery makes a new Server answer new calls 503 until Recovered is
// called: the switch first ends (and charges) the calls a crash left, so
// that new calls cannot reserve money those already spent.
func WithRecovery() Option { return func(s *Server) { s.recovering.Store(true) } }

// Recovered lets a Server made WithRecovery take calls.
func (s *Server) Recovered() { s.recovering.Store(false) }

// Recovering reports whether the Server still refuses calls while the
// calls a crash left are ended.
func (s *Server) Recovering() bool { return s.recovering.Load() }

// CallsTaken counts the calls taken since start (the customer's INVITE
// accepted for routing), for the node's calls per second.
func (s *Server) CallsTaken() uint64 { return s.taken.Load() }

// endAll ends every live call from the switch.
func (s *Server) endAll() {
	s.calls.each(func(c *call) {
		c.mu.Lock()
		defer c.mu.Unlock()
		if c.ended {
			return
		}
		if c.answeredLeg != nil {
			s.byeBoth(c)
			s.finish(c, nil, outcome{code: 200, reason: "Shutdown", answered: true}, "switch")
			return
		}
		s.answerInvite(c, 503, "Service Unavailable", "Retry-After: 30")
		s.finish(c, nil, outcome{code: 503, reason: "Shutdown", relayed: true}, "switch")
	})
}
