package auth

import (
	"context"
	"log/slog"
	"net/netip"
	"slices"
	"sync/atomic"
	"time"

	"github.com/trunkline/trunkline/store"
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
// method is safe for concurrent use. The table is in memory and per node,
// shared with the other nodes through a board if WithBanBoard gives one
// (see bans_shared.go); Run sweeps it and follows the board.
type Bans struct {
	s      *strikes[netip.Addr]
	exempt atomic.Pointer[Exempter]
	banned atomic.Int64 // bans issued, for metrics

	now        func() time.Time
	maxSources int
	board      store.BanBoard
	log        *slog.Logger
	outbox     chan store.BanEntry                // bans issued here, for the board
	remote     atomic.Pointer[map[netip.Addr]Ban] // the board's bans, as last read
	liftMark   int64                              // the board's last lift read (follow's)
	unshared   atomic.Int64                       // bans dropped from a full outbox, not yet logged
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
	board             store.BanBoard
	log               *slog.Logger
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
	b := &Bans{s: newStrikes[netip.Addr](c.threshold, c.window, c.base, c.max, c.memory, c.maxSources, c.now),
		now: c.now, maxSources: c.maxSources, board: c.board, log: c.log}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.board != nil {
		b.outbox = make(chan store.BanEntry, 1024)
	}
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

// Banned reports whether src is banned now, here or on the board.
func (b *Bans) Banned(src netip.Addr) bool {
	src = src.Unmap()
	_, ok := b.s.locked(src)
	return ok || b.remoteBanned(src)
}

// Fail records an authentication failure from src and reports whether it
// got src banned. Failures of exempt sources are not counted.
func (b *Bans) Fail(src netip.Addr) bool {
	src = src.Unmap()
	if b.isExempt(src) {
		return false
	}
	until, banned := b.s.fail(src)
	if banned {
		b.banned.Add(1)
		if b.board != nil {
			since, count := b.s.history(src)
			b.publish(src, since, until, count)
		}
	}
	return banned
}

// Succeed forgets src's failures since its last ban (a successful
// authentication), keeping its ban history.
func (b *Bans) Succeed(src netip.Addr) { b.s.reset(src.Unmap()) }

// List returns the current bans, here and on the board, most recent
// first.
func (b *Bans) List() []Ban {
	act := b.s.active()
	out := make([]Ban, 0, len(act))
	seen := make(map[netip.Addr]int, len(act))
	for _, a := range act {
		seen[a.key] = len(out)
		out = append(out, Ban{IP: a.key, Since: a.since, Until: a.until, Count: a.count})
	}
	if m := b.remote.Load(); m != nil {
		now := b.now()
		for ip, r := range *m {
			switch i, ok := seen[ip]; {
			case !now.Before(r.Until):
			case !ok:
				out = append(out, r)
			case r.Until.After(out[i].Until):
				out[i] = r
			}
		}
	}
	slices.SortFunc(out, func(x, y Ban) int {
		if c := y.Since.Compare(x.Since); c != 0 {
			return c
		}
		return x.IP.Compare(y.IP)
	})
	return out
}

// Lift ends src's ban at once, here and on the board, and forgets its
// history; it reports whether src was banned. An error means the board
// could not be told: src is free on this node only.
func (b *Bans) Lift(src netip.Addr) (bool, error) {
	src = src.Unmap()
	here := b.s.lift(src)
	there, err := b.liftRemote(src)
	return here || there, err
}

// Issued returns the number of bans issued since start.
func (b *Bans) Issued() int64 { return b.banned.Load() }

// Run sweeps forgotten sources every interval, and follows the board,
// until ctx ends.
func (b *Bans) Run(ctx context.Context, interval time.Duration) {
	if b.board != nil {
		go b.follow(ctx)
	}
	every(ctx, interval, b.s.sweep)
}
