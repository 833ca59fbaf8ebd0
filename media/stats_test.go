package media

import (
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// stream feeds s n packets of 160 bytes of G.711 (20 ms each), skipping
// the sequence numbers in lost, arriving every 20 ms plus late[i].
func stream(s *Stream, n int, firstSeq uint16, lost map[int]bool, late func(i int) time.Duration) {
	t0 := time.Unix(1_700_000_000, 0)
	for i := range n {
		if lost[i] {
			continue
		}
		h := Header{PayloadType: 0, Seq: firstSeq + uint16(i), Timestamp: 1000 + uint32(i)*160, SSRC: 42}
		s.Add(h, 172, t0.Add(time.Duration(i)*20*time.Millisecond+late(i)))
	}
}

func onTime(int) time.Duration { return 0 }

// Loss counts the sequence numbers that never came, across a wrap of the
// 16-bit counter; a stream on time has no jitter and the best MOS.
func TestStreamLossAcrossWrap(t *testing.T) {
	var s Stream
	stream(&s, 1000, 65000, map[int]bool{10: true, 11: true, 600: true}, onTime)
	if s.Packets != 997 || s.Expected() != 1000 || s.Lost() != 3 || s.Bytes != 997*172 {
		t.Fatalf("packets %d expected %d lost %d bytes %d", s.Packets, s.Expected(), s.Lost(), s.Bytes)
	}
	if s.Jitter() != 0 {
		t.Errorf("jitter of a stream on time: %v", s.Jitter())
	}
	var clean Stream
	stream(&clean, 500, 0, nil, onTime)
	if m := clean.MOS(); m < 4.3 {
		t.Errorf("MOS of a clean stream: %v", m)
	}
	if m, c := s.MOS(), clean.MOS(); m >= c {
		t.Errorf("MOS with loss %v is not below a clean stream's %v", m, c)
	}
	if pts := s.PayloadTypes(); len(pts) != 1 || pts[0] != 0 {
		t.Errorf("payload types %v", pts)
	}
}

// Jitter follows RFC 3550 A.8: packets alternately 0 and 10 ms late give
// a jitter that converges on 10 ms (each transit differs by 80 units).
func TestStreamJitter(t *testing.T) {
	var s Stream
	stream(&s, 2000, 0, nil, func(i int) time.Duration { return time.Duration(i%2) * 10 * time.Millisecond })
	if j := s.Jitter(); j < 9*time.Millisecond || j > 11*time.Millisecond {
		t.Fatalf("jitter %v, want about 10 ms", j)
	}
	var wide Stream
	wide.SetClock(48000)
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 2000 { // 48 kHz, 20 ms frames, 5 ms late every other one
		wide.Add(Header{Seq: uint16(i), Timestamp: uint32(i) * 960, SSRC: 7}, 100, t0.Add(time.Duration(i)*20*time.Millisecond+time.Duration(i%2)*5*time.Millisecond))
	}
	if j := wide.Jitter(); j < 4*time.Millisecond || j > 6*time.Millisecond {
		t.Fatalf("jitter at 48 kHz %v, want about 5 ms", j)
	}
}

// A duplicate or late packet does not move the highest sequence number; a
// stray packet of another SSRC is not the stream's, several in a row are
// (the counts so far kept).
func TestStreamReorderAndNewSource(t *testing.T) {
	var s Stream
	t0 := time.Now()
	for _, seq := range []uint16{100, 101, 103, 102, 102, 104} {
		s.Add(Header{Seq: seq, Timestamp: uint32(seq) * 160, SSRC: 1}, 100, t0)
	}
	if s.Expected() != 5 || s.Lost() != -1 {
		t.Fatalf("expected %d lost %d (a duplicate counts as received)", s.Expected(), s.Lost())
	}
	s.Add(Header{Seq: 9, Timestamp: 0, SSRC: 2}, 100, t0) // a stray: a DTMF sender, say
	s.Add(Header{Seq: 105, Timestamp: 105 * 160, SSRC: 1}, 100, t0)
	if s.Expected() != 6 || s.Lost() != -1 || s.Packets != 8 {
		t.Fatalf("after a stray SSRC: expected %d lost %d packets %d", s.Expected(), s.Lost(), s.Packets)
	}
	for i := range 3 { // the sender changed its SSRC for good
		s.Add(Header{Seq: uint16(500 + i), Timestamp: uint32(i) * 160, SSRC: 3}, 100, t0)
	}
	if s.Expected() != 6+1 || s.Lost() != -1 {
		t.Fatalf("after a new SSRC: expected %d lost %d", s.Expected(), s.Lost())
	}
}

// A sender that restarts its sequence numbers (a jump, then the next
// number) is followed, not charged with the gap as loss (RFC 3550 A.1).
func TestStreamSequenceRestart(t *testing.T) {
	var s Stream
	t0 := time.Now()
	for i := range 100 {
		s.Add(Header{Seq: uint16(i), Timestamp: uint32(i) * 160, SSRC: 1}, 100, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	for i := range 100 {
		s.Add(Header{Seq: uint16(20000 + i), Timestamp: uint32(100+i) * 160, SSRC: 1}, 100, t0.Add(time.Duration(100+i)*20*time.Millisecond))
	}
	if s.Lost() != 0 || s.Expected() != 199 {
		t.Fatalf("after a restart: expected %d lost %d, want 199 and 0 (the jump's first packet is not counted)", s.Expected(), s.Lost())
	}
}

// The jitter survives the 32-bit timestamp's wrap and a change of clock.
func TestStreamJitterWrapAndClock(t *testing.T) {
	var s Stream
	t0 := time.Now()
	for i := range 200 {
		s.Add(Header{Seq: uint16(i), Timestamp: 1<<32 - 50*160 + uint32(i)*160, SSRC: 5}, 172, t0.Add(time.Duration(i)*20*time.Millisecond))
	}
	if j := s.Jitter(); j > time.Millisecond {
		t.Fatalf("jitter of a perfect stream across the timestamp wrap: %v", j)
	}
	s.SetClock(16000)
	for i := range 200 {
		s.Add(Header{Seq: uint16(200 + i), Timestamp: uint32(i) * 320, SSRC: 5}, 172, t0.Add(time.Duration(200+i)*20*time.Millisecond))
	}
	if j := s.Jitter(); j > time.Millisecond || s.Lost() != 0 {
		t.Fatalf("after a clock change: jitter %v lost %d", s.Jitter(), s.Lost())
	}
}

// ParseHeader reads what pion/rtp reads of the fixed header.
func FuzzParseHeader(f *testing.F) {
	p := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: 65535, Timestamp: 1 << 31, SSRC: 0xdeadbeef, CSRC: []uint32{1, 2}}, Payload: []byte{1, 2, 3}}
	b, _ := p.Marshal()
	f.Add(b)
	f.Add([]byte{0x80, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3})
	f.Add([]byte{0x40})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := ParseHeader(b)
		var want rtp.Header
		_, perr := want.Unmarshal(b)
		if err != nil {
			return
		}
		if perr != nil {
			return // pion refuses what its extensions or padding make invalid; the fixed header is still read
		}
		if h.PayloadType != want.PayloadType || h.Seq != want.SequenceNumber || h.Timestamp != want.Timestamp || h.SSRC != want.SSRC {
			t.Fatalf("ParseHeader %+v, pion %+v", h, want)
		}
	})
}

