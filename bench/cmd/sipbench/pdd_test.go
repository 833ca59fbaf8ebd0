package main

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"testing"
)

// pcapOf writes a pcap of UDP datagrams on loopback (Ethernet link type).
func pcapOf(t *testing.T, pkts []capPkt) string {
	t.Helper()
	b := make([]byte, 24)
	binary.LittleEndian.PutUint32(b, 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], 65535)
	binary.LittleEndian.PutUint32(b[20:], 1)
	for _, p := range pkts {
		frame := make([]byte, 14+20+8, 14+20+8+len(p.msg))
		binary.BigEndian.PutUint16(frame[12:], 0x0800)
		ip := frame[14:]
		ip[0], ip[9] = 0x45, 17
		binary.BigEndian.PutUint16(ip[20:], uint16(p.sport))
		binary.BigEndian.PutUint16(ip[22:], uint16(p.dport))
		frame = append(frame, p.msg...)
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec, uint32(p.us/1e6))
		binary.LittleEndian.PutUint32(rec[4:], uint32(p.us%1e6))
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(frame)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(frame)))
		b = append(append(b, rec...), frame...)
	}
	path := filepath.Join(t.TempDir(), "c.pcap")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

type capPkt struct {
	us           int64
	sport, dport int
	msg          string
}

func invite(number, callID string) string {
	return fmt.Sprintf("INVITE sip:%s@127.0.0.1:5060 SIP/2.0\r\nCall-ID: %s\r\nCSeq: 1 INVITE\r\n\r\n", number, callID)
}

func ok200(callID string) string {
	return fmt.Sprintf("SIP/2.0 200 OK\r\ni: %s\r\nCSeq: 1 INVITE\r\n\r\n", callID)
}

// The legs of a call are paired by Call-ID through a transparent proxy and
// by dialled number (in INVITE order) through one that hides topology.
func TestAddedDelaysPairsLegs(t *testing.T) {
	const sw, uac, uas = 5060, 5061, 5062
	pkts := []capPkt{
		// transparent: same Call-ID on both legs; added 100 + 200 µs
		{1000, uac, sw, invite("4420", "a@x")},
		{1100, sw, uas, invite("4420", "a@x")},
		{2000, uas, sw, ok200("a@x")},
		{2200, sw, uac, ok200("a@x")},
		// masked Call-ID, number dialled twice: first INVITE pairs with the
		// first carrier INVITE; added 300 + 400 and 500 + 600 µs
		{3000, uac, sw, invite("+4930", "b@x")},
		{3100, uac, sw, invite("4930", "c@x")},
		{3100, uac, sw, invite("4930", "c@x")}, // retransmission
		{3300, sw, uas, invite("4930", "!!:masked-b")},
		{3600, sw, uas, invite("4930;npdi", "!!:masked-c")},
		{4000, uas, sw, ok200("!!:masked-b")},
		{4400, sw, uac, ok200("b@x")},
		{5000, uas, sw, ok200("!!:masked-c")},
		{5600, sw, uac, ok200("c@x")},
		// unanswered: no pair in the result
		{6000, uac, sw, invite("33", "d@x")},
		{6100, sw, uas, invite("33", "!!:masked-d")},
	}
	calls, err := addedDelays(pcapOf(t, pkts), sw, uac, uas)
	if err != nil {
		t.Fatal(err)
	}
	var got []float64
	for _, c := range calls {
		got = append(got, math.Round(c.added()*1000)/1000) // µs
	}
	sort.Float64s(got)
	want := []float64{0.3, 0.7, 1.1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("added delays %v ms, want %v", got, want)
	}
	for _, c := range calls {
		if c.at == 3000 && (c.inv != 0.3 || c.ok != 0.4) {
			t.Fatalf("call b: %+v, want the INVITE at 3000 µs, 0.3 and 0.4 ms", c)
		}
	}
}

// A stretch of 100 ms in which over a tenth of the calls took too long is a
// burst; the slow calls elsewhere are outside.
func TestTailSplit(t *testing.T) {
	var calls []callDelay
	for i := range 100 { // 0–99 ms: 20 slow calls of 100, a burst
		d := callDelay{at: int64(i) * 1000, inv: 0.2, ok: 0.1}
		if i%5 == 0 {
			d.inv = 4
		}
		calls = append(calls, d)
	}
	for i := range 100 { // 100–199 ms: 5 slow calls of 100
		d := callDelay{at: 100_000 + int64(i)*1000, inv: 0.2, ok: 0.1}
		if i%20 == 0 {
			d.ok = 2.5
		}
		calls = append(calls, d)
	}
	calls = append(calls, callDelay{at: 250_000, inv: 1, ok: 1}) // 2 ms is not over
	bursts, outside := tailSplit(calls, 2)
	if math.Abs(bursts-100*20/201.0) > 1e-9 || math.Abs(outside-100*5/201.0) > 1e-9 {
		t.Fatalf("bursts %.3f %%, outside %.3f %%; want %.3f, %.3f", bursts, outside, 100*20/201.0, 100*5/201.0)
	}
}
