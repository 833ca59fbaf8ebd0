package media

import (
	"errors"
	"net/netip"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trunkline/trunkline/internal/udpio"
)

// batch is how many datagrams one read takes (recvmmsg) and one write
// sends (sendmmsg), through internal/udpio (raw calls, no allocation).
const batch = 32

// maxDatagram is the largest datagram relayed; longer ones are cut and
// dropped.
const maxDatagram = 1500

// Session relays one call's audio between two legs, each a Pair of the
// switch's sockets: what leg 0's party sends to leg 0's pair goes out of
// leg 1's pair to leg 1's party, and back. Each party is latched to the
// source of its first packet (symmetric RTP: a party behind NAT is
// reached where it sends from); a party whose SDP named a public address
// may latch from that address only; once latched, packets from anywhere
// else are dropped. A poller (an OS thread with an epoll instance, one
// per P, shared by many sessions) reads the sockets in batches; nothing
// is made per packet.
type Session struct {
	legs    [2]*leg
	last    atomic.Int64 // unix nanoseconds of the last packet relayed
	relayed atomic.Uint64
	dropped atomic.Uint64
	totals  *Totals // the switch's, beside the session's own
	poller  *poller // the thread relaying it, once started
	socks   []*sock
	gone    chan struct{} // closed when the poller has let go of socks

	mu      sync.Mutex // started and closed
	started bool
	closed  bool
}

// errSession is a Session started twice or after Close.
var errSession = errors.New("media: session already started or closed")

// Totals count packets across every session of a Ports, for metrics.
type Totals struct {
	Relayed, Dropped atomic.Uint64
}

// add counts relayed and dropped packets in the session and its totals.
func (s *Session) add(relayed, dropped uint64) {
	if relayed > 0 {
		s.relayed.Add(relayed)
		s.totals.Relayed.Add(relayed)
	}
	if dropped > 0 {
		s.dropped.Add(dropped)
		s.totals.Dropped.Add(dropped)
	}
}

// leg is one party's side: its pair, where it said it wants media, where
// it is latched, and the statistics of what it sends.
type leg struct {
	pair     *Pair
	declared atomic.Pointer[netip.AddrPort] // from its SDP
	rtcpPort atomic.Uint32                  // from its SDP's a=rtcp; 0: the RTP port's next
	rtpPeer  atomic.Pointer[netip.AddrPort] // latched
	rtcpPeer atomic.Pointer[netip.AddrPort]
	learned  atomic.Bool                      // the RTP latch is a learned source, not the SDP's
	natted   atomic.Bool                      // the SDP's address is not to be sent to (Offer.NAT)
	source   atomic.Pointer[netip.Addr]       // the party's signalling host (Offer.Source)
	retired  atomic.Pointer[[]netip.AddrPort] // the sources of parties Reset took off this leg: never learned again

	// Learning (touched by the leg's RTP reader only): the source that
	// has sent the latest packets in sequence.
	cand      netip.AddrPort
	candSSRC  uint32
	candSeq   uint16
	candCount int

	mu    sync.Mutex
	stats Stream // what this party sent
}

// learnPackets is how many packets in sequence (one SSRC, numbers in a
// row) from one source latch a party that is not where its SDP said: a
// stranger's stray packets do not take the stream.
const learnPackets = 3

// NewSession relays between a (leg 0) and b (leg 1).
func NewSession(a, b *Pair) *Session {
	return &Session{legs: [2]*leg{{pair: a}, {pair: b}}, totals: &a.ports.totals}
}

// SetPeer records where leg side's party said it wants media (its SDP's
// address and RTP port, the RTCP port) and the RTP clock of its payload.
// A party that moves (a re-INVITE to another address) is latched afresh.
func (s *Session) SetPeer(side int, o Offer) {
	l := s.legs[side]
	r, src := o.Remote, o.Source
	l.source.Store(&src)
	l.natted.Store(o.NAT)
	if old := l.declared.Swap(&r); old == nil || *old != r {
		// A new party (after Reset) or one that moved: whatever a reader
		// latched meanwhile goes.
		l.rtpPeer.Store(nil)
		l.rtcpPeer.Store(nil)
		l.learned.Store(false)
	}
	l.rtcpPort.Store(uint32(o.RTCPPort))
	l.mu.Lock()
	l.stats.SetClock(o.Clock)
	l.mu.Unlock()
}

// Reset forgets leg side's party (its SDP, its latches and its
// statistics): another party takes the leg, as a carrier does when the
// call fails over. Until its SDP comes nothing from it is taken.
func (s *Session) Reset(side int) {
	l := s.legs[side]
	var old []netip.AddrPort
	if r := l.retired.Load(); r != nil {
		old = *r
	}
	for _, p := range []*netip.AddrPort{l.declared.Load(), l.rtpPeer.Load()} {
		if p != nil && !slices.Contains(old, *p) {
			old = append(old[max(0, len(old)-7):len(old):len(old)], *p) // the last 8
		}
	}
	l.retired.Store(&old)
	l.declared.Store(nil)
	l.rtpPeer.Store(nil)
	l.rtcpPeer.Store(nil)
	l.learned.Store(false)
	l.natted.Store(false)
	l.source.Store(nil)
	l.rtcpPort.Store(0)
	l.mu.Lock()
	l.stats = Stream{}
	l.mu.Unlock()
}

