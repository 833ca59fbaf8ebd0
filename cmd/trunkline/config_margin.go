package main

import (
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
)

// MarginConfig is the switch-wide margin protection policy (see
// routing.Margin); a customer's min_margin_percent and min_margin replace
// the minimums for its calls.
type MarginConfig struct {
	// MinPercent is the least margin, as a percentage of the sell cost,
	// a carrier must leave ("12.5"); MinAmount the least per call in the
	// sell card's currency ("0.001").
	MinPercent string `yaml:"min_percent"`
	MinAmount  string `yaml:"min_amount"`
	// ExpectedSeconds is the call length the margin is checked at and
	// carriers are ordered by.
	ExpectedSeconds int `yaml:"expected_seconds"`
	// IgnoreFirstBlock stops checking the margin of the shortest billed
	// call (each side's initial block), accepting losses on short calls.
	IgnoreFirstBlock bool `yaml:"ignore_first_block"`
	// MaxBreakEven, when set, also skips a carrier unless every call from
	// that length on makes money.
	MaxBreakEven time.Duration `yaml:"max_break_even"`
}

// Margin defaults: no minimum beyond not losing money, one-minute calls.
const (
	DefaultMarginMinPercent = "0"
	DefaultMarginMinAmount  = "0"
	DefaultExpectedSeconds  = routing.DefaultExpectedSeconds
)

// defaults fills the unset margin fields.
func (c *MarginConfig) defaults() {
	if c.MinPercent == "" {
		c.MinPercent = DefaultMarginMinPercent
	}
	if c.MinAmount == "" {
		c.MinAmount = DefaultMarginMinAmount
	}
	if c.ExpectedSeconds == 0 {
		c.ExpectedSeconds = DefaultExpectedSeconds
	}
}

// policy is the routing policy the section describes; bad lists what is
// wrong with it, naming the fields.
func (c MarginConfig) policy(bad func(field, format string, args ...any)) routing.Margin {
	var m routing.Margin
	if p, err := rating.ParsePercent(c.MinPercent); err != nil {
		bad("margin.min_percent", "%q is not a percentage from 0 to 100", c.MinPercent)
	} else {
		m.MinPercent = p
	}
	if a, err := rating.ParseMoney(c.MinAmount); err != nil || a < 0 {
		bad("margin.min_amount", "%q is not an amount of at least 0 with at most 6 decimals", c.MinAmount)
	} else {
		m.MinAmount = a
	}
	if c.ExpectedSeconds < 1 || c.ExpectedSeconds > routing.BreakEvenLimit {
		bad("margin.expected_seconds", "%d is outside 1..%d", c.ExpectedSeconds, routing.BreakEvenLimit)
	}
	limit := time.Duration(routing.BreakEvenLimit) * time.Second
	if c.MaxBreakEven < 0 || c.MaxBreakEven > limit || c.MaxBreakEven%time.Second != 0 {
		bad("margin.max_break_even", "%s is not whole seconds within 0..%s", c.MaxBreakEven, limit)
	}
	m.ExpectedSeconds, m.IgnoreFirstBlock, m.MaxBreakEven = c.ExpectedSeconds, c.IgnoreFirstBlock, int(c.MaxBreakEven/time.Second)
	return m
}

// routerOptions are the router options of a validated config.
func (c *Config) routerOptions() []routing.Option {
	return []routing.Option{routing.WithMargin(c.Margin.policy(func(string, string, ...any) {}))}
}
