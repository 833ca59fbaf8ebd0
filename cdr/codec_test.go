package cdr

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"math"
	"os"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/rating"
)

func TestRecordCodecRoundTrip(t *testing.T) {
	extreme := testRecord(1)
	extreme.Attempt, extreme.Duration, extreme.Billed, extreme.SIPCode = math.MaxInt, math.MinInt, -1, 0
	extreme.SetupMs, extreme.AnswerMs = math.MaxInt64, math.MinInt64
	extreme.SellCost, extreme.Margin = rating.Money(math.MinInt64), rating.Money(math.MaxInt64)
	extreme.Description = "Côte d'Ivoire – mobile ☎"
	extreme.SIPCallID = "a84b4c76e66710@pc33.atlanta.example \"'\\\x00☎"
	tests := []struct {
		name string
		r    Record
	}{
		{"zero", Record{}},
		{"typical", testRecord(42)},
		{"extremes and unicode", extreme},
		{"only SIPCallID", Record{SIPCallID: "x"}},
		{"media", withMedia(testRecord(3))},
		{"only the last field", Record{CarrierRTP: RTPStats{PayloadTypes: "8"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			frame := appendFrame(nil, &tt.r)
			payload, n, err := decodeFrame(frame)
			if err != nil || n != len(frame) {
				t.Fatalf("decodeFrame: n=%d err=%v", n, err)
			}
			var got Record
			if err := decodeRecord(payload, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.r {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, tt.r)
			}
			// Trailing bytes from a newer writer are ignored.
			if err := decodeRecord(append(payload, 1, 2, 3), &got); err != nil || got != tt.r {
				t.Fatalf("with trailing bytes: %v", err)
			}
		})
	}
}

func TestDecodeFrameErrors(t *testing.T) {
	r := testRecord(1)
	good := appendFrame(nil, &r)
	tests := []struct {
		name string
		b    []byte
		want error
	}{
		{"empty", nil, ErrShortFrame},
		{"short header", good[:5], ErrShortFrame},
		{"short payload", good[:len(good)-1], ErrShortFrame},
		{"zero length", make([]byte, 16), ErrBadFrame},
		{"huge length", []byte{0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0}, ErrBadFrame},
		{"bad crc", append(append([]byte(nil), good[:len(good)-1]...), good[len(good)-1]^1), ErrBadFrame},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, _, err := decodeFrame(tt.b); !errors.Is(err, tt.want) {
				t.Fatalf("decodeFrame: %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDecodeRecordErrors(t *testing.T) {
	r := testRecord(1)
	good := appendRecord(nil, &r)
	tests := []struct {
		name string
		p    []byte
	}{
		{"empty", nil},
		{"unknown version", append([]byte{9}, good[1:]...)},
		{"truncated", good[:len(good)-3]},
		{"string longer than payload", []byte{recordVersion, 0x7f}},
		{"varint overflow", []byte{recordVersion, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f}},
		{"bad bool", []byte{recordVersion, 0, 2, 7}},
		{"appended field cut off", good[:len(good)-1]},
		{"appended field's length cut off", append(withoutSIPCallID(t, testRecord(2)), 0x80)},
		{"cut off before the appended fields", withoutSIPCallID(t, testRecord(1))[:len(good)-mediaBytes-len(r.SIPCallID)-2]},
		{"media fields cut off", good[:len(good)-mediaBytes+1]},
		{"media fields cut off at a field's end", good[:len(good)-8]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got Record
			if err := decodeRecord(tt.p, &got); !errors.Is(err, ErrBadRecord) {
				t.Fatalf("decodeRecord: %v, want ErrBadRecord", err)
			}
		})
	}
}

// withoutSIPCallID returns r encoded as the release before SIPCallID was
// appended wrote it: the payload ends after Trace.
func withoutSIPCallID(t testing.TB, r Record) []byte {
	t.Helper()
	r.SIPCallID = ""
	p := withoutMedia(t, r)
	if p[len(p)-1] != 0 {
		t.Fatalf("encoding does not end with an empty SIPCallID: % x", p[len(p)-4:])
	}
	return p[:len(p)-1]
}

// mediaBytes is the length of the media fields of a record without media:
// MediaRelayed, then each direction's seven zero varints and empty string.
const mediaBytes = 1 + 2*8

// withoutMedia returns r encoded as the release before the media fields
// were appended wrote it: the payload ends after SIPCallID.
func withoutMedia(t testing.TB, r Record) []byte {
	t.Helper()
	r.MediaRelayed, r.CustomerRTP, r.CarrierRTP = false, RTPStats{}, RTPStats{}
	p := appendRecord(nil, &r)
	for _, b := range p[len(p)-mediaBytes:] {
		if b != 0 {
			t.Fatalf("encoding does not end with empty media fields: % x", p[len(p)-mediaBytes:])
		}
	}
	return p[:len(p)-mediaBytes]
}

// withMedia is r with the media statistics of a relayed call.
func withMedia(r Record) Record {
	r.MediaRelayed = true
	r.CustomerRTP = RTPStats{Packets: 3000, Bytes: 516000, Lost: 12, JitterUs: 1875, MOS: 4.37, PayloadTypes: "0,101", ReportedLost: 9, ReportedJitterUs: 2125}
	r.CarrierRTP = RTPStats{Packets: 2990, Bytes: 514280, Lost: -2, JitterUs: 0, MOS: 1, PayloadTypes: "8", ReportedLost: -1}
	return r
}

// appendPayloadFrame appends a frame holding payload p as it is, for
// payloads appendRecord no longer writes.
func appendPayloadFrame(dst, p []byte) []byte {
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(p)))
	dst = binary.LittleEndian.AppendUint32(dst, crc32.Checksum(p, castagnoli))
	return append(dst, p...)
}

// A payload written before SIPCallID was appended decodes with SIPCallID ""
// and every other field intact.
func TestDecodeRecordWithoutAppendedFields(t *testing.T) {
	golden, err := os.ReadFile("testdata/record-before-sip-call-id.hex")
	if err != nil {
		t.Fatal(err)
	}
	old, err := hex.DecodeString(strings.TrimSpace(string(golden)))
	if err != nil {
		t.Fatal(err)
	}
	typical := testRecord(7)
	typical.SIPCallID = ""
	tests := []struct {
		name string
		p    []byte
		want Record
	}{
		// Written by the encoder of commit ff4c9f8, before SIPCallID.
		{"golden payload of the previous release", old, Record{
			CallID: "b2b-7f3a9c@switch.example", Attempt: 2, Final: true, Node: "node-2", CustomerID: "cust-9",
			AuthMethod: "digest", CarrierID: "carrier-4", SourceIP: "198.51.100.7", Caller: "33142685300", Callee: "4930901820",
			Prefix: "4930", Description: "Germany Berlin", SetupMs: 1_760_000_000_123, AnswerMs: 1_760_000_003_456,
			EndMs: 1_760_000_125_789, PDDMs: 3333, Duration: 123, Billed: 180, SIPCode: 200, Reason: "OK",
			HangupSide: "carrier", Currency: "USD", SellRate: 10_500, SellCost: 31_500, BuyRate: 8_000, BuyCost: 24_000,
			Margin: 7_500, Trace: "card=3 rev=12 inc=60/60",
		}},
		{"typical without the field", withoutSIPCallID(t, testRecord(7)), typical},
		{"zero without the field", withoutSIPCallID(t, Record{}), Record{}},
		{"typical without the media fields", withoutMedia(t, testRecord(7)), testRecord(7)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Record{SIPCallID: "stale"}
			if err := decodeRecord(tt.p, &got); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("decoded\n got %+v\nwant %+v", got, tt.want)
			}
			// Written again, it carries the field (empty) and reads back the same.
			again := Record{SIPCallID: "stale"}
			if err := decodeRecord(appendRecord(nil, &got), &again); err != nil || again != tt.want {
				t.Fatalf("re-encoded: %v %+v", err, again)
			}
		})
	}
}

// FuzzDecodeFrame checks that no input panics the frame and record decoders
// and that whatever decodes re-encodes to the same record.
func FuzzDecodeFrame(f *testing.F) {
	for i := range 3 {
		r := testRecord(i)
		f.Add(appendFrame(nil, &r))
	}
	// A frame of the release before SIPCallID was appended.
	f.Add(appendPayloadFrame(nil, withoutSIPCallID(f, testRecord(3))))
	f.Fuzz(func(t *testing.T, b []byte) {
		payload, n, err := decodeFrame(b)
		if err != nil {
			return
		}
		if n < frameHeaderSize || n > len(b) || len(payload) != n-frameHeaderSize {
			t.Fatalf("decodeFrame: n=%d payload=%d input=%d", n, len(payload), len(b))
		}
		var r Record
		if err := decodeRecord(payload, &r); err != nil {
			return
		}
		var again Record
		p2, _, err := decodeFrame(appendFrame(nil, &r))
		if err != nil {
			t.Fatalf("re-encoded frame: %v", err)
		}
		if err := decodeRecord(p2, &again); err != nil || again != r {
			t.Fatalf("re-encoded record differs: %v\n%+v\n%+v", err, again, r)
		}
	})
}
