package rating

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Scale is the number of Money units in one currency unit: Money counts
// millionths, which is the precision of the Decimal(18,6) CDR columns.
const Scale = 1_000_000

// Digits is the number of decimal places Money carries.
const Digits = 6

// Money is an exact amount in millionths of a currency unit. It is never a
// float: sums, products by whole seconds and comparisons are exact.
type Money int64

// ErrBadMoney reports a string that is not a decimal amount with at most
// Digits decimal places.
var ErrBadMoney = errors.New("bad money amount")

// ParseMoney reads a decimal amount such as "0.0123", "-5" or "12.5".
// More than Digits decimal places is an error, never a silent rounding.
func ParseMoney(s string) (Money, error) {
	t := strings.TrimSpace(s)
	if t == "" {
		return 0, fmt.Errorf("%w: empty", ErrBadMoney)
	}
	neg := false
	switch t[0] {
	case '-':
		neg, t = true, t[1:]
	case '+':
		t = t[1:]
	}
	whole, frac, _ := strings.Cut(t, ".")
	if whole == "" && frac == "" {
		return 0, fmt.Errorf("%w: %q", ErrBadMoney, s)
	}
	if len(frac) > Digits {
		return 0, fmt.Errorf("%w: %q has more than %d decimal places", ErrBadMoney, s, Digits)
	}
	if !allDigits(whole) || !allDigits(frac) || len(whole) > 12 {
		return 0, fmt.Errorf("%w: %q", ErrBadMoney, s)
	}
	var w, f int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", Digits-len(frac)), 10, 64)
	}
	m := Money(w*Scale + f)
	if neg {
		m = -m
	}
	return m, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// String formats m with all Digits decimal places, e.g. "0.012300".
func (m Money) String() string {
	sign := ""
	v := int64(m)
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%06d", sign, v/Scale, v%Scale)
}

// MarshalText encodes m as its decimal string so JSON carries it exactly.
func (m Money) MarshalText() ([]byte, error) { return []byte(m.String()), nil }

// UnmarshalText decodes a decimal string written by MarshalText or a person.
func (m *Money) UnmarshalText(b []byte) error {
	v, err := ParseMoney(string(b))
	if err != nil {
		return err
	}
	*m = v
	return nil
}

// Compact formats m with no trailing zeros in its decimals, e.g. "0.0123",
// "5" or "-1.5". ParseMoney reads it back to the same value.
func (m Money) Compact() string { return string(m.appendCompact(nil)) }

func (m Money) appendCompact(b []byte) []byte {
	v := uint64(m)
	if m < 0 {
		b = append(b, '-')
		v = uint64(-m)
	}
	b = strconv.AppendUint(b, v/Scale, 10)
	frac := v % Scale
	if frac == 0 {
		return b
	}
	var d [Digits]byte
	for i := Digits - 1; i >= 0; i-- {
		d[i] = byte('0' + frac%10)
		frac /= 10
	}
	n := Digits
	for d[n-1] == '0' {
		n--
	}
	b = append(b, '.')
	return append(b, d[:n]...)
}
