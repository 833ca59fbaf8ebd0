package cdr

import (
	"errors"
	"math"
	"testing"

	"github.com/trunkline/trunkline/rating"
)

func TestRecordCodecRoundTrip(t *testing.T) {
	extreme := testRecord(1)
	extreme.Attempt, extreme.Duration, extreme.Billed, extreme.SIPCode = math.MaxInt, math.MinInt, -1, 0
	extreme.SetupMs, extreme.AnswerMs = math.MaxInt64, math.MinInt64
	extreme.SellCost, extreme.Margin = rating.Money(math.MinInt64), rating.Money(math.MaxInt64)
	extreme.Description = "Côte d'Ivoire – mobile ☎"
	tests := []struct {
		name string
		r    Record
	}{
		{"zero", Record{}},
		{"typical", testRecord(42)},
		{"extremes and unicode", extreme},
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

// FuzzDecodeFrame checks that no input panics the frame and record decoders
// and that whatever decodes re-encodes to the same record.
func FuzzDecodeFrame(f *testing.F) {
	for i := range 3 {
		r := testRecord(i)
		f.Add(appendFrame(nil, &r))
	}
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
