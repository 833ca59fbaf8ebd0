package media

import (
	"encoding/binary"
	"errors"
	"math"
	"time"
)

// Header is what the relay reads of an RTP packet: the fixed header
// (RFC 3550 §5.1), read in place without allocating.
type Header struct {
	PayloadType uint8
	Seq         uint16
	Timestamp   uint32
	SSRC        uint32
}

var errNotRTP = errors.New("media: not an RTP version 2 packet")

// ParseHeader reads the fixed RTP header of b.
func ParseHeader(b []byte) (Header, error) {
	if len(b) < 12 || b[0]>>6 != 2 {
		return Header{}, errNotRTP
	}
	return Header{PayloadType: b[1] & 0x7f, Seq: binary.BigEndian.Uint16(b[2:]),
		Timestamp: binary.BigEndian.Uint32(b[4:]), SSRC: binary.BigEndian.Uint32(b[8:])}, nil
}

// Stream is one direction's RTP statistics: packets and bytes, loss from
// the sequence numbers (RFC 3550 A.3: expected from the highest extended
// number, less those received) and the interarrival jitter (A.8). Not
// safe for concurrent use: one relay reader feeds it.
type Stream struct {
	Packets, Bytes uint64
	payloadTypes   [2]uint64 // a bit per payload type seen

	started  bool
	ssrc     uint32
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	received uint64
	clock    uint32    // timestamp units a second
	origin   time.Time // arrivals are reckoned from the first packet's
	transit  int64     // the last packet's arrival less its timestamp, in timestamp units
	jitter   float64   // in timestamp units
}

// DefaultClock is the RTP clock of the telephony codecs (G.711, G.729,
// G.722's RTP clock): the rate jitter is reckoned in unless told.
const DefaultClock = 8000

// Add counts a packet of size bytes with header h that arrived at at.
func (s *Stream) Add(h Header, size int, at time.Time) {
	s.Packets++
	s.Bytes += uint64(size)
	s.payloadTypes[h.PayloadType>>6] |= 1 << (h.PayloadType & 63)
	if s.clock == 0 {
		s.clock = DefaultClock
	}
	if !s.started || h.SSRC != s.ssrc {
		// A new source restarts the count (RFC 3550 A.1's re-init).
		*s = Stream{Packets: s.Packets, Bytes: s.Bytes, payloadTypes: s.payloadTypes, clock: s.clock,
			started: true, ssrc: h.SSRC, baseSeq: uint32(h.Seq), maxSeq: h.Seq, received: 1,
			origin: at, transit: -int64(h.Timestamp)}
		return
	}
	arrival := at.Sub(s.origin).Microseconds() * int64(s.clock) / 1_000_000 // timestamp units
	s.received++
	if delta := h.Seq - s.maxSeq; delta > 0 && delta < 0x8000 {
		if h.Seq < s.maxSeq {
			s.cycles++ // wrapped
		}
		s.maxSeq = h.Seq
	}
	transit := arrival - int64(h.Timestamp)
	d := transit - s.transit
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter += (float64(d) - s.jitter) / 16
}

// SetClock sets the RTP clock rate of the stream's payload (from the SDP's
// rtpmap).
func (s *Stream) SetClock(hz uint32) { s.clock = hz }

// Expected is how many packets the sequence numbers say were sent.
func (s *Stream) Expected() uint64 {
	if !s.started {
		return 0
	}
	return uint64(s.cycles)<<16 + uint64(s.maxSeq) - uint64(s.baseSeq) + 1
}

// Lost is how many of the expected packets did not arrive (duplicates
// can make it negative, as in RFC 3550).
func (s *Stream) Lost() int64 { return int64(s.Expected()) - int64(s.received) }

// Jitter is the interarrival jitter.
func (s *Stream) Jitter() time.Duration {
	if s.clock == 0 {
		return 0
	}
	return time.Duration(s.jitter / float64(s.clock) * float64(time.Second))
}

// PayloadTypes lists the payload types seen.
func (s *Stream) PayloadTypes() []uint8 {
	var out []uint8
	for pt := range 128 {
		if s.payloadTypes[pt>>6]&(1<<(pt&63)) != 0 {
			out = append(out, uint8(pt))
		}
	}
	return out
}

// MOS estimates the stream's mean opinion score (1 to 4.5) from its loss
// and jitter with the simplified E-model commonly used by VoIP monitors
// (ITU-T G.107's R-factor for G.711 with packet-loss concealment, the
// network delay unknown and taken as the jitter buffer's): an estimate
// for comparing calls and carriers, not a listening test.
func (s *Stream) MOS() float64 {
	if s.Packets == 0 {
		return 0
	}
	lossPct := 0.0
	if exp := s.Expected(); exp > 0 && s.Lost() > 0 {
		lossPct = float64(s.Lost()) * 100 / float64(exp)
	}
	latency := 2*s.Jitter().Seconds()*1000 + 10 // ms: the buffer the jitter needs, and coding
	r := 93.2 - latency/40
	if latency >= 160 {
		r = 93.2 - (latency-120)/10
	}
	r -= 2.5 * lossPct
	r = math.Max(0, math.Min(100, r))
	mos := 1 + 0.035*r + 0.000007*r*(r-60)*(100-r)
	return math.Round(math.Max(1, math.Min(4.5, mos))*100) / 100
}
