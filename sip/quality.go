package sip

import "github.com/trunkline/trunkline/routing"

// AttemptSink takes the outcome of every carrier attempt, for the quality
// gate of routing (routing.Health implements it). Attempted is called on
// the call path under the call's lock: it must be quick and safe for
// concurrent use.
type AttemptSink interface {
	// Attempted records an attempt on the endpoint key
	// (routing.EndpointKey): its final code (2xx answered, 0 none came),
	// whether it rang, and its post-dial delay (from the INVITE to the
	// first ringing or the answer; 0 when neither came). The sink decides
	// which outcomes are the carrier's fault
	// (routing.AttemptOutcome.CarrierFailed).
	Attempted(key string, o routing.AttemptOutcome)
}

// WithAttemptSink reports the outcome of every carrier attempt to a.
func WithAttemptSink(a AttemptSink) Option { return func(s *Server) { s.attempts = a } }

// attemptEnded reports the end of c's current attempt (on leg l, nil when
// it was never sent) with its final code: 2xx answered, 0 when no final
// response came (a timeout, a transport error). A customer's CANCEL does
// not end an attempt here (the carrier is not to blame); an attempt
// skipped at a limit neither. c.mu is held.
func (s *Server) attemptEnded(c *call, l *leg, code int) {
	if s.attempts == nil {
		return
	}
	o := routing.AttemptOutcome{Code: code, Rang: l != nil && l.ring}
	switch {
	case l != nil && !l.rang.IsZero():
		o.PDD = l.rang.Sub(c.tried)
	case o.Answered():
		o.PDD = s.now().Sub(c.tried)
	}
	s.attempts.Attempted(endpointKey(c.carrier), o)
}

func endpointKey(a routing.Attempt) string { return a.CarrierID + "/" + a.Addr }
