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
// can never fill the table).

// Default TCP limits (see TCPLimits).
const (
	DefaultTCPPerSource        = 256
	DefaultTCPPerUnknownSource = 4
	DefaultTCPUnknownTotal     = 1000
	DefaultTCPKnownTotal       = 10000
)

// TCPLimits bounds the TCP connections the switch accepts. A zero field
// takes its default.
type TCPLimits struct {
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

// Reasons a TCP connection is refused, as dropped-metric labels.
const (
	dropTCPSourceLimit  = "tcp-source-limit"  // a known source at its PerSource
	dropTCPKnownLimit   = "tcp-known-limit"   // known sources at KnownTotal
	dropTCPUnknownLimit = "tcp-unknown-limit" // an unknown source at PerUnknownSource, or all at UnknownTotal
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
