package auth

import (
	"context"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"
)

// Ban defaults: 5 failures within a minute ban a source for 1 minute, then
// 2, 4, … up to a day for repeat offenders within a day.
const (
	DefaultBanThreshold = 5
	DefaultBanWindow    = time.Minute
	DefaultBanBase      = time.Minute
	DefaultBanMax       = 24 * time.Hour
	DefaultBanMemory    = 24 * time.Hour
	DefaultBanSources   = 100_000
)

// Ban is one banned source address.
type Ban struct {
	IP    netip.Addr `json:"ip"`
	Since time.Time  `json:"since"`
	Until time.Time  `json:"until"`
	Count int        `json:"count"` // bans of this source within the memory period, this one included
}

// Exempter tells whether a source address must never be banned or
// flood-limited (known customer and carrier addresses). It is called on the
// hot path and must be fast and safe for concurrent use.
type Exempter interface {
	Exempt(ip netip.Addr) bool
}

// ExemptFunc adapts a function to Exempter.
type ExemptFunc func(ip netip.Addr) bool

// Exempt calls f.
func (f ExemptFunc) Exempt(ip netip.Addr) bool { return f(ip) }

// ExemptPrefixes exempts the addresses within any of prefixes.
func ExemptPrefixes(prefixes ...netip.Prefix) Exempter {
	return ExemptFunc(func(ip netip.Addr) bool {
		ip = ip.Unmap()
		for _, p := range prefixes {
			if p.Contains(ip) {
				return true
			}
		}
		return false
	})
}

// Bans counts authentication failures per source address and bans a
// source that fails Threshold times within Window, for a time that doubles
// with each ban within the memory period. Exempt sources are never banned.
// Banned is the fast-path check (a read lock and a map look-up); every
// method is safe for concurrent use. The table is in memory and per node;
// Run sweeps it.
type Bans struct {
	s      *strikes[netip.Addr]
	exempt atomic.Pointer[Exempter]
	banned atomic.Int64 // bans issued, for metrics
}

// BanOption configures Bans.
type BanOption func(*banConfig)

type banConfig struct {
	threshold         int
	window, base, max time.Duration
	memory            time.Duration
	maxSources        int
	now               func() time.Time
	exempt            Exempter
}

// WithBanThreshold bans after n failures within window.
func WithBanThreshold(n int, window time.Duration) BanOption {
	return func(c *banConfig) { c.threshold, c.window = n, window }
}

// WithBanDuration sets the first ban's length and the longest.
func WithBanDuration(base, max time.Duration) BanOption {
	return func(c *banConfig) { c.base, c.max = base, max }
}

// WithBanMemory sets how long a past ban makes the next one longer.
func WithBanMemory(d time.Duration) BanOption { return func(c *banConfig) { c.memory = d } }

// WithBanSources bounds the number of source addresses tracked.
func WithBanSources(n int) BanOption { return func(c *banConfig) { c.maxSources = n } }

// WithExempt sets the sources never banned (see also SetExempt).
func WithExempt(e Exempter) BanOption { return func(c *banConfig) { c.exempt = e } }

// WithBanClock sets the clock (for tests).
func WithBanClock(now func() time.Time) BanOption { return func(c *banConfig) { c.now = now } }

// NewBans returns an empty ban table.
func NewBans(opts ...BanOption) *Bans {
	c := banConfig{threshold: DefaultBanThreshold, window: DefaultBanWindow, base: DefaultBanBase,
		max: DefaultBanMax, memory: DefaultBanMemory, maxSources: DefaultBanSources, now: time.Now}
	for _, o := range opts {
		o(&c)
	}
	b := &Bans{s: newStrikes[netip.Addr](c.threshold, c.window, c.base, c.max, c.memory, c.maxSources, c.now)}
	if c.exempt != nil {
		b.SetExempt(c.exempt)
	}
	return b
}

// SetExempt replaces the exempt set; an exempt source that is banned now
// stays banned until lifted or expired.
func (b *Bans) SetExempt(e Exempter) { b.exempt.Store(&e) }

func (b *Bans) isExempt(ip netip.Addr) bool {
	e := b.exempt.Load()
	return e != nil && (*e).Exempt(ip)
}

// Banned reports whether src is banned now.
func (b *Bans) Banned(src netip.Addr) bool {
	_, ok := b.s.locked(src.Unmap())
	return ok
}

// Fail records an authentication failure from src and reports whether it
// got src banned. Failures of exempt sources are not counted.
func (b *Bans) Fail(src netip.Addr) bool {
	src = src.Unmap()
	if b.isExempt(src) {
		return false
	}
	_, banned := b.s.fail(src)
	if banned {
		b.banned.Add(1)
	}
	return banned
}

// Succeed forgets src's failures since its last ban (a successful
// authentication), keeping its ban history.
func (b *Bans) Succeed(src netip.Addr) { b.s.reset(src.Unmap()) }

// List returns the current bans, most recent first.
func (b *Bans) List() []Ban {
	act := b.s.active()
	out := make([]Ban, 0, len(act))
	for _, a := range act {
		out = append(out, Ban{IP: a.key, Since: a.since, Until: a.until, Count: a.count})
	}
	slices.SortFunc(out, func(x, y Ban) int {
		if c := y.Since.Compare(x.Since); c != 0 {
			return c
		}
		return x.IP.Compare(y.IP)
	})
	return out
}

// Lift ends src's ban at once and forgets its history; it reports whether
// src was banned.
func (b *Bans) Lift(src netip.Addr) bool { return b.s.lift(src.Unmap()) }

// Issued returns the number of bans issued since start.
func (b *Bans) Issued() int64 { return b.banned.Load() }

// Run sweeps forgotten sources every interval until ctx ends.
func (b *Bans) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, b.s.sweep)
}
