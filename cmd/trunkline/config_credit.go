package main

import (
	"time"

	"github.com/trunkline/trunkline/routing"
)

// CreditConfig configures credit control: how calls of customers with a
// credit limit, a daily spend limit or a maximum call cost reserve their
// credit while they live.
type CreditConfig struct {
	// BlockSeconds is how many seconds of a call each extension of its
	// reservation asks for (rounded up to the rate's increments). Smaller
	// blocks share a balance more finely between concurrent calls.
	BlockSeconds int `yaml:"block_seconds"`
	// HoldTTL is how long a reservation outlives its call's last extension
	// when its node dies without settling it.
	HoldTTL time.Duration `yaml:"hold_ttl"`
}

func (c *CreditConfig) defaults() {
	if c.BlockSeconds == 0 {
		c.BlockSeconds = routing.DefaultCreditBlock
	}
	if c.HoldTTL == 0 {
		c.HoldTTL = routing.DefaultHoldTTL
	}
}

// validate checks the section; attempt is the longest a carrier attempt
// can leave a call's holds untouched (its invite and ring timeouts): they
// must outlive it.
func (c *CreditConfig) validate(bad func(field, format string, args ...any), attempt time.Duration) {
	if c.BlockSeconds < 1 || c.BlockSeconds > 3600 {
		bad("credit.block_seconds", "%d is outside 1..3600", c.BlockSeconds)
	}
	if c.HoldTTL < 10*time.Second || c.HoldTTL > 24*time.Hour {
		bad("credit.hold_ttl", "%s is outside 10s..24h", c.HoldTTL)
	} else if c.HoldTTL <= attempt {
		bad("credit.hold_ttl", "%s must be longer than sip.invite_timeout plus sip.ring_timeout (%s)", c.HoldTTL, attempt)
	}
}
