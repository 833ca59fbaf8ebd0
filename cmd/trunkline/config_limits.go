package main

import (
	"time"

	"github.com/trunkline/trunkline/routing"
)

// LimitsConfig configures channel and calls-per-second limits.
type LimitsConfig struct {
	// DefaultCustomerChannels is the channel limit of a customer without
	// one; set it to -1 for unlimited.
	DefaultCustomerChannels int `yaml:"default_customer_channels"`
	// ChannelCode is the SIP status of a call refused for channels: 503
	// (default) or 486.
	ChannelCode int `yaml:"channel_code"`
	// LeaseTTL is how long a call's channel outlives its node's last sign
	// of life: a crashed node's channels free themselves after it.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
	// OnStoreError is what a call gets when its limits cannot be checked
	// (the cluster's Redis down or slow): "refuse" (default: 503 "Limits
	// Unavailable", the limits hold) or "admit" (the calls flow, unlimited
	// until the store is back).
	OnStoreError string `yaml:"on_store_error"`
}

func (c *LimitsConfig) defaults() {
	if c.DefaultCustomerChannels == 0 {
		c.DefaultCustomerChannels = routing.DefaultCustomerChannels
	}
	if c.ChannelCode == 0 {
		c.ChannelCode = 503
	}
	if c.LeaseTTL == 0 {
		c.LeaseTTL = routing.DefaultLeaseTTL
	}
	if c.OnStoreError == "" {
		c.OnStoreError = "refuse"
	}
}

func (c *LimitsConfig) validate(bad func(field, format string, args ...any)) {
	if c.DefaultCustomerChannels < -1 || c.DefaultCustomerChannels > 1_000_000 {
		bad("limits.default_customer_channels", "%d is outside -1 (unlimited)..1000000", c.DefaultCustomerChannels)
	}
	if c.ChannelCode != 503 && c.ChannelCode != 486 {
		bad("limits.channel_code", "%d is not 503 or 486", c.ChannelCode)
	}
	if c.LeaseTTL < 10*time.Second || c.LeaseTTL > time.Hour {
		bad("limits.lease_ttl", "%s is outside 10s..1h", c.LeaseTTL)
	}
	if c.OnStoreError != "refuse" && c.OnStoreError != "admit" {
		bad("limits.on_store_error", "%q is not refuse or admit", c.OnStoreError)
	}
}

// limiterOptions are the routing.Limiter options the section describes;
// onErr hears of the store failures an "admit" policy lets pass.
func (c LimitsConfig) limiterOptions(onErr func(op string, err error)) []routing.LimiterOption {
	channels := max(c.DefaultCustomerChannels, 0) // -1: unlimited
	opts := []routing.LimiterOption{routing.WithDefaultChannels(channels), routing.WithChannelCode(c.ChannelCode), routing.WithLeaseTTL(c.LeaseTTL)}
	if c.OnStoreError == "admit" {
		opts = append(opts, routing.WithFailOpen(onErr))
	}
	return opts
}
