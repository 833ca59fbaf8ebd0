package routing

import (
	"sync"

	"github.com/trunkline/trunkline/rating"
)

// BreakEvenResult says from which answered duration a carrier's buy cost is
// covered by the sell price. First is the shortest call with sell(d) ≥
// buy(d); From is the shortest D such that every call of D up to the limit
// has sell(d) ≥ buy(d). Either is 0 when there is none within the limit.
type BreakEvenResult struct {
	First int
	From  int
}

// BreakEven finds the break-even durations of buy against sell for calls
// of 1 to limit answered seconds, comparing costs over billed durations.
// Sell 0.0120/min billed 1/1 against buy 0.0100/min billed 60/60 breaks
// even at 50 s first, and for good from 250 s (at 61 s the buy side bills
// 120 s). Costs only change where one side's billed time does, so it
// visits those durations alone: at most limit steps (both sides 1/1),
// far fewer with coarser increments.
func BreakEven(sell, buy Leg, limit int) BreakEvenResult {
	var r BreakEvenResult
	st, bt := sideOf(sell), sideOf(buy)
	for d := 1; d <= limit; d = min(st.next(d), bt.next(d)) {
		if rating.Rerate(st.t, d).Cost >= rating.Rerate(bt.t, d).Cost {
			if r.First == 0 {
				r.First = d
			}
			if r.From == 0 {
				r.From = d
			}
		} else {
			r.From = 0
		}
	}
	return r
}

type side struct{ t rating.Trace }

func sideOf(l Leg) side { return side{t: l.Charge(0).Trace} }

// next is the first duration after d whose billed time differs from d's.
func (s side) next(d int) int {
	if d <= int(s.t.Grace) {
		return int(s.t.Grace) + 1
	}
	return max(int(rating.BilledSeconds(d, s.t.Initial, s.t.Increment, s.t.Grace))+1, d+1)
}

// breakEvens caches BreakEven at BreakEvenLimit per pair of rows: a
// Table's rows never change, so entries stay right for its lifetime. It
// holds one entry per (sell row, buy row) pair that calls met while
// MaxBreakEven is on, and goes with the Table at the next reload. A nil
// cache computes every time.
type breakEvens struct{ m sync.Map }

// rowPair keys the cache: a row of a card is its prefix and its From.
type rowPair struct {
	sellCard, buyCard     *rating.Card
	sellPrefix, buyPrefix string
	sellFrom, buyFrom     int64
}

func (c *breakEvens) get(sell, buy Leg) BreakEvenResult {
	if c == nil {
		return BreakEven(sell, buy, BreakEvenLimit)
	}
	k := rowPair{sell.Card, buy.Card, sell.Row.Prefix, buy.Row.Prefix, sell.Row.From, buy.Row.From}
	if v, ok := c.m.Load(k); ok {
		return v.(BreakEvenResult)
	}
	r := BreakEven(sell, buy, BreakEvenLimit)
	c.m.Store(k, r)
	return r
}
