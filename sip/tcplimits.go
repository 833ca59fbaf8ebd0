package sip

import (
	"log/slog"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/time/rate"
)

// TCP limits: which connections serveTCP accepts (per source, and in total
// for sources that are neither customers nor carriers, so unknown sources
// can never fill the table), and when readTCP gives up on one (silent with
// no dialog, or holding part of a message for too long).

// Default TCP limits (see TCPLimits).
const (
	DefaultTCPIdleTimeout      = 30 * time.Second
	DefaultTCPPartialTimeout   = 10 * time.Second
	DefaultTCPPerSource        = 256
	DefaultTCPPerUnknownSource = 4
	DefaultTCPUnknownTotal     = 1000
	DefaultTCPKnownTotal       = 10000
)

// TCPLimits bounds the TCP connections the switch accepts and how long it
// keeps them. A zero field takes its default. The largest message (and so
// the most one partial message can hold) is sipgo's ParseMaxMessageLength,
// 65535 bytes: a connection that sends more in one message is closed.
type TCPLimits struct {
	// IdleTimeout closes a connection that carries no dialog (see
	// tcpConn.hold) after this long without a byte received. A connection
	// that carries one is closed after the max call duration plus a minute.
	IdleTimeout time.Duration
	// PartialTimeout closes a connection that has held part of a message
	// for this long (a slow sender), counted from when the message began.
	PartialTimeout time.Duration
	// PerSource bounds the connections from one known source (a customer's
	// or carrier's address, see WithKnownSource).
	PerSource int
	// PerUnknownSource bounds the connections from one other source (an
	// IPv6 one counted by its /64).
	PerUnknownSource int
	// UnknownTotal bounds the connections from all other sources together.
	UnknownTotal int
	// KnownTotal bounds the connections from all known sources together.
	KnownTotal int
}

// withDefaults returns l with every zero field set to its default.
func (l TCPLimits) withDefaults() TCPLimits {
	set := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	setD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	setD(&l.IdleTimeout, DefaultTCPIdleTimeout)
	setD(&l.PartialTimeout, DefaultTCPPartialTimeout)
	set(&l.PerSource, DefaultTCPPerSource)
	set(&l.PerUnknownSource, DefaultTCPPerUnknownSource)
	set(&l.UnknownTotal, DefaultTCPUnknownTotal)
	set(&l.KnownTotal, DefaultTCPKnownTotal)
	return l
}

// WithTCPLimits sets the TCP connection limits (default: the DefaultTCP*
// values).
func WithTCPLimits(l TCPLimits) Option { return func(s *Server) { s.tcpl.limits = l } }

// WithKnownSource tells known sources (customers' and carriers' addresses)
// from the rest for the TCP connection limits. known is called once per
// accepted connection, from the accepting goroutine, with an unmapped
// address; it must be safe for concurrent use with whatever updates it.
// Without it every source is unknown.
func WithKnownSource(known func(netip.Addr) bool) Option {
	return func(s *Server) { s.tcpl.known = known }
}

// Reasons a TCP connection is refused or closed, as dropped-metric labels.
const (
	dropTCPSourceLimit  = "tcp-source-limit"  // a known source at its PerSource
	dropTCPKnownLimit   = "tcp-known-limit"   // known sources at KnownTotal
	dropTCPUnknownLimit = "tcp-unknown-limit" // an unknown source at PerUnknownSource, or all at UnknownTotal
	dropTCPPartial      = "tcp-partial-timeout"
	dropTCPTooLarge     = "tcp-too-large"
)

// tcpLimiter counts accepted TCP connections by source and refuses those
// beyond the limits. Dialled connections are not counted. Its methods are
// safe for concurrent use.
type tcpLimiter struct {
	limits TCPLimits
	known  func(netip.Addr) bool

	mu       sync.Mutex
	bySource map[netip.Addr]int // by address (an unknown IPv6 one by /64)
	nKnown   int                // from known sources
	nUnknown int                // from the others

	refused atomic.Int64 // since the last warning
	warn    rate.Sometimes
}

// applyDefaults fills the unset limits; New calls it after the options.
func (l *tcpLimiter) applyDefaults() {
	l.limits = l.limits.withDefaults()
	l.bySource = map[netip.Addr]int{}
	l.warn = rate.Sometimes{Interval: 10 * time.Second}
}

// tcpSlot is an accepted connection's place in the count; release it once
// when the connection ends.
type tcpSlot struct {
	key   netip.Addr
	known bool
}

