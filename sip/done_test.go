package sip

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// The records of ended transactions give back what was stored, are found
// only by their own key, and are swept in order, a slab at a time, without
// changing data a reader still holds.
func TestDoneTable(t *testing.T) {
	t0 := time.Unix(1000, 0)
	key := func(i int) txKey {
		return txKey{branch: fmt.Sprint("z9hG4bK", i), sentBy: "127.0.0.1:5060", method: gosip.BYE}
	}
	d := newDoneTable()
	want := doneTx{final: 486, to: hop{addr: "127.0.0.2:5070", transport: transportUDP}, data: []byte("SIP/2.0 486 Busy Here\r\n\r\n"), ack2xx: true}
	d.add(key(0), want, t0.Add(time.Second))
	d.add(key(1), doneTx{final: 200, to: hop{addr: "[::1]:5060", transport: transportTCP}}, t0.Add(2*time.Second))

	got, ok := d.find(key(0))
	if !ok || got.final != want.final || got.to != want.to || !bytes.Equal(got.data, want.data) || !got.ack2xx {
		t.Fatalf("record 0: got %+v %v, want %+v", got, ok, want)
	}
	if got, ok := d.find(key(1)); !ok || got.final != 200 || got.data != nil || got.ack2xx || got.to.transport != transportTCP {
		t.Fatalf("record 1: got %+v %v", got, ok)
	}
	for _, k := range []txKey{key(2), {branch: key(0).branch, sentBy: "127.0.0.1:5061", method: gosip.BYE}, {branch: key(0).branch, sentBy: key(0).sentBy, method: gosip.INVITE}} {
		if _, ok := d.find(k); ok {
			t.Fatalf("%+v found", k)
		}
	}
	// A key whose hash leads to another key's record is not found.
	d.index[d.hash(key(3))] = d.index[d.hash(key(0))]
	if _, ok := d.find(key(3)); ok {
		t.Fatal("a record found under a key it was not stored with")
	}
	delete(d.index, d.hash(key(3)))

	d.sweep(t0.Add(1500 * time.Millisecond))
	if _, ok := d.find(key(0)); ok || d.n != 1 {
		t.Fatalf("record 0 still found after its time (%d left)", d.n)
	}
	if _, ok := d.find(key(1)); !ok {
		t.Fatal("record 1 swept before its time")
	}

	// Many large records span slabs; a reader's data stays as it was while
	// the slabs are dropped.
	big := bytes.Repeat([]byte("x"), 50<<10)
	held, _ := d.find(key(1))
	for i := 10; i < 40; i++ {
		big[0] = byte(i)
		d.add(key(i), doneTx{final: 200, to: hop{addr: "127.0.0.1:1", transport: transportUDP}, data: big}, t0.Add(3*time.Second))
	}
	first, _ := d.find(key(10))
	if len(d.slabs) < 4 {
		t.Fatalf("%d slabs for 1.5 MB of records", len(d.slabs))
	}
	if got, ok := d.find(key(39)); !ok || got.data[0] != 39 || len(got.data) != len(big) {
		t.Fatal("the last large record is not as stored")
	}
	d.sweep(t0.Add(time.Hour))
	if d.n != 0 || len(d.index) != 0 || len(d.slabs) > 1 {
		t.Fatalf("after the last sweep: %d records, %d indexed, %d slabs", d.n, len(d.index), len(d.slabs))
	}
	if held.to.addr != "[::1]:5060" || first.data[0] != 10 || len(first.data) != len(big) {
		t.Fatal("data read before the sweep changed")
	}
	// Records added after everything was swept are found again.
	d.add(key(50), want, t0.Add(2*time.Hour))
	if got, ok := d.find(key(50)); !ok || !bytes.Equal(got.data, want.data) {
		t.Fatalf("record after a full sweep: %+v %v", got, ok)
	}
}

// Ended transactions answer retransmissions from their records: a
// retransmitted BYE gets the same 200 and does not reach the carrier again,
// a CANCEL of an answered INVITE gets 200 and changes nothing, and once the
// records are swept the same BYE gets 481.
func TestRetransmissionsAfterEnd(t *testing.T) {
	s, sw, cust, cars, sink := setup(t, 1, withTimers(50*time.Millisecond, time.Second))
	in := invite(cust, "dn1", ";branch=z9hG4bKdn1")
	_, r200 := answer(t, sw, cust, cars[0], in)
	cust.send(sw, inDialog(cust, "ACK", "dn1", "z9hG4bKackdn1", 1, r200, cars[0].addr()))
	cancel := strings.Replace(strings.Replace(in, "INVITE sip", "CANCEL sip", 1), "1 INVITE", "1 CANCEL", 1)
	cust.send(sw, cancel)
	if m, ok := cust.next("SIP/2.0 ", 2*time.Second); !ok || !strings.HasPrefix(m, "SIP/2.0 200") || hdr(m, "CSeq") != "CSeq: 1 CANCEL\r\n" {
		t.Fatalf("CANCEL of an answered INVITE: %q", firstLine(m))
	}
	if m, ok := cars[0].next("CANCEL", 200*time.Millisecond); ok {
		t.Fatalf("the carrier got %q for an answered call", firstLine(m))
	}
	hangUp(t, sw, cust, cars[0], "dn1", r200)
	bye := inDialog(cust, "BYE", "dn1", "z9hG4bKbyedn1", 2, r200, cars[0].addr())
	first := ""
	for i := range 3 {
		cust.send(sw, bye)
		m, ok := cust.next("SIP/2.0 ", 2*time.Second)
		if !ok || !strings.HasPrefix(m, "SIP/2.0 200") {
			t.Fatalf("retransmitted BYE %d: %q", i+1, firstLine(m))
		}
		if first == "" {
			first = m
		} else if m != first {
			t.Fatalf("retransmitted BYE %d got another answer:\n%s\nthen\n%s", i+1, first, m)
		}
	}
	if m, ok := cars[0].next("BYE", 200*time.Millisecond); ok {
		t.Fatalf("a retransmitted BYE reached the carrier: %q", firstLine(m))
	}
	if n := s.servers.len(); n == 0 {
		t.Fatal("no ended transaction held")
	}
	waitEmpty(t, s, 4*time.Second)
	cust.send(sw, bye)
	if m, ok := cust.next("SIP/2.0 ", 2*time.Second); !ok || !strings.HasPrefix(m, "SIP/2.0 481") {
		t.Fatalf("BYE after its transaction was swept: %q", firstLine(m))
	}
	if r := onlyCDR(t, sink); r.HangupSide != "customer" || r.AnswerMs == 0 {
		t.Fatalf("CDR %+v", r)
	}
}
