package media

import (
	"encoding/binary"
	"errors"
	"math"
	"time"

	"github.com/pion/rtcp"
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

// IsRTCP tells whether a datagram on an RTP port is RTCP multiplexed on it
// (RFC 5761 §4: packet types 192–223 fall in the payload types 64–95).
func IsRTCP(b []byte) bool { return len(b) >= 2 && b[1] >= 192 && b[1] <= 223 }

// Sequence bounds of RFC 3550 A.1.
const (
	maxDropout  = 3000 // a jump ahead larger than this is a restart, not loss
	maxMisorder = 100  // a packet this far behind is late; farther, a restart
	switchAfter = 3    // packets in a row from another SSRC make it the stream
)

// Stream is one direction's RTP statistics: packets and bytes, loss from
// the sequence numbers (RFC 3550 A.1 and A.3: expected from the highest
// extended number, less those received; a sender that restarts is
// followed, not counted as loss) and the interarrival jitter (A.8). It
// follows one SSRC: packets of another count in Packets and Bytes only,
// until several in a row make that SSRC the stream. Not safe for
// concurrent use: one relay reader feeds it.
type Stream struct {
	Packets, Bytes uint64
	payloadTypes   [2]uint64 // a bit per payload type seen

	// What the party reported receiving, in its last RTCP report
	// (sender or receiver report) about the stream it gets: the packets
	// lost, cumulative, and its interarrival jitter; Reports counts the
	// reports. The other direction's quality as its receiver saw it.
	Reports        int
	ReportedLost   int64
	ReportedJitter time.Duration

	started  bool
	ssrc     uint32
	baseSeq  uint32
	maxSeq   uint16
	cycles   uint32
	badSeq   uint32 // the number after a jump, to tell a restart (A.1)
	received uint64
	expPrior uint64 // expected and received before the last restart
	recPrior uint64

	other      uint32 // another SSRC heard lately, and in a row
	otherCount int

	clock   uint32    // timestamp units a second
	origin  time.Time // arrivals are reckoned from the first packet's
	transit uint32    // the last packet's arrival less its timestamp, in timestamp units (mod 2^32)
	jitter  float64   // in timestamp units
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
	if s.started && h.SSRC != s.ssrc {
		if h.SSRC != s.other {
			s.other, s.otherCount = h.SSRC, 0
		}
		if s.otherCount++; s.otherCount < switchAfter {
			return // a stray source: not the stream's
		}
	}
	if !s.started || h.SSRC != s.ssrc {
		s.restart(h, at)
		return
	}
	s.otherCount = 0
	if !s.updateSeq(h.Seq) {
		return
	}
	s.received++
	if s.origin.IsZero() { // the clock changed: the reckoning starts again here
		s.origin, s.transit, s.jitter = at, -h.Timestamp, 0
		return
	}
	arrival := uint32(at.Sub(s.origin).Microseconds() * int64(s.clock) / 1_000_000) // timestamp units, mod 2^32
	transit := arrival - h.Timestamp
	d := int32(transit - s.transit) // the difference survives the timestamp's wrap
	s.transit = transit
	if d < 0 {
		d = -d
	}
	s.jitter += (float64(d) - s.jitter) / 16
}

// restart follows a new source (or the first): what the old one expected
// and received is kept for the loss.
func (s *Stream) restart(h Header, at time.Time) {
	if s.started {
		s.expPrior += s.expectedNow()
		s.recPrior += s.received
	}
	s.started, s.ssrc, s.other, s.otherCount = true, h.SSRC, 0, 0
	s.baseSeq, s.maxSeq, s.cycles, s.badSeq, s.received = uint32(h.Seq), h.Seq, 0, 1<<16+1, 1
	s.origin, s.transit, s.jitter = at, -h.Timestamp, 0
}

// updateSeq follows RFC 3550 A.1's update_seq (without probation: the
// relay counts from the first packet): it reports whether seq counts.
func (s *Stream) updateSeq(seq uint16) bool {
	delta := seq - s.maxSeq
	switch {
	case delta < maxDropout: // in order, with a permissible gap
		if seq < s.maxSeq {
			s.cycles++ // wrapped
		}
		s.maxSeq = seq
	case delta <= 1<<16-maxMisorder: // a very large jump
		if uint32(seq) == s.badSeq {
			// Two in a row: the sender restarted its numbers. The old run's
			// counts stay; a new run starts here.
			s.expPrior += s.expectedNow()
			s.recPrior += s.received
			s.baseSeq, s.maxSeq, s.cycles, s.received = uint32(seq), seq, 0, 0
		} else {
			s.badSeq = uint32(seq+1) & 0xffff
			return false
		}
	default: // duplicate or reordered
	}
	return true
}

// SetClock sets the RTP clock rate of the stream's payload (from the SDP's
// rtpmap); a change restarts the jitter's reckoning.
func (s *Stream) SetClock(hz uint32) {
	if hz == 0 || hz == s.clock {
		return
	}
	s.clock = hz
	s.origin = time.Time{} // the next packet starts the jitter's reckoning again
}

func (s *Stream) expectedNow() uint64 {
	return uint64(s.cycles)<<16 + uint64(s.maxSeq) - uint64(s.baseSeq) + 1
}

// Expected is how many packets the sequence numbers say were sent.
func (s *Stream) Expected() uint64 {
	if !s.started {
		return s.expPrior
	}
	return s.expPrior + s.expectedNow()
}

// Lost is how many of the expected packets did not arrive (duplicates
// can make it negative, as in RFC 3550).
func (s *Stream) Lost() int64 { return int64(s.Expected()) - int64(s.recPrior+s.received) }

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

// AddRTCP takes an RTCP packet (compound) the party sent: the report
// block of its last sender or receiver report goes in ReportedLost and
// ReportedJitter (the jitter in the party's clock). Malformed packets
// are ignored.
func (s *Stream) AddRTCP(b []byte) {
	pkts, err := rtcp.Unmarshal(b)
	if err != nil {
		return
	}
	for _, p := range pkts {
		var blocks []rtcp.ReceptionReport
		switch r := p.(type) {
		case *rtcp.SenderReport:
			blocks = r.Reports
		case *rtcp.ReceiverReport:
			blocks = r.Reports
		}
		if len(blocks) == 0 {
			continue
		}
		r := blocks[0] // one stream a call: the one it receives
		clock := s.clock
		if clock == 0 {
			clock = DefaultClock
		}
		s.Reports++
		s.ReportedLost = int64(int32(r.TotalLost<<8) >> 8) // 24-bit, signed
		s.ReportedJitter = time.Duration(uint64(r.Jitter) * uint64(time.Second) / uint64(clock))
	}
}
