package sip

import (
	"time"

	"github.com/trunkline/trunkline/routing"
)

// AttemptSink takes the outcome of every carrier attempt, for the quality
// gate of routing (routing.Health implements it). Attempted is called on
// the call path under the call's lock: it must be quick and safe for
// concurrent use.
type AttemptSink interface {
	// Attempted records an attempt on the endpoint key
	// (routing.EndpointKey): answered or not, and its post-dial delay
	// (from the INVITE to the first ringing or the answer; 0 when neither
	// came).
	Attempted(key string, answered bool, pdd time.Duration)
}

// WithAttemptSink reports the outcome of every carrier attempt to a.
func WithAttemptSink(a AttemptSink) Option { return func(s *Server) { s.attempts = a } }

// attemptEnded reports the end of c's current attempt (on leg l, nil when
// it was never sent). A customer's CANCEL does not end an attempt here
// (the carrier is not to blame); an attempt skipped at a limit neither.
// c.mu is held.
func (s *Server) attemptEnded(c *call, l *leg, answered bool) {
	if s.attempts == nil {
		return
	}
	var pdd time.Duration
	switch {
	case l != nil && !l.rang.IsZero():
		pdd = l.rang.Sub(c.tried)
	case answered:
		pdd = s.now().Sub(c.tried)
	}
	s.attempts.Attempted(endpointKey(c.carrier), answered, pdd)
}

func endpointKey(a routing.Attempt) string { return a.CarrierID + "/" + a.Addr }
