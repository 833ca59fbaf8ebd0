package rating

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// Trace is everything that priced a call: the card and its revision, the
// matched prefix, the rate, fee, increments and grace of the row, and the
// card's precision and rounding. Stored with a CDR (see String), it lets
// Rerate compute the same cost again without the card.
type Trace struct {
	Card      string
	Revision  int
	Currency  string
	Prefix    string
	Rate      Money
	Fee       Money
	Initial   int32
	Increment int32
	Grace     int32
	Precision int
	Rounding  Rounding
}

// traceVersion starts every trace string.
const traceVersion = "t1"

// String renders t compactly, e.g.
// "t1|cust-eu|7|EUR|4930|0.0123|0|30/6/0|4|half-up". The card id is
// path-escaped so it cannot hold the separator.
func (t Trace) String() string {
	b := make([]byte, 0, 64+len(t.Card))
	b = append(b, traceVersion...)
	b = append(b, '|')
	b = append(b, url.PathEscape(t.Card)...)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(t.Revision), 10)
	b = append(b, '|')
	b = append(b, t.Currency...)
	b = append(b, '|')
	b = append(b, t.Prefix...)
	b = append(b, '|')
	b = t.Rate.appendCompact(b)
	b = append(b, '|')
	b = t.Fee.appendCompact(b)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(t.Initial), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(t.Increment), 10)
	b = append(b, '/')
	b = strconv.AppendInt(b, int64(t.Grace), 10)
	b = append(b, '|')
	b = strconv.AppendInt(b, int64(t.Precision), 10)
	b = append(b, '|')
	b = append(b, t.Rounding.String()...)
	return string(b)
}

// ParseTrace reads a string written by Trace.String. Errors wrap ErrBadTrace.
func ParseTrace(s string) (Trace, error) {
	var t Trace
	f := strings.Split(s, "|")
	if len(f) != 10 || f[0] != traceVersion {
		return t, fmt.Errorf("%w: %q: want 10 fields starting %q", ErrBadTrace, s, traceVersion)
	}
	bad := func(what string, err error) (Trace, error) {
		return Trace{}, fmt.Errorf("%w: %q: %s: %v", ErrBadTrace, s, what, err)
	}
	var err error
	if t.Card, err = url.PathUnescape(f[1]); err != nil {
		return bad("card", err)
	}
	if t.Revision, err = strconv.Atoi(f[2]); err != nil {
		return bad("revision", err)
	}
	t.Currency = f[3]
	if t.Currency != "" && !isCurrency(t.Currency) {
		return bad("currency", fmt.Errorf("%q is not an ISO 4217 code", t.Currency))
	}
	t.Prefix = f[4]
	if len(t.Prefix) > MaxPrefixLen || !allDigits(t.Prefix) {
		return bad("prefix", fmt.Errorf("%q is not digits", t.Prefix))
	}
	if t.Rate, err = ParseMoney(f[5]); err != nil || t.Rate < 0 {
		return bad("rate", fmt.Errorf("%q: %v", f[5], err))
	}
	if t.Fee, err = ParseMoney(f[6]); err != nil || t.Fee < 0 {
		return bad("fee", fmt.Errorf("%q: %v", f[6], err))
	}
	inc := strings.Split(f[7], "/")
	if len(inc) != 3 {
		return bad("increments", fmt.Errorf("%q is not initial/increment/grace", f[7]))
	}
	var v [3]int64
	for i, x := range inc {
		if v[i], err = strconv.ParseInt(x, 10, 32); err != nil || v[i] < 0 {
			return bad("increments", fmt.Errorf("%q", f[7]))
		}
	}
	if v[0] == 0 || v[1] == 0 {
		return bad("increments", fmt.Errorf("%q: zero increment", f[7]))
	}
	t.Initial, t.Increment, t.Grace = int32(v[0]), int32(v[1]), int32(v[2])
	if t.Precision, err = strconv.Atoi(f[8]); err != nil || t.Precision < 0 || t.Precision > Digits {
		return bad("precision", fmt.Errorf("%q", f[8]))
	}
	if t.Rounding, err = ParseRounding(f[9]); err != nil {
		return bad("rounding", err)
	}
	return t, nil
}

// MarshalText encodes t as its String form.
func (t Trace) MarshalText() ([]byte, error) { return []byte(t.String()), nil }

// UnmarshalText decodes a string written by MarshalText.
func (t *Trace) UnmarshalText(b []byte) error {
	v, err := ParseTrace(string(b))
	if err != nil {
		return err
	}
	*t = v
	return nil
}