// admit counts a connection from ip, or returns why it must be refused
// (a dropped-metric reason).
func (l *tcpLimiter) admit(ip netip.Addr) (tcpSlot, string) {
	known := l.known != nil && l.known(ip)
	slot := tcpSlot{key: ip, known: known}
	if !known && ip.Is6() {
		p, _ := ip.Prefix(64)
		slot.key = p.Addr()
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	n := l.bySource[slot.key]
	switch {
	case known && n >= l.limits.PerSource:
		return slot, dropTCPSourceLimit
	case known && l.nKnown >= l.limits.KnownTotal:
		return slot, dropTCPKnownLimit
	case !known && (n >= l.limits.PerUnknownSource || l.nUnknown >= l.limits.UnknownTotal):
		return slot, dropTCPUnknownLimit
	}
	l.bySource[slot.key] = n + 1
	if known {
		l.nKnown++
	} else {
		l.nUnknown++
	}
	return slot, ""
}

// release gives back the slot of a connection that ended.
func (l *tcpLimiter) release(slot tcpSlot) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := l.bySource[slot.key]; n > 1 {
		l.bySource[slot.key] = n - 1
	} else {
		delete(l.bySource, slot.key)
	}
	if slot.known {
		l.nKnown--
	} else {
		l.nUnknown--
	}
}

// refusedLog logs a refusal at Debug, and at Warn at most every 10 s with
// the number refused since the last warning.
func (l *tcpLimiter) refusedLog(log *slog.Logger, reason, remote string) {
	log.Debug("TCP connection refused", "reason", reason, "remote", remote)
	l.refused.Add(1)
	l.warn.Do(func() {
		log.Warn("TCP connections refused: source limits reached", "refused", l.refused.Swap(0),
			"last_reason", reason, "last_remote", remote,
			"per_source", l.limits.PerSource, "per_unknown_source", l.limits.PerUnknownSource,
			"unknown_total", l.limits.UnknownTotal, "known_total", l.limits.KnownTotal)
	})
}

// hold records that a dialog (a call) uses the connection: while any does,
// the connection is kept through silences up to the max call duration
// instead of the idle timeout. Every hold must be matched by one release.
// Safe for concurrent use.
func (c *tcpConn) hold() { c.dialogs.Add(1) }

// release records that a dialog using the connection ended. When none is
// left, the reader is woken to apply the idle timeout again (counted from
// the last byte received). A release without a hold is ignored.
func (c *tcpConn) release() {
	for {
		n := c.dialogs.Load()
		if n <= 0 {
			return
		}
		if c.dialogs.CompareAndSwap(n, n-1) {
			if n == 1 && c.Conn != nil {
				_ = c.SetReadDeadline(time.Now()) // readTCP re-arms it
			}
			return
		}
	}
}

// readClock decides when readTCP gives up on a connection: after idle
// without a byte received while it carries no dialog, long while it does,
// and partial after a message began without ending. It is used by one
// goroutine.
type readClock struct {
	idle, long, partial time.Duration

	last         time.Time // last byte received
	partialSince time.Time // zero when no message is under way
}

func newReadClock(l TCPLimits, long time.Duration, now time.Time) readClock {
	return readClock{idle: l.IdleTimeout, long: long, partial: l.PartialTimeout, last: now}
}

// received records bytes read at now, after which a message is under way
// (partial) or not; began says the message under way began in these bytes
// (one ended before it).
func (r *readClock) received(now time.Time, partial, began bool) {
	r.last = now
	switch {
	case !partial:
		r.partialSince = time.Time{}
	case began || r.partialSince.IsZero():
		r.partialSince = now
	}
}

// underway reports a message begun and not ended.
func (r *readClock) underway() bool { return !r.partialSince.IsZero() }

// deadline is when the connection is given up, given whether it carries a
// dialog, and why: "idle" or dropTCPPartial.
func (r *readClock) deadline(dialogs bool) (time.Time, string) {
	d := r.idle
	if dialogs {
		d = r.long
	}
	at, why := r.last.Add(d), "idle"
	if r.underway() {
		if p := r.partialSince.Add(r.partial); p.Before(at) {
			at, why = p, dropTCPPartial
		}
	}
	return at, why
}

// tcpExpired reports whether a connection whose read deadline passed must
// close, counting and logging why. It need not when the deadline moved
// since it was set: a dialog began (hold) or ended (release wakes the
// reader early).
func (s *Server) tcpExpired(tc *tcpConn, clock *readClock) bool {
	at, why := clock.deadline(tc.dialogs.Load() > 0)
	if time.Now().Before(at) {
		return false
	}
	if why != "idle" {
		s.metrics.dropped.WithLabelValues(why).Inc()
	}
	s.log.Debug("TCP connection timed out; closing", "remote", tc.key, "reason", why)
	return true
}
