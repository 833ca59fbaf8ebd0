package cdr

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/trunkline/trunkline/rating"
)

// recordVersion is the first byte of every encoded Record. Fields are only
// ever appended to the encoding, never changed, so the version stays and both
// directions work: a decoder ignores trailing bytes it does not know (an
// older binary reads a newer journal), and a field appended after the first
// release (SIPCallID, and any later one) decodes as its zero value from a
// payload that ends before it (a newer binary reads an older journal).
const recordVersion = 1

// AppendRecord appends the journal's binary encoding of r to dst (see
// appendRecord), for other durable files that hold a CDR.
func AppendRecord(dst []byte, r *Record) []byte { return appendRecord(dst, r) }

// DecodeRecord decodes what AppendRecord wrote.
func DecodeRecord(p []byte) (Record, error) {
	var r Record
	err := decodeRecord(p, &r)
	return r, err
}

// appendRecord appends the compact binary encoding of r to dst: the version
// byte, then every field in declaration order, strings as uvarint length plus
// bytes, integers as zig-zag varints, Final as one byte. It does not allocate
// when dst has room.
func appendRecord(dst []byte, r *Record) []byte {
	dst = append(dst, recordVersion)
	dst = appendString(dst, r.CallID)
	dst = binary.AppendVarint(dst, int64(r.Attempt))
	if r.Final {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = appendString(dst, r.Node)
	dst = appendString(dst, r.CustomerID)
	dst = appendString(dst, r.AuthMethod)
	dst = appendString(dst, r.CarrierID)
	dst = appendString(dst, r.SourceIP)
	dst = appendString(dst, r.Caller)
	dst = appendString(dst, r.Callee)
	dst = appendString(dst, r.Prefix)
	dst = appendString(dst, r.Description)
	dst = binary.AppendVarint(dst, r.SetupMs)
	dst = binary.AppendVarint(dst, r.AnswerMs)
	dst = binary.AppendVarint(dst, r.EndMs)
	dst = binary.AppendVarint(dst, r.PDDMs)
	dst = binary.AppendVarint(dst, int64(r.Duration))
	dst = binary.AppendVarint(dst, int64(r.Billed))
	dst = binary.AppendVarint(dst, int64(r.SIPCode))
	dst = appendString(dst, r.Reason)
	dst = appendString(dst, r.HangupSide)
	dst = appendString(dst, r.Currency)
	dst = binary.AppendVarint(dst, int64(r.SellRate))
	dst = binary.AppendVarint(dst, int64(r.SellCost))
	dst = binary.AppendVarint(dst, int64(r.BuyRate))
	dst = binary.AppendVarint(dst, int64(r.BuyCost))
	dst = binary.AppendVarint(dst, int64(r.Margin))
	dst = appendString(dst, r.Trace)
	// Appended fields: an older payload ends before them.
	dst = appendString(dst, r.SIPCallID)
	if r.MediaRelayed {
		dst = append(dst, 1)
	} else {
		dst = append(dst, 0)
	}
	dst = appendRTP(dst, &r.CustomerRTP)
	dst = appendRTP(dst, &r.CarrierRTP)
	return dst
}

// appendRTP appends one direction's media statistics; the MOS goes in
// hundredths, as MOS estimates are rounded.
func appendRTP(dst []byte, s *RTPStats) []byte {
	dst = binary.AppendVarint(dst, s.Packets)
	dst = binary.AppendVarint(dst, s.Bytes)
	dst = binary.AppendVarint(dst, s.Lost)
	dst = binary.AppendVarint(dst, s.JitterUs)
	dst = binary.AppendVarint(dst, int64(math.Round(s.MOS*100)))
	dst = appendString(dst, s.PayloadTypes)
	dst = binary.AppendVarint(dst, s.ReportedLost)
	return binary.AppendVarint(dst, s.ReportedJitterUs)
}

func (d *recordDecoder) rtp() RTPStats {
	return RTPStats{Packets: d.varint(), Bytes: d.varint(), Lost: d.varint(), JitterUs: d.varint(),
		MOS: float64(d.varint()) / 100, PayloadTypes: d.str(), ReportedLost: d.varint(), ReportedJitterUs: d.varint()}
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// decodeRecord decodes a payload written by appendRecord, of this or an
// earlier release, into r. All string fields share one allocation: a copy of
// p.
func decodeRecord(p []byte, r *Record) error {
	if len(p) == 0 {
		return fmt.Errorf("%w: empty payload", ErrBadRecord)
	}
	if p[0] != recordVersion {
		return fmt.Errorf("%w: unknown version %d", ErrBadRecord, p[0])
	}
	d := recordDecoder{s: string(p), i: 1}
	*r = Record{
		CallID:      d.str(),
		Attempt:     d.int(),
		Final:       d.bool(),
		Node:        d.str(),
		CustomerID:  d.str(),
		AuthMethod:  d.str(),
		CarrierID:   d.str(),
		SourceIP:    d.str(),
		Caller:      d.str(),
		Callee:      d.str(),
		Prefix:      d.str(),
		Description: d.str(),
		SetupMs:     d.varint(),
		AnswerMs:    d.varint(),
		EndMs:       d.varint(),
		PDDMs:       d.varint(),
		Duration:    d.int(),
		Billed:      d.int(),
		SIPCode:     d.int(),
		Reason:      d.str(),
		HangupSide:  d.str(),
		Currency:    d.str(),
		SellRate:    rating.Money(d.varint()),
		SellCost:    rating.Money(d.varint()),
		BuyRate:     rating.Money(d.varint()),
		BuyCost:     rating.Money(d.varint()),
		Margin:      rating.Money(d.varint()),
		Trace:       d.str(),
	}
	// Fields appended after the first release; a payload written before a
	// field existed ends before it, and the field keeps its zero value.
	d.appended = true
	r.SIPCallID = d.str()
	if !d.missing() {
		// The media fields were appended together: a payload holds all
		// of them or none, and one cut off among them is an error.
		r.MediaRelayed = d.bool()
		d.appended = false
		r.CustomerRTP, r.CarrierRTP = d.rtp(), d.rtp()
	}
	if d.err != nil {
		*r = Record{}
		return d.err
	}
	return nil
}

// recordDecoder reads fields from s; after the first error every read
// returns a zero value and err keeps the first error. Once appended is set,
// reaching the end of s where a field would start is not an error: the field
// was appended after the payload was written, and it reads as a zero value.
// A field cut off part-way is an error either way.
type recordDecoder struct {
	s        string
	i        int
	err      error
	appended bool
}

// missing reports whether the next field is absent because the payload was
// written before it was appended.
func (d *recordDecoder) missing() bool {
	return d.appended && d.err == nil && d.i == len(d.s)
}

func (d *recordDecoder) fail(what string) {
	if d.err == nil {
		d.err = fmt.Errorf("%w: %s at byte %d", ErrBadRecord, what, d.i)
	}
}

func (d *recordDecoder) uvarint() uint64 {
	if d.err != nil || d.missing() {
		return 0
	}
	var x uint64
	var shift uint
	for n := 0; n < binary.MaxVarintLen64; n++ {
		if d.i >= len(d.s) {
			d.fail("truncated varint")
			return 0
		}
		b := d.s[d.i]
		d.i++
		if b < 0x80 {
			if n == binary.MaxVarintLen64-1 && b > 1 {
				d.fail("varint overflow")
				return 0
			}
			return x | uint64(b)<<shift
		}
		x |= uint64(b&0x7f) << shift
		shift += 7
	}
	d.fail("varint overflow")
	return 0
}

func (d *recordDecoder) varint() int64 {
	ux := d.uvarint()
	x := int64(ux >> 1)
	if ux&1 != 0 {
		x = ^x
	}
	return x
}

func (d *recordDecoder) int() int {
	v := d.varint()
	if int64(int(v)) != v {
		d.fail("integer out of range")
		return 0
	}
	return int(v)
}

func (d *recordDecoder) bool() bool {
	if d.err != nil || d.missing() {
		return false
	}
	if d.i >= len(d.s) {
		d.fail("truncated bool")
		return false
	}
	b := d.s[d.i]
	d.i++
	if b > 1 {
		d.fail("bad bool")
		return false
	}
	return b == 1
}

func (d *recordDecoder) str() string {
	n := d.uvarint()
	if d.err != nil {
		return ""
	}
	if n > uint64(len(d.s)-d.i) {
		d.fail("truncated string")
		return ""
	}
	s := d.s[d.i : d.i+int(n)]
	d.i += int(n)
	return s
}