// Touch restarts the idle clock, as a packet relayed would: the call is
// answered, and its media timeout runs from now.
func (s *Session) Touch() { s.last.Store(time.Now().UnixNano()) }

// Start starts relaying: the session's four sockets go to a poller
// (see poller), which relays what they receive. An error (no poller could
// be made, a socket could not be registered) means nothing is relayed;
// Close still releases everything.
func (s *Session) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started || s.closed {
		return errSession
	}
	s.started = true
	s.last.Store(time.Now().UnixNano())
	p, err := pollerFor()
	if err != nil {
		return err
	}
	for side, l := range s.legs {
		o := s.legs[1-side].pair
		s.socks = append(s.socks,
			&sock{s: s, side: side, fd: l.pair.rtpFD, out: o.rtpFD, v6: l.pair.v6},
			&sock{s: s, side: side, rtcp: true, fd: l.pair.rtcpFD, out: o.rtcpFD, v6: l.pair.v6})
	}
	s.gone = make(chan struct{})
	s.poller = p // from here Close goes through the poller, whatever add did
	return p.add(s.socks)
}

// Idle is how long since a packet was relayed either way (since Start
// without any).
func (s *Session) Idle() time.Duration { return time.Since(time.Unix(0, s.last.Load())) }

// Counts are the packets relayed and dropped (from strangers, unparsable,
// or with nowhere to go yet).
func (s *Session) Counts() (relayed, dropped uint64) { return s.relayed.Load(), s.dropped.Load() }

// Stats returns a copy of what leg side's party sent.
func (s *Session) Stats(side int) Stream {
	l := s.legs[side]
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.stats
}

// Close stops relaying and releases both pairs; it waits until the
// poller has let go of their sockets. A second call does nothing.
func (s *Session) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.closed = true
	if s.poller != nil {
		s.poller.remove(s)
		<-s.gone
	}
	for _, l := range s.legs {
		l.pair.Release()
	}
}

// accept latches leg l's party when it may, and reports whether a packet
// from src (an RTP packet with header h, or RTCP) is the party's. Before
// its SDP is known nothing is; a packet from exactly where the SDP said
// latches at once; one from elsewhere only after learnPackets in
// sequence, never when the SDP named a public address of another host,
// and, for a party behind NAT, only from its signalling host, by its
// first packet from there. Such a party is latched afresh when its NAT
// maps it anew (learnPackets in sequence from another port of that
// host). RTCP latches only where the
// party's RTP is latched.
func (l *leg) accept(src netip.AddrPort, h *Header) bool {
	peer := &l.rtpPeer
	if h == nil {
		peer = &l.rtcpPeer
	}
	p := peer.Load()
	if p != nil && *p == src {
		return true
	}
	d := l.declared.Load()
	if d == nil {
		return false
	}
	if h == nil {
		rp := l.rtpPeer.Load()
		if p != nil || rp == nil || rp.Addr() != src.Addr() {
			return false
		}
		latched := src
		peer.CompareAndSwap(nil, &latched)
		return *peer.Load() == src
	}
	if p != nil {
		latched := src // only a latch allocates
		switch {
		case src == *d && l.learned.Load():
			// The party where its SDP said wins over a source learned
			// elsewhere (a stranger's stream that got in first).
			l.learned.Store(false)
		case l.natted.Load() && l.fromSource(src) && l.learn(src, h):
			// Behind NAT, mapped anew: RTCP follows.
			l.rtcpPeer.Store(nil)
		default:
			return false
		}
		return peer.CompareAndSwap(p, &latched)
	}
	if src != *d {
		if strictSource(d.Addr()) && d.Addr() != src.Addr() {
			return false
		}
		natted := l.natted.Load()
		if natted && !l.fromSource(src) && src.Addr() != d.Addr() {
			return false
		}
		// A party behind NAT is latched by its first packet from the host
		// it signals from (no stranger sends from there); anyone else
		// only after learnPackets in sequence.
		if !(natted && l.fromKnownSource(src)) && (l.isRetired(src) || !l.learn(src, h)) {
			return false
		}
		l.learned.Store(true)
	}
	latched := src // only a latch allocates
	peer.CompareAndSwap(nil, &latched)
	return *peer.Load() == src
}

// learn counts an RTP packet from src, not latched, towards latching it:
// it reports whether src has now sent learnPackets in sequence.
func (l *leg) learn(src netip.AddrPort, h *Header) bool {
	if src == l.cand && h.SSRC == l.candSSRC && h.Seq == l.candSeq+1 {
		l.candCount++
	} else {
		l.cand, l.candSSRC, l.candCount = src, h.SSRC, 1
	}
	l.candSeq = h.Seq
	return l.candCount >= learnPackets
}

