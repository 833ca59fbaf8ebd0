package rating

import (
	"math"
	"math/bits"
)

// maxSeconds caps the answered seconds the billing formula considers.
const maxSeconds = 1 << 30

// Charge is the price of one call: the billed seconds, the cost rounded
// per the card, and the trace that reproduces both.
//
// Exact60 records the cost before rounding, in sixtieths of a Money unit
// (connection fee × 60 + billed × rate per minute); Cost is Exact60 / 60
// rounded once to the trace's precision with its rounding method. Exact60
// is -1 if it does not fit an int64.
type Charge struct {
	Billed  int32
	Cost    Money
	Exact60 int64
	Trace   Trace
}

// BilledSeconds applies the billing formula to d answered seconds: a call
// of at most grace seconds is free (0); otherwise the billed time is
// max(d, initial), rounded up to a multiple of increment past the initial
// block. With 30/6: 1–30 s bill 30, 31–36 bill 36, 37 bills 42.
func BilledSeconds(d int, initial, increment, grace int32) int32 {
	if d <= 0 || d <= int(grace) {
		return 0
	}
	if increment <= 0 {
		increment = 1
	}
	initial = max(initial, 0)
	b := int64(min(d, maxSeconds))
	if b <= int64(initial) {
		return initial
	}
	inc := int64(increment)
	b = int64(initial) + (b-int64(initial)+inc-1)/inc*inc
	return int32(min(b, math.MaxInt32))
}

// Charge prices a call of seconds answered seconds on row r of c (r comes
// from c.Lookup). It does not allocate.
func (c *Card) Charge(r *Row, seconds int) Charge {
	return Rerate(c.trace(r), seconds)
}

// Rate looks number up at atUnix and prices a call of seconds answered
// seconds. Errors are those of Lookup.
func (c *Card) Rate(number string, atUnix int64, seconds int) (Charge, error) {
	r, err := c.Lookup(number, atUnix)
	if err != nil {
		return Charge{}, err
	}
	return c.Charge(&r, seconds), nil
}

func (c *Card) trace(r *Row) Trace {
	return Trace{
		Card: c.set.ID, Revision: c.set.Revision, Currency: c.set.Currency,
		Prefix: r.Prefix, Rate: r.PerMinute, Fee: r.ConnectionFee,
		Initial: r.Initial, Increment: r.Increment, Grace: r.Grace,
		Precision: c.set.Precision, Rounding: c.set.Rounding,
	}
}

// Rerate prices a call of seconds answered seconds from a trace alone. For
// a trace taken from a Charge it returns that Charge again.
func Rerate(t Trace, seconds int) Charge {
	ch := Charge{Trace: t}
	ch.Billed = BilledSeconds(seconds, t.Initial, t.Increment, t.Grace)
	if ch.Billed == 0 {
		return ch
	}
	ch.Cost, ch.Exact60 = cost(ch.Billed, t.Rate, t.Fee, t.Precision, t.Rounding)
	return ch
}

// cost computes fee + billed × rate / 60 exactly in 128 bits and rounds it
// once to precision decimals. Negative inputs count as zero; a cost that
// does not fit saturates at the largest Money.
func cost(billed int32, rate, fee Money, precision int, rnd Rounding) (Money, int64) {
	rate, fee = max(rate, 0), max(fee, 0)
	hi, lo := bits.Mul64(uint64(billed), uint64(rate))
	fhi, flo := bits.Mul64(uint64(fee), 60)
	var carry uint64
	lo, carry = bits.Add64(lo, flo, 0)
	hi, _ = bits.Add64(hi, fhi, carry)
	exact := int64(-1)
	if hi == 0 && lo <= math.MaxInt64 {
		exact = int64(lo)
	}
	precision = min(max(precision, 0), Digits)
	unit := uint64(pow10[Digits-precision])
	q, ok := rnd.divRound(hi, lo, 60*unit)
	if !ok || q > math.MaxInt64/unit {
		return math.MaxInt64, exact
	}
	return Money(q * unit), exact
}
