package rating

import (
	"errors"
	"fmt"
	"math/bits"
	"strconv"
	"strings"
)

// Percent is an exact percentage in millionths of a percent: 20 % is
// 20_000_000. Tax and margin percentages are Percents; like Money it is
// never a float.
type Percent int64

// MaxPercent is 100 %, the largest Percent ParsePercent accepts.
const MaxPercent Percent = 100 * Scale

// ErrBadPercent reports a string that is not a percentage from 0 to 100
// with at most Digits decimal places.
var ErrBadPercent = errors.New("bad percentage")

// ParsePercent reads a percentage written as plain decimal digits, such as
// "20", "7.5" or "19.000001": no sign, spaces or exponent, at most Digits
// decimal places, from 0 to 100.
func ParsePercent(s string) (Percent, error) {
	whole, frac, dot := strings.Cut(s, ".")
	switch {
	case whole == "" || (dot && frac == ""):
		return 0, fmt.Errorf("%w: %q", ErrBadPercent, s)
	case len(frac) > Digits:
		return 0, fmt.Errorf("%w: %q has more than %d decimal places", ErrBadPercent, s, Digits)
	case !allDigits(whole) || !allDigits(frac):
		return 0, fmt.Errorf("%w: %q", ErrBadPercent, s)
	}
	whole = strings.TrimLeft(whole, "0")
	if len(whole) > 3 {
		return 0, fmt.Errorf("%w: %q is more than 100", ErrBadPercent, s)
	}
	var w int64
	if whole != "" {
		w, _ = strconv.ParseInt(whole, 10, 64)
	}
	var f int64
	if frac != "" {
		f, _ = strconv.ParseInt(frac+strings.Repeat("0", Digits-len(frac)), 10, 64)
	}
	p := Percent(w*Scale + f)
	if p > MaxPercent {
		return 0, fmt.Errorf("%w: %q is more than 100", ErrBadPercent, s)
	}
	return p, nil
}

// String formats p without trailing zeros ("20", "7.5"); ParsePercent
// reads it back to the same value.
func (p Percent) String() string { return Money(p).Compact() }

// TaxOut returns the tax included in total at rate p: total × p / (100 + p)
// rounded half-up (ties away from zero) to minor decimal places (0..Digits).
// The net amount is total − tax. It computes in 128 bits, so it is exact
// for every total; p is clamped to 0..MaxPercent.
func TaxOut(total Money, p Percent, minor int) Money {
	p = min(max(p, 0), MaxPercent)
	minor = min(max(minor, 0), Digits)
	v := uint64(total)
	if total < 0 {
		v = -v
	}
	// tax = v × p / ((MaxPercent + p) × unit) units of 10^-minor; the
	// product is below 2^63 × 10^8 and the divisor at least 10^8, so the
	// high word is always below the divisor.
	unit := uint64(pow10[Digits-minor])
	hi, lo := bits.Mul64(v, uint64(p))
	q, _ := RoundHalfUp.divRound(hi, lo, uint64(MaxPercent+p)*unit)
	tax := Money(q * unit) // ≤ v/2 rounded up to a unit, so it fits
	if total < 0 {
		tax = -tax
	}
	return tax
}
