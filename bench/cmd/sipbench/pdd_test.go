package main

import (
	"encoding/binary"
	"fmt"
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
	got, err := addedDelays(pcapOf(t, pkts), sw, uac, uas)
	if err != nil {
		t.Fatal(err)
	}
	sort.Float64s(got)
	want := []float64{0.3, 0.7, 1.1}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("added delays %v ms, want %v", got, want)
	}
}
