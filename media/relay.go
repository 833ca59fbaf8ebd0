package media

import (
	"net/netip"
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
// else are dropped. One goroutine reads each socket, in batches; no
// goroutine or buffer is made per packet.
type Session struct {
	legs    [2]*leg
	last    atomic.Int64 // unix nanoseconds of the last packet relayed
	relayed atomic.Uint64
	dropped atomic.Uint64
	wg      sync.WaitGroup
	once    sync.Once
}

// leg is one party's side: its pair, where it said it wants media, where
// it is latched, and the statistics of what it sends.
type leg struct {
	pair     *Pair
	declared atomic.Pointer[netip.AddrPort] // from its SDP
	rtpPeer  atomic.Pointer[netip.AddrPort] // latched
	rtcpPeer atomic.Pointer[netip.AddrPort]

	mu    sync.Mutex
	stats Stream // what this party sent
}

// NewSession relays between a (leg 0) and b (leg 1).
func NewSession(a, b *Pair) *Session {
	return &Session{legs: [2]*leg{{pair: a}, {pair: b}}}
}

// SetPeer records where leg side's party said it wants media (its SDP's
// address and RTP port) and the RTP clock of its payload.
func (s *Session) SetPeer(side int, o Offer) {
	l := s.legs[side]
	r := o.Remote
	l.declared.Store(&r)
	l.mu.Lock()
	l.stats.SetClock(o.Clock)
	l.mu.Unlock()
}

// Start starts relaying.
func (s *Session) Start() {
	s.last.Store(time.Now().UnixNano())
	for side := range 2 {
		s.wg.Add(2)
		go s.read(side, false)
		go s.read(side, true)
	}
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

// Close stops relaying and releases both pairs; it waits for the readers.
func (s *Session) Close() {
	s.once.Do(func() {
		for _, l := range s.legs {
			l.pair.Release()
		}
		s.wg.Wait()
	})
}

// accept latches leg l's party to src when it may, and reports whether a
// packet from src is the party's.
func (l *leg) accept(src netip.AddrPort, rtcp bool) bool {
	peer := &l.rtpPeer
	if rtcp {
		peer = &l.rtcpPeer
	}
	if p := peer.Load(); p != nil {
		return *p == src
	}
	if d := l.declared.Load(); d != nil && strictSource(d.Addr()) && d.Addr() != src.Addr() {
		return false
	}
	if rtcp {
		if rp := l.rtpPeer.Load(); rp != nil && rp.Addr() != src.Addr() {
			return false // RTCP latches where RTP came from
		}
	}
	latched := src // only a latch allocates
	peer.CompareAndSwap(nil, &latched)
	return *peer.Load() == src
}

// strictSource tells whether a party declaring a may latch only from a:
// a public address is reachable as declared; a private one is behind NAT.
func strictSource(a netip.Addr) bool {
	return a.IsValid() && !a.IsUnspecified() && !a.IsPrivate() && !a.IsLinkLocalUnicast()
}

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
	if d == nil || !d.IsValid() || d.Port() == 0 {
		return netip.AddrPort{}
	}
	if rtcp {
		return netip.AddrPortFrom(d.Addr(), d.Port()+1)
	}
	return *d
}

// read relays what leg side's RTP (or RTCP) socket receives to the other
// leg's party, until the socket is closed.
func (s *Session) read(side int, rtcp bool) {
	defer s.wg.Done()
	from, to := s.legs[side], s.legs[1-side]
	in, out := from.pair.RTP, to.pair.RTP
	if rtcp {
		in, out = from.pair.RTCP, to.pair.RTCP
	}
	rd, err := udpio.New(in)
	if err != nil {
		return
	}
	wr, err := udpio.New(out)
	if err != nil {
		return
	}
	inB, outB := udpio.NewBatch(batch), udpio.NewBatch(batch)
	bufs := make([][]byte, batch)
	mem := make([]byte, batch*maxDatagram)
	for i := range bufs {
		bufs[i] = mem[i*maxDatagram : (i+1)*maxDatagram : (i+1)*maxDatagram]
	}
	for {
		n, err := rd.Read(inB, bufs)
		if err != nil {
			return // closed
		}
		now := time.Now()
		j := 0
		dst := to.dest(rtcp)
		for i := range n {
			size := inB.Length(i)
			src, ok := inB.From(i)
			if !ok || size == 0 || size >= maxDatagram {
				s.dropped.Add(1)
				continue
			}
			// Latch first: the party is found even before the other has
			// anywhere to be sent to.
			if !from.accept(netip.AddrPortFrom(src.Addr().Unmap(), src.Port()), rtcp) || !dst.IsValid() {
				s.dropped.Add(1)
				continue
			}
			b := bufs[i][:size]
			if !rtcp {
				h, err := ParseHeader(b)
				if err != nil {
					s.dropped.Add(1)
					continue
				}
				from.mu.Lock()
				from.stats.Add(h, size, now)
				from.mu.Unlock()
			}
			outB.Set(j, b, dst, wr.V6)
			j++
		}
		if j > 0 {
			s.last.Store(now.UnixNano()) // media, not strangers, keeps the call alive
		}
		if j > 0 {
			// One destination for the batch: a send that fails (the party
			// gone: ICMP refused) fails the rest too, which are dropped.
			k, _ := wr.Write(outB, j)
			s.relayed.Add(uint64(k))
			s.dropped.Add(uint64(j - k))
		}
	}
}
