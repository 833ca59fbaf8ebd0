package rating

import (
	"errors"
	"fmt"
	"math/bits"
	"slices"
	"strings"
)

// Markup is how a customer card is priced from provider cards.
//
// Kind "percent" multiplies the rate and the connection fee by 1 + Value/100
// (Value is a percentage in Money units: 10% is ParseMoney("10")); "fixed"
// adds Value to the rate per minute; "sell" sets the rate per minute to
// Value. Results are rounded up to the millionth. Combine says how the rows
// of several provider cards are merged before the markup: "min" (the
// cheapest row, the default), "max" (the dearest) or "avg" (averaged rate
// and fee, rounded up, with the longest increments and shortest grace).
type Markup struct {
	Kind    string
	Value   Money
	Combine string
}

// Validate checks the rule.
func (m Markup) Validate() error {
	switch m.Kind {
	case "percent":
		if m.Value < -100*Scale {
			return fmt.Errorf("%w: percent %v below -100", ErrBadMarkup, m.Value)
		}
	case "fixed":
	case "sell":
		if m.Value < 0 {
			return fmt.Errorf("%w: negative sell price %v", ErrBadMarkup, m.Value)
		}
	default:
		return fmt.Errorf("%w: kind %q (want percent, fixed or sell)", ErrBadMarkup, m.Kind)
	}
	switch m.Combine {
	case "", "min", "max", "avg":
	default:
		return fmt.Errorf("%w: combine %q (want min, max or avg)", ErrBadMarkup, m.Combine)
	}
	return nil
}

// Derive builds a customer card with settings s from provider cards. For
// every prefix of any provider and every span of time over which the
// providers' matching rows stay the same, each provider is looked up as a
// call to that prefix would be (longest prefix in effect), the rows found
// are combined per m.Combine and the markup applied. A prefix that every
// provider refuses and at least one blocks is blocked. Providers must
// share the card's currency (no conversion is done).
func Derive(s Settings, m Markup, providers ...*Card) (*Card, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	if len(providers) == 0 {
		return nil, fmt.Errorf("%w: deriving card %q: no provider card", ErrBadMarkup, s.ID)
	}
	for _, p := range providers {
		if p == nil {
			return nil, fmt.Errorf("%w: deriving card %q: nil provider card", ErrBadMarkup, s.ID)
		}
		if s.Currency != "" && p.set.Currency != "" && p.set.Currency != s.Currency {
			return nil, fmt.Errorf("%w: deriving card %q in %s from card %q in %s", ErrBadMarkup,
				s.ID, s.Currency, p.set.ID, p.set.Currency)
		}
	}
	s = s.withDefaults()
	var out []Row
	var bounds []int64
	found := make([]Row, 0, len(providers))
	for _, p := range unionPrefixes(providers) {
		bounds = bounds[:0]
		bounds = append(bounds, 0)
		for _, c := range providers {
			for l := 1; l <= len(p); l++ {
				first, end := c.chain(p[:l])
				for _, r := range c.rows[first:end] {
					bounds = append(bounds, r.from, r.to)
				}
			}
		}
		slices.Sort(bounds)
		bounds = slices.Compact(bounds)
		start := len(out)
		for _, t := range bounds {
			found = found[:0]
			var blocked *Row
			for _, c := range providers {
				r, err := c.Lookup(p, t)
				switch {
				case err == nil:
					found = append(found, r)
				case errors.Is(err, ErrBlocked) && blocked == nil:
					blocked = &r
				}
			}
			var row Row
			switch {
			case len(found) > 0:
				row = m.apply(combine(m.Combine, found))
			case blocked != nil:
				row = Row{Description: blocked.Description, Blocked: true, Initial: s.Initial, Increment: s.Increment}
			default:
				if n := len(out); n > start && out[n-1].To == 0 {
					out[n-1].To = t
				}
				continue
			}
			row.Prefix, row.From, row.To = p, t, 0
			if n := len(out); n > start && out[n-1].To == 0 {
				prev := &out[n-1]
				if samePrice(prev, &row) && prev.Description == row.Description {
					continue
				}
				prev.To = t
			}
			if row.PerMinute < 0 || row.ConnectionFee < 0 {
				return nil, fmt.Errorf("%w: deriving card %q: prefix %s gets a negative price", ErrBadMarkup, s.ID, p)
			}
			out = append(out, row)
		}
	}
	return NewCard(s, out)
}

// unionPrefixes returns the distinct prefixes of all cards, sorted.
func unionPrefixes(cards []*Card) []string {
	var ps []string
	for _, c := range cards {
		for i := range c.rows {
			if p := c.prefixOf(i); i == 0 || c.prefixOf(i-1) != p {
				ps = append(ps, p)
			}
		}
	}
	if len(cards) > 1 {
		slices.SortFunc(ps, strings.Compare)
		ps = slices.Compact(ps)
	}
	return ps
}

func combine(how string, rows []Row) Row {
	switch how {
	case "max":
		best := rows[0]
		for _, r := range rows[1:] {
			if r.PerMinute > best.PerMinute || r.PerMinute == best.PerMinute && r.ConnectionFee > best.ConnectionFee {
				best = r
			}
		}
		return best
	case "avg":
		out := rows[0]
		var rate, fee Money
		for _, r := range rows {
			rate += r.PerMinute
			fee += r.ConnectionFee
			out.Initial = max(out.Initial, r.Initial)
			out.Increment = max(out.Increment, r.Increment)
			out.Grace = min(out.Grace, r.Grace)
		}
		n := Money(len(rows))
		out.PerMinute = (rate + n - 1) / n
		out.ConnectionFee = (fee + n - 1) / n
		return out
	}
	best := rows[0]
	for _, r := range rows[1:] {
		if r.PerMinute < best.PerMinute || r.PerMinute == best.PerMinute && r.ConnectionFee < best.ConnectionFee {
			best = r
		}
	}
	return best
}

func (m Markup) apply(r Row) Row {
	switch m.Kind {
	case "percent":
		r.PerMinute = percentUp(r.PerMinute, m.Value)
		r.ConnectionFee = percentUp(r.ConnectionFee, m.Value)
	case "fixed":
		r.PerMinute += m.Value
	case "sell":
		r.PerMinute = m.Value
	}
	return r
}

// percentUp returns v × (1 + pct/100) rounded up to the millionth; pct is
// a percentage in Money units.
func percentUp(v, pct Money) Money {
	f := int64(100*Scale) + int64(pct)
	if v <= 0 || f <= 0 {
		return 0
	}
	hi, lo := bits.Mul64(uint64(v), uint64(f))
	q, ok := RoundUp.divRound(hi, lo, 100*Scale)
	if !ok {
		return -1
	}
	return Money(q)
}
