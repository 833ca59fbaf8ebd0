package routing

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/trunkline/trunkline/rating"
)

// DefaultExpectedSeconds is the call length margin protection and LCR
// order assume when the policy names none.
const DefaultExpectedSeconds = 60

// BreakEvenLimit is the longest call, in seconds, break-even durations are
// looked for within (4 h).
const BreakEvenLimit = 4 * 3600

// Margin is the margin protection policy: which carriers may carry a call
// given what the customer pays for it.
//
// At each checked duration d the carrier must leave sell(d) − buy(d) ≥
// required(d) = max(MinAmount, MinPercent × sell(d) / 100), costs taken
// over billed durations as each card bills them (increments, connection
// fee, grace, rounding). The checked durations are the first billed block
// (the shortest call the customer pays for: one second past the sell
// row's grace, which bills each side its initial block) unless
// IgnoreFirstBlock, and ExpectedSeconds. MaxBreakEven, when positive, also
// skips a carrier unless every call from MaxBreakEven seconds on (up to
// BreakEvenLimit) costs no more than it sells for. The zero Margin checks
// both durations with no minimum: a carrier is skipped when it would carry
// a call at a loss.
type Margin struct {
	MinPercent       rating.Percent
	MinAmount        rating.Money
	ExpectedSeconds  int // 0 means DefaultExpectedSeconds
	IgnoreFirstBlock bool
	MaxBreakEven     int // seconds; 0 is off
}

// withDefaults fills the expected call length.
func (m Margin) withDefaults() Margin {
	if m.ExpectedSeconds <= 0 {
		m.ExpectedSeconds = DefaultExpectedSeconds
	}
	return m
}

// Required is the least margin a call that sells for sell must leave:
// max(MinAmount, MinPercent × sell / 100), the percentage rounded up to
// the millionth.
func (m Margin) Required(sell rating.Money) rating.Money {
	return max(m.MinAmount, percentOf(m.MinPercent, sell))
}

// percentOf is ⌈p × v / 100⌉ in exact 128-bit arithmetic; p and v below
// zero count as zero, and a result that does not fit saturates.
func percentOf(p rating.Percent, v rating.Money) rating.Money {
	if p <= 0 || v <= 0 {
		return 0
	}
	const div = 100 * rating.Scale
	hi, lo := bits.Mul64(uint64(p), uint64(v))
	if hi >= div {
		return math.MaxInt64
	}
	q, rem := bits.Div64(hi, lo, div)
	if rem != 0 {
		q++
	}
	if q > math.MaxInt64 {
		return math.MaxInt64
	}
	return rating.Money(q)
}

// FirstBlock is the duration the first-block check prices: one second
// past the sell row's grace.
func FirstBlock(sell Leg) int { return int(max(sell.Row.Grace, 0)) + 1 }

// Skip says why a carrier may not carry a call: at Seconds answered
// seconds it sells for Sell and costs Buy, which leaves less than
// Required. Seconds is 0 when the carrier is skipped for its break-even
// (then ProfitableFrom is that duration, or 0 for never).
type Skip struct {
	Seconds        int
	Sell, Buy      rating.Money
	Required       rating.Money
	ProfitableFrom int
	MaxBreakEven   int
}

// String is the reason, e.g. "loses 0.009800 at 1 s (sell 0.000200, buy
// 0.010000)".
func (s Skip) String() string {
	if s.Seconds == 0 {
		if s.ProfitableFrom == 0 {
			return fmt.Sprintf("never profitable within %d s (max break-even %d s)", BreakEvenLimit, s.MaxBreakEven)
		}
		return fmt.Sprintf("profitable only from %d s (max break-even %d s)", s.ProfitableFrom, s.MaxBreakEven)
	}
	m := s.Sell - s.Buy
	if m < 0 {
		return fmt.Sprintf("loses %s at %d s (sell %s, buy %s)", -m, s.Seconds, s.Sell, s.Buy)
	}
	return fmt.Sprintf("margin %s below %s at %d s (sell %s, buy %s)", m, s.Required, s.Seconds, s.Sell, s.Buy)
}

// SameCurrency reports whether two legs can be compared: their cards have
// the same currency (a card without one matches any).
func SameCurrency(sell, buy Leg) bool {
	a, b := sell.Card.Settings().Currency, buy.Card.Settings().Currency
	return a == "" || b == "" || a == b
}

// Check decides whether buy may carry a call sold by sell. It returns
// ok and the zero Skip when it may, or when the currencies differ (there
// is no exchange rate to compare them by). It does not allocate; with
// MaxBreakEven on it scans durations (see BreakEven), which the Router
// caches per pair of rows.
func (m Margin) Check(sell, buy Leg) (Skip, bool) {
	return m.check(sell, buy, nil)
}

func (m Margin) check(sell, buy Leg, cache *breakEvens) (Skip, bool) {
	m = m.withDefaults()
	return m.decide(sell, buy, pricesOf(sell, m, FirstBlock(sell)), pricesOf(buy, m, FirstBlock(sell)), cache)
}

// prices are one side's costs at the durations a policy checks.
type prices struct {
	first, expected rating.Money
	firstAt         int
}

func pricesOf(l Leg, m Margin, first int) prices {
	return prices{firstAt: first, first: l.Charge(first).Cost, expected: l.Charge(m.ExpectedSeconds).Cost}
}

// decide is check over costs already computed (m has its defaults).
func (m Margin) decide(sell, buy Leg, sp, bp prices, cache *breakEvens) (Skip, bool) {
	if !SameCurrency(sell, buy) {
		return Skip{}, true
	}
	if !m.IgnoreFirstBlock {
		if s, ok := m.checkAt(sp.firstAt, sp.first, bp.first); !ok {
			return s, false
		}
	}
	if s, ok := m.checkAt(m.ExpectedSeconds, sp.expected, bp.expected); !ok {
		return s, false
	}
	if m.MaxBreakEven > 0 {
		if b := cache.get(sell, buy); b.From == 0 || b.From > m.MaxBreakEven {
			return Skip{ProfitableFrom: b.From, MaxBreakEven: m.MaxBreakEven}, false
		}
	}
	return Skip{}, true
}

func (m Margin) checkAt(d int, s, b rating.Money) (Skip, bool) {
	if req := m.Required(s); s-b < req {
		return Skip{Seconds: d, Sell: s, Buy: b, Required: req}, false
	}
	return Skip{}, true
}