// isRetired tells whether src was the party of this leg before a Reset
// (a carrier the call failed over from, still sending).
func (l *leg) isRetired(src netip.AddrPort) bool {
	r := l.retired.Load()
	return r != nil && slices.Contains(*r, src)
}

// fromKnownSource tells whether src is on the party's signalling host,
// when that is known.
func (l *leg) fromKnownSource(src netip.AddrPort) bool {
	s := l.source.Load()
	return s != nil && s.IsValid() && *s == src.Addr()
}

// fromSource tells whether src is on the party's signalling host (any
// host when that is unknown).
func (l *leg) fromSource(src netip.AddrPort) bool {
	s := l.source.Load()
	return s == nil || !s.IsValid() || *s == src.Addr()
}

// accepted tells whether an RTCP packet from src is the party's: on the
// RTCP port, latching it as accept does; multiplexed on the RTP port, from
// where its RTP is latched.
func (l *leg) accepted(src netip.AddrPort, rtcp bool) bool {
	if rtcp {
		return l.accept(src, nil)
	}
	p := l.rtpPeer.Load()
	return p != nil && *p == src
}

// strictSource tells whether a party declaring a may latch only from a's
// host: a public address is reachable as declared; a private, shared
// (CGNAT), loopback or link-local one is behind NAT or not routable.
func strictSource(a netip.Addr) bool {
	return a.IsGlobalUnicast() && !a.IsPrivate() && !cgnat.Contains(a)
}

var cgnat = netip.MustParsePrefix("100.64.0.0/10") // RFC 6598

// dest is where leg l's party gets media: where it is latched, else what
// its SDP said (RTCP on the next port); invalid when neither is known.
func (l *leg) dest(rtcp bool) netip.AddrPort {
	if rtcp {
		if p := l.rtcpPeer.Load(); p != nil {
			return *p
		}
	} else if p := l.rtpPeer.Load(); p != nil {
		return *p
	}
	d := l.declared.Load()
	if d == nil || !d.IsValid() || d.Port() == 0 || d.Addr().IsUnspecified() || l.natted.Load() {
		return netip.AddrPort{} // unknown, on hold, or behind NAT and not yet heard from
	}
	if rtcp {
		p := uint16(l.rtcpPort.Load())
		if p == 0 {
			if d.Port() == 65535 {
				return netip.AddrPort{}
			}
			p = d.Port() + 1
		}
		return netip.AddrPortFrom(d.Addr(), p)
	}
	return *d
}

// handle takes the n datagrams a socket of leg from received (RTCP when
// rtcp) and queues in outB those of the party, for the other leg's
// party; it returns how many it queued.
func (s *Session) handle(from, to *leg, rtcp bool, n int, inB, outB *udpio.Batch, bufs [][]byte, v6 bool) int {
	now := time.Now()
	j := 0
	dst := to.dest(rtcp)
	for i := range n {
		size := inB.Length(i)
		src, ok := inB.From(i)
		if !ok || size == 0 || size > maxDatagram {
			s.add(0, 1)
			continue
		}
		b := bufs[i][:size]
		src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
		var h Header
		countable := !rtcp && !IsRTCP(b) // RTCP multiplexed on the RTP port is passed on, not counted
		if countable {
			var err error
			if h, err = ParseHeader(b); err != nil {
				s.add(0, 1)
				continue
			}
		}
		// Latch first: the party is found even before the other has
		// anywhere to be sent to.
		hp := &h
		if rtcp {
			hp = nil
		}
		if (countable && !from.accept(src, hp)) || (!countable && !from.accepted(src, rtcp)) {
			s.add(0, 1)
			continue
		}
		// The party's own. Its reports count whether or not they can be
		// passed on yet; its RTP counts as relayed.
		if !countable {
			from.mu.Lock()
			from.stats.AddRTCP(b)
			from.mu.Unlock()
		}
		if !dst.IsValid() {
			s.add(0, 1)
			continue
		}
		if countable {
			from.mu.Lock()
			from.stats.Add(h, size, now)
			from.mu.Unlock()
		}
		outB.Set(j, b, dst, v6)
		j++
	}
	if j > 0 {
		s.last.Store(now.UnixNano()) // media, not strangers, keeps the call alive
	}
	return j
}

// readBuffers returns a poller's batches of n entries and their buffers.
func readBuffers(n int) (in, out *udpio.Batch, bufs [][]byte) {
	const room = maxDatagram + 1 // a datagram that fills it was longer than maxDatagram
	mem := make([]byte, n*room)
	bufs = make([][]byte, n)
	for i := range bufs {
		bufs[i] = mem[i*room : (i+1)*room : (i+1)*room]
	}
	return udpio.NewBatch(n), udpio.NewBatch(n), bufs
}
