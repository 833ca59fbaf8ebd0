package rating

import (
	"fmt"
	"math/bits"
	"strings"
)

// Rounding is how a cost is brought to a card's precision. It is applied
// once, to the exact cost of a call, never to intermediate values.
type Rounding uint8

// The rounding methods. RoundUp is the zero value: in doubt, a card rounds
// in the seller's favour.
const (
	RoundUp       Rounding = iota // towards +infinity (ceiling)
	RoundDown                     // towards zero (truncation)
	RoundHalfUp                   // to nearest, ties away from zero
	RoundHalfEven                 // to nearest, ties to even (banker's)
)

var roundingNames = [...]string{"up", "down", "half-up", "half-even"}

// ParseRounding reads "up", "down", "half-up" or "half-even" (case and
// '_' versus '-' do not matter).
func ParseRounding(s string) (Rounding, error) {
	t := strings.ReplaceAll(strings.ToLower(strings.TrimSpace(s)), "_", "-")
	for i, n := range roundingNames {
		if t == n {
			return Rounding(i), nil
		}
	}
	return 0, fmt.Errorf("unknown rounding %q (want up, down, half-up or half-even)", s)
}

// String returns the name ParseRounding accepts.
func (r Rounding) String() string {
	if int(r) < len(roundingNames) {
		return roundingNames[r]
	}
	return fmt.Sprintf("rounding(%d)", uint8(r))
}

// Valid reports whether r is one of the four methods.
func (r Rounding) Valid() bool { return int(r) < len(roundingNames) }

// MarshalText encodes r by name.
func (r Rounding) MarshalText() ([]byte, error) { return []byte(r.String()), nil }

// UnmarshalText decodes a name accepted by ParseRounding.
func (r *Rounding) UnmarshalText(b []byte) error {
	v, err := ParseRounding(string(b))
	if err != nil {
		return err
	}
	*r = v
	return nil
}

// divRound divides the 128-bit non-negative value hi:lo by d > 0 and rounds
// the quotient per r. ok is false when the result does not fit an int64.
func (r Rounding) divRound(hi, lo, d uint64) (q uint64, ok bool) {
	if hi >= d {
		return 0, false
	}
	q, rem := bits.Div64(hi, lo, d)
	if rem != 0 {
		switch r {
		case RoundUp:
			q++
		case RoundHalfUp:
			if rem >= d-rem {
				q++
			}
		case RoundHalfEven:
			if rem > d-rem || (rem == d-rem && q&1 == 1) {
				q++
			}
		}
	}
	return q, q <= 1<<63-1
}

// pow10 holds 10^0 .. 10^6.
var pow10 = [...]int64{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000}

// Round brings m to precision decimal places (0..6) using r. A negative
// amount is rounded as its magnitude and negated, so RoundUp moves away
// from zero for both signs.
func (m Money) Round(precision int, r Rounding) Money {
	if precision < 0 {
		precision = 0
	}
	if precision >= Digits {
		return m
	}
	unit := uint64(pow10[Digits-precision])
	neg := m < 0
	v := uint64(m)
	if neg {
		v = uint64(-m)
	}
	q, ok := r.divRound(0, v, unit)
	if !ok || q > uint64(1<<63-1)/unit {
		return m
	}
	out := Money(q * unit)
	if neg {
		out = -out
	}
	return out
}
