package sip

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/trunkline/trunkline/routing"
)

// Limits enforces channel and call-rate limits as the switch carries them
// out (routing.Limiter implements it; see it for the contract). All
// methods are safe for concurrent use.
type Limits interface {
	Admit(ctx context.Context, customerID string, entry routing.Entry, callID string) (*routing.Leases, error)
	Attempt(ctx context.Context, ls *routing.Leases, a routing.Attempt) string
	Refresh(ctx context.Context, ls *routing.Leases) (retaken int)
	Release(ctx context.Context, ls *routing.Leases)
	RefreshEvery() time.Duration
}

// WithLimits enforces channel and calls-per-second limits: a customer's at
// set-up (refused before any carrier is tried), a carrier's and its
// endpoint's before each attempt (skipped when at a limit).
func WithLimits(l Limits) Option { return func(s *Server) { s.limits = l } }

// limitLabel is the metric label of a limit's refusal reason
// ("Customer Channel Limit" → "customer_channel").
func limitLabel(reason string) string {
	return strings.ToLower(strings.ReplaceAll(strings.TrimSuffix(reason, " Limit"), " ", "_"))
}

// reasonLine is the Reason header (RFC 3326) of a response the switch
// refuses a call with for a limit.
func reasonLine(code int, text string) string {
	return "Reason: SIP;cause=" + strconv.Itoa(code) + ";text=\"" + text + "\""
}

// armLimits starts refreshing the leases of a call. c.mu is held.
func (s *Server) armLimits(c *call) {
	if c.leases == nil {
		return
	}
	c.limitTimer = time.AfterFunc(s.limits.RefreshEvery(), func() { s.refreshLimits(c) })
}

func (s *Server) refreshLimits(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return
	}
	if n := s.limits.Refresh(context.Background(), c.leases); n > 0 {
		s.metrics.leaseRetakes.Add(float64(n))
		s.log.Warn("channel leases had expired: taken again", "call", c.id, "leases", n)
	}
	s.armLimits(c)
}

// attemptLimit takes the limits of carrier attempt a; it returns why the
// attempt may not be made ("" when it may): the carrier or its endpoint is
// at a limit (counted, logged). c.mu is held.
func (s *Server) attemptLimit(c *call, a routing.Attempt) string {
	if c.leases == nil {
		return ""
	}
	ctx, cancel := s.setupContext()
	why := s.limits.Attempt(ctx, c.leases, a)
	cancel()
	if why != "" {
		s.metrics.limitRefusals.WithLabelValues(limitLabel(why)).Inc()
		s.log.Debug("carrier skipped: at its limit", "call", c.id, "carrier", a.CarrierID, "addr", a.Addr, "reason", why)
	}
	return why
}

// endLimits stops refreshing a call's leases and releases them. c.mu is
// held.
func (s *Server) endLimits(c *call) {
	if c.limitTimer != nil {
		c.limitTimer.Stop()
	}
	if c.leases != nil {
		s.limits.Release(context.Background(), c.leases)
	}
}
