package auth

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// Flood guard defaults.
const (
	DefaultFloodRate    = 50 // requests per second per source
	DefaultFloodBurst   = 100
	DefaultFloodSources = 100_000
)

// FloodGuard limits the requests per second of each source address with a
// token bucket per source (golang.org/x/time/rate). Memory is bounded: a
// source whose bucket is full again is indistinguishable from a new one and
// is dropped by Run or when the table is full; past that, arbitrary sources
// are dropped (they start again with a full bucket). Exempt sources are
// never limited. Allow is safe for concurrent use.
type FloodGuard struct {
	limit   rate.Limit
	burst   int
	max     int
	now     func() time.Time
	exempt  atomic.Pointer[Exempter]
	dropped atomic.Int64

	mu      sync.Mutex
	sources map[netip.Addr]*rate.Limiter
}

// FloodOption configures a FloodGuard.
type FloodOption func(*FloodGuard)

// WithFloodSources bounds the number of sources tracked.
func WithFloodSources(n int) FloodOption { return func(g *FloodGuard) { g.max = max1(n) } }

// WithFloodExempt sets the sources never limited (see also SetExempt).
func WithFloodExempt(e Exempter) FloodOption { return func(g *FloodGuard) { g.SetExempt(e) } }

// WithFloodClock sets the clock (for tests).
func WithFloodClock(now func() time.Time) FloodOption { return func(g *FloodGuard) { g.now = now } }

// NewFloodGuard allows each source perSecond requests per second on
// average and burst at once.
func NewFloodGuard(perSecond float64, burst int, opts ...FloodOption) *FloodGuard {
	g := &FloodGuard{limit: rate.Limit(perSecond), burst: max1(burst), max: DefaultFloodSources,
		now: time.Now, sources: make(map[netip.Addr]*rate.Limiter)}
	for _, o := range opts {
		o(g)
	}
	return g
}

// SetExempt replaces the exempt set.
func (g *FloodGuard) SetExempt(e Exempter) { g.exempt.Store(&e) }

// Allow reports whether a request from src may go on now; false means
// drop it (or answer 503) and count it.
func (g *FloodGuard) Allow(src netip.Addr) bool {
	src = src.Unmap()
	if e := g.exempt.Load(); e != nil && (*e).Exempt(src) {
		return true
	}
	now := g.now()
	g.mu.Lock()
	l := g.sources[src]
	if l == nil {
		if len(g.sources) >= g.max {
			g.evict(now)
		}
		l = rate.NewLimiter(g.limit, g.burst)
		g.sources[src] = l
	}
	ok := l.AllowN(now, 1)
	g.mu.Unlock()
	if !ok {
		g.dropped.Add(1)
	}
	return ok
}

// Dropped returns the number of requests refused since start.
func (g *FloodGuard) Dropped() int64 { return g.dropped.Load() }

// Sources returns the number of sources tracked.
func (g *FloodGuard) Sources() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.sources)
}

// evict drops sources whose bucket is full; if the table is still full,
// arbitrary ones. Called with mu held.
func (g *FloodGuard) evict(now time.Time) {
	for ip, l := range g.sources {
		if l.TokensAt(now) >= float64(g.burst) {
			delete(g.sources, ip)
		}
	}
	for ip := range g.sources {
		if len(g.sources) < g.max*9/10 {
			return
		}
		delete(g.sources, ip)
	}
}

// Run drops idle sources every interval until ctx ends.
func (g *FloodGuard) Run(ctx context.Context, interval time.Duration) {
	every(ctx, interval, func() {
		now := g.now()
		g.mu.Lock()
		for ip, l := range g.sources {
			if l.TokensAt(now) >= float64(g.burst) {
				delete(g.sources, ip)
			}
		}
		g.mu.Unlock()
	})
}