// A party's RTCP reports (made with pion/rtcp) give what it received:
// the last report block's cumulative loss (24-bit, signed) and jitter in
// its clock; anything else is ignored.
func TestStreamRTCPReports(t *testing.T) {
	var s Stream
	s.SetClock(8000)
	rr, _ := (&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, TotalLost: 7, Jitter: 160}}}).Marshal()
	s.AddRTCP(rr)
	if s.Reports != 1 || s.ReportedLost != 7 || s.ReportedJitter != 20*time.Millisecond {
		t.Errorf("after a receiver report: %d reports, lost %d, jitter %v", s.Reports, s.ReportedLost, s.ReportedJitter)
	}
	sr, _ := rtcp.Marshal([]rtcp.Packet{
		&rtcp.SenderReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, TotalLost: 0xFFFFFF, Jitter: 8}}},
		&rtcp.SourceDescription{Chunks: []rtcp.SourceDescriptionChunk{{Source: 1, Items: []rtcp.SourceDescriptionItem{{Type: rtcp.SDESCNAME, Text: "x"}}}}},
	})
	s.AddRTCP(sr)
	if s.Reports != 2 || s.ReportedLost != -1 || s.ReportedJitter != time.Millisecond {
		t.Errorf("after a compound sender report: %d reports, lost %d, jitter %v", s.Reports, s.ReportedLost, s.ReportedJitter)
	}
	s.AddRTCP([]byte{0x80, 201, 0, 7, 1, 2}) // cut short
	bye, _ := (&rtcp.Goodbye{Sources: []uint32{1}}).Marshal()
	s.AddRTCP(bye)
	if s.Reports != 2 || s.ReportedLost != -1 {
		t.Errorf("malformed or report-less packets counted: %d reports, lost %d", s.Reports, s.ReportedLost)
	}
}

// FuzzAddRTCP feeds a stream any bytes as RTCP: nothing panics, and what
// it takes is a 24-bit signed loss and a jitter of at most 2^32 units.
func FuzzAddRTCP(f *testing.F) {
	rr, _ := (&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, TotalLost: 7, Jitter: 160}}}).Marshal()
	sr, _ := (&rtcp.SenderReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{SSRC: 2, TotalLost: 0xFFFFFF}}}).Marshal()
	f.Add(rr)
	f.Add(sr)
	f.Add([]byte{0x80, 201, 0, 1, 0, 0, 0, 1})
	f.Fuzz(func(t *testing.T, b []byte) {
		var s Stream
		s.AddRTCP(b)
		if s.ReportedLost < -(1<<23) || s.ReportedLost >= 1<<23 || s.ReportedJitter < 0 || s.ReportedJitter > time.Duration(1<<32)*time.Second/DefaultClock {
			t.Fatalf("from %x: lost %d jitter %v", b, s.ReportedLost, s.ReportedJitter)
		}
	})
}
