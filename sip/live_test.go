package sip

import (
	"reflect"
	"testing"

	"github.com/trunkline/trunkline/cdr"
)

var sampleLive = liveRecord{
	CDR:  cdr.Record{CallID: "abc", SIPCallID: "cust@1", Attempt: 2, Final: true, CustomerID: "c1", CarrierID: "k1", AnswerMs: 1000, SetupMs: 900},
	Sell: "card=x", Buy: "card=y",
	Customer: liveLeg{CallID: "cust@1", Local: "<sip:1@h>;tag=a", Remote: "<sip:a@b>;tag=b", Target: "sip:a@127.0.0.2:5060",
		Next: "127.0.0.2:5060", Transport: "UDP", Routes: []string{"sip:p1;lr", "sip:p2;lr"}, Seq: 3, Pinned: true},
	Carrier: liveLeg{CallID: "abc", Local: "<sip:1@sw>;tag=c", Remote: "<sip:2@k>;tag=d", Target: "sip:2@127.0.0.1:5070",
		Next: "127.0.0.1:5070", Transport: "TCP", Seq: 1},
	Paid: 300, MaxSeconds: 10800,
}

func TestLiveRecordRoundTrip(t *testing.T) {
	got, err := decodeLive(appendLive(nil, &sampleLive))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, sampleLive) {
		t.Fatalf("decoded %+v\nwant %+v", got, sampleLive)
	}
	b := appendLive(nil, &sampleLive)
	for i := range b {
		if _, err := decodeLive(b[:i]); err == nil {
			t.Fatalf("a record cut at %d of %d bytes decoded", i, len(b))
		}
	}
}

// TestLiveRecordVersion1 reads a record written before Paid was added:
// version 1, no Paid field.
func TestLiveRecordVersion1(t *testing.T) {
	want := sampleLive
	want.Paid, want.MaxSeconds = 0, 0
	b := appendLive(nil, &want)
	b = b[:len(b)-2] // Paid 0 and MaxSeconds 0 are one byte each
	b[0] = 1
	got, err := decodeLive(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v\nwant %+v", got, want)
	}
}

// TestLiveRecordVersion2 reads a record written before MaxSeconds was
// added.
func TestLiveRecordVersion2(t *testing.T) {
	want := sampleLive
	want.MaxSeconds = 0
	b := appendLive(nil, &want)
	b = b[:len(b)-1] // MaxSeconds 0 is one byte
	b[0] = 2
	got, err := decodeLive(b)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("decoded %+v\nwant %+v", got, want)
	}
}

// FuzzDecodeLive checks that any bytes decode or fail without a panic, and
// that what decodes encodes back to a record that decodes the same.
func FuzzDecodeLive(f *testing.F) {
	f.Add(appendLive(nil, &sampleLive))
	f.Add([]byte{liveVersion})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeLive(b)
		if err != nil {
			return
		}
		again, err := decodeLive(appendLive(nil, &r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encoded record decodes as %+v, %v; want %+v", again, err, r)
		}
	})
}
