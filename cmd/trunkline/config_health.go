package main

import (
	"time"

	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip"
)

// Carrier health defaults.
const (
	DefaultProbeInterval = sip.DefaultProbeInterval     // 10s
	DefaultProbeTimeout  = sip.DefaultProbeTimeout      // 2s
	DefaultDownAfter     = routing.DefaultDownAfter     // 3
	DefaultUpAfter       = routing.DefaultUpAfter       // 2
	DefaultHealthWindow  = routing.DefaultQualityWindow // 50
	DefaultMinSamples    = routing.DefaultQualityMinSamples
	DefaultCooldown      = routing.DefaultDemotionCooldown // 15m
)

// HealthConfig configures carrier endpoint health: OPTIONS probing (an
// endpoint that stops answering is skipped, and used again when it
// answers) and the quality gate (an endpoint whose recent ASR or PDD is
// poor is tried after the others).
type HealthConfig struct {
	// Enabled turns probing on (default true). Without it every endpoint
	// is used; the quality gate still applies when configured.
	Enabled *bool `yaml:"enabled"`
	// ProbeInterval is how often each endpoint gets an OPTIONS.
	ProbeInterval time.Duration `yaml:"probe_interval"`
	// ProbeTimeout is how long a probe waits for its final answer; less
	// than the interval.
	ProbeTimeout time.Duration `yaml:"probe_timeout"`
	// DownAfter failed probes in a row mark an endpoint down; UpAfter
	// answered ones mark it up again.
	DownAfter int `yaml:"down_after"`
	UpAfter   int `yaml:"up_after"`
	// MinASR (0..1; 0, the default, is off) and MaxPDD (0 is off) are the
	// quality gate over the last Window attempts of an endpoint, judged
	// from MinSamples of them. The ASR counts only answered attempts and
	// those the carrier failed, not the callee's busy, no answer or
	// decline (routing.AttemptOutcome.CarrierFailed).
	MinASR     float64       `yaml:"min_asr"`
	MaxPDD     time.Duration `yaml:"max_pdd"`
	Window     int           `yaml:"window"`
	MinSamples int           `yaml:"min_samples"`
	// Cooldown is how long a demotion lasts (default 15m): then the
	// endpoint's window is emptied and it is tried in its place again,
	// judged on fresh attempts.
	Cooldown time.Duration `yaml:"cooldown"`
}

func (c *HealthConfig) defaults() {
	if c.Enabled == nil {
		on := true
		c.Enabled = &on
	}
	if c.ProbeInterval == 0 {
		c.ProbeInterval = DefaultProbeInterval
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = min(DefaultProbeTimeout, c.ProbeInterval/2)
	}
	if c.DownAfter == 0 {
		c.DownAfter = DefaultDownAfter
	}
	if c.UpAfter == 0 {
		c.UpAfter = DefaultUpAfter
	}
	if c.Window == 0 {
		c.Window = DefaultHealthWindow
	}
	if c.MinSamples == 0 {
		c.MinSamples = min(DefaultMinSamples, c.Window)
	}
	if c.Cooldown == 0 {
		c.Cooldown = DefaultCooldown
	}
}

func (c *HealthConfig) validate(bad func(field, format string, args ...any)) {
	if c.ProbeInterval < 100*time.Millisecond || c.ProbeInterval > time.Hour {
		bad("health.probe_interval", "%s is outside 100ms..1h", c.ProbeInterval)
	}
	if c.ProbeTimeout < 10*time.Millisecond || c.ProbeTimeout >= c.ProbeInterval {
		bad("health.probe_timeout", "%s is not between 10ms and the probe interval (%s)", c.ProbeTimeout, c.ProbeInterval)
	}
	if c.DownAfter < 1 || c.DownAfter > 100 {
		bad("health.down_after", "%d is outside 1..100", c.DownAfter)
	}
	if c.UpAfter < 1 || c.UpAfter > 100 {
		bad("health.up_after", "%d is outside 1..100", c.UpAfter)
	}
	if c.MinASR < 0 || c.MinASR > 1 {
		bad("health.min_asr", "%g is outside 0..1", c.MinASR)
	}
	if c.MaxPDD < 0 || c.MaxPDD > 5*time.Minute {
		bad("health.max_pdd", "%s is outside 0..5m", c.MaxPDD)
	}
	if c.Window < 1 || c.Window > 10000 {
		bad("health.window", "%d is outside 1..10000", c.Window)
	}
	if c.MinSamples < 1 || c.MinSamples > c.Window {
		bad("health.min_samples", "%d is outside 1..window (%d)", c.MinSamples, c.Window)
	}
	if c.Cooldown < time.Second || c.Cooldown > 24*time.Hour {
		bad("health.cooldown", "%s is outside 1s..24h", c.Cooldown)
	}
}

// probing reports whether endpoints are probed.
func (c HealthConfig) probing() bool { return c.Enabled == nil || *c.Enabled }

// health is the routing.Health the section describes.
func (c HealthConfig) health() *routing.Health {
	return routing.NewHealth(routing.WithThresholds(c.DownAfter, c.UpAfter),
		routing.WithQualityGate(c.MinASR, c.MaxPDD, c.Window, c.MinSamples), routing.WithDemotionCooldown(c.Cooldown))
}

// proberOptions are the sip.Prober options the section describes.
func (c HealthConfig) proberOptions() []sip.ProbeOption {
	return []sip.ProbeOption{sip.WithProbeInterval(c.ProbeInterval), sip.WithProbeTimeout(c.ProbeTimeout)}
}
