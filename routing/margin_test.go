package routing

import (
	"testing"

	"github.com/trunkline/trunkline/rating"
)

// testLeg is a one-row card in currency cur (precision 6, half-up) rating
// prefix 1 at rate per minute with fee, billed initial/increment, grace.
func testLeg(t testing.TB, cur, rate, fee string, initial, increment, grace int32) Leg {
	t.Helper()
	row := rating.Row{Prefix: "1", PerMinute: money(t, rate), Initial: initial, Increment: increment, Grace: grace}
	if fee != "" {
		row.ConnectionFee = money(t, fee)
	}
	card, err := rating.NewCard(rating.Settings{ID: cur + rate, Currency: cur, Precision: 6, Rounding: rating.RoundHalfUp}, []rating.Row{row})
	if err != nil {
		t.Fatal(err)
	}
	r, err := card.Lookup("1", 0)
	if err != nil {
		t.Fatal(err)
	}
	return Leg{Card: card, Row: r}
}

func money(t testing.TB, s string) rating.Money {
	t.Helper()
	m, err := rating.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func percent(t *testing.T, s string) rating.Percent {
	t.Helper()
	p, err := rating.ParsePercent(s)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestMarginCheck(t *testing.T) {
	// The example: sell 0.0120/min billed 1/1, buy 0.0100/min 60/60.
	sell11 := testLeg(t, "USD", "0.0120", "", 1, 1, 0)
	buy60 := testLeg(t, "USD", "0.0100", "", 60, 60, 0)
	sell60 := testLeg(t, "USD", "0.0120", "", 60, 60, 0)
	for _, tc := range []struct {
		name      string
		m         Margin
		sell, buy Leg
		want      string // "" means the carrier may carry the call
	}{
		{"example loses at the first block", Margin{}, sell11, buy60, "loses 0.009800 at 1 s (sell 0.000200, buy 0.010000)"},
		{"example at the expected length only", Margin{IgnoreFirstBlock: true}, sell11, buy60, ""},
		{"example at 30 s expected", Margin{IgnoreFirstBlock: true, ExpectedSeconds: 30}, sell11, buy60, "loses 0.004000 at 30 s (sell 0.006000, buy 0.010000)"},
		{"example at 50 s, its break-even", Margin{IgnoreFirstBlock: true, ExpectedSeconds: 50}, sell11, buy60, ""},
		{"example profitable from 250 s, within 300", Margin{IgnoreFirstBlock: true, MaxBreakEven: 300}, sell11, buy60, ""},
		{"example profitable from 250 s, beyond 200", Margin{IgnoreFirstBlock: true, MaxBreakEven: 200}, sell11, buy60, "profitable only from 250 s (max break-even 200 s)"},
		{"never profitable", Margin{IgnoreFirstBlock: true, ExpectedSeconds: 1, MaxBreakEven: 60},
			testLeg(t, "USD", "0.0060", "", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 10),
			"never profitable within 14400 s (max break-even 60 s)"},
		{"same billing, no minimum", Margin{}, sell60, buy60, ""},
		{"percent met: 0.002 of 0.012 is 16.7 %", Margin{MinPercent: percent(t, "15")}, sell60, buy60, ""},
		{"percent exactly met", Margin{MinPercent: percent(t, "16.666666")}, sell60, buy60, ""},
		{"percent missed", Margin{MinPercent: percent(t, "20")}, sell60, buy60, "margin 0.002000 below 0.002400 at 1 s (sell 0.012000, buy 0.010000)"},
		{"amount exactly met", Margin{MinAmount: money(t, "0.002")}, sell60, buy60, ""},
		{"amount missed", Margin{MinAmount: money(t, "0.0021")}, sell60, buy60, "margin 0.002000 below 0.002100 at 1 s (sell 0.012000, buy 0.010000)"},
		{"larger of amount and percent", Margin{MinAmount: money(t, "0.001"), MinPercent: percent(t, "20")}, sell60, buy60, "margin 0.002000 below 0.002400 at 1 s (sell 0.012000, buy 0.010000)"},
		{"connection fee counts", Margin{}, sell60, testLeg(t, "USD", "0.0100", "0.0030", 60, 60, 0), "loses 0.001000 at 1 s (sell 0.012000, buy 0.013000)"},
		{"first block is past the sell grace", Margin{}, testLeg(t, "USD", "0.0120", "", 1, 1, 5), testLeg(t, "USD", "0.0060", "", 6, 6, 0), ""},
		{"currencies differ: not compared", Margin{MinPercent: percent(t, "50")}, sell11, testLeg(t, "EUR", "9", "", 60, 60, 0), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, ok := tc.m.Check(tc.sell, tc.buy)
			got := ""
			if !ok {
				got = s.String()
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		m    Margin
		sell string
		want string
	}{
		{Margin{}, "1", "0.000000"},
		{Margin{MinPercent: percent(t, "10")}, "0.012", "0.001200"},
		{Margin{MinPercent: percent(t, "33.333333")}, "0.000001", "0.000001"}, // rounded up
		{Margin{MinPercent: percent(t, "12.5"), MinAmount: money(t, "0.01")}, "0.04", "0.010000"},
		{Margin{MinPercent: percent(t, "12.5"), MinAmount: money(t, "0.01")}, "0.1", "0.012500"},
		{Margin{MinPercent: percent(t, "100")}, "900000000000", "900000000000.000000"},
	} {
		if got := tc.m.Required(money(t, tc.sell)).String(); got != tc.want {
			t.Errorf("%+v of %s: got %s, want %s", tc.m, tc.sell, got, tc.want)
		}
	}
}

func TestBreakEven(t *testing.T) {
	for _, tc := range []struct {
		name        string
		sell, buy   Leg
		limit       int
		first, from int
	}{
		// 0.0002 d ≥ 0.01 ⌈d/60⌉: first at 50; 61..99, 121..149, 181..199
		// and 241..249 lose again.
		{"issue example", testLeg(t, "USD", "0.0120", "", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0), BreakEvenLimit, 50, 250},
		{"example within 100 s", testLeg(t, "USD", "0.0120", "", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0), 100, 50, 100},
		{"example within 99 s", testLeg(t, "USD", "0.0120", "", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0), 99, 50, 0},
		// 0.005 + 0.0002 d ≥ 0.01 ⌈d/60⌉: first at 25; 61..74 and
		// 121..124 lose; from 125 on it never does.
		{"sell connection fee", testLeg(t, "USD", "0.0120", "0.005", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0), BreakEvenLimit, 25, 125},
		// The buy side's grace makes 1..10 s free on both sides; then
		// 0.0001 d never reaches 0.01 ⌈d/60⌉.
		{"buy grace", testLeg(t, "USD", "0.0060", "", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 10), BreakEvenLimit, 1, 0},
		// Sell grace 5 s: 1..5 s sell nothing and buy 6 s; from 6 s
		// 0.0002 d ≥ 0.0001 × 6⌈d/6⌉.
		{"sell grace", testLeg(t, "USD", "0.0120", "", 1, 1, 5), testLeg(t, "USD", "0.0060", "", 6, 6, 0), BreakEvenLimit, 6, 6},
		// Sell 0.02 + 0.0001 × billed (30/6) is at most 0.02 + 0.006 k
		// when buy bills k started minutes at 0.03 each: never.
		{"never", testLeg(t, "USD", "0.0060", "0.02", 30, 6, 0), testLeg(t, "USD", "0.0300", "", 60, 60, 0), BreakEvenLimit, 0, 0},
		{"always", testLeg(t, "USD", "0.0120", "", 60, 60, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0), BreakEvenLimit, 1, 1},
		{"limit 0", testLeg(t, "USD", "0.0120", "", 60, 60, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0), 0, 0, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := BreakEven(tc.sell, tc.buy, tc.limit)
			if got.First != tc.first || got.From != tc.from {
				t.Errorf("got %+v, want first %d from %d", got, tc.first, tc.from)
			}
			if got != bruteBreakEven(tc.sell, tc.buy, tc.limit) {
				t.Errorf("differs from a scan of every second: %+v", bruteBreakEven(tc.sell, tc.buy, tc.limit))
			}
		})
	}
}

// bruteBreakEven is BreakEven by pricing every duration.
func bruteBreakEven(sell, buy Leg, limit int) BreakEvenResult {
	var r BreakEvenResult
	for d := 1; d <= limit; d++ {
		if sell.Charge(d).Cost >= buy.Charge(d).Cost {
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

func BenchmarkBreakEven(b *testing.B) {
	t := &testing.T{}
	for _, bc := range []struct {
		name      string
		sell, buy Leg
	}{
		{"1-1_vs_60-60", testLeg(t, "USD", "0.0120", "", 1, 1, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0)},
		{"60-60_vs_60-60", testLeg(t, "USD", "0.0120", "", 60, 60, 0), testLeg(t, "USD", "0.0100", "", 60, 60, 0)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				BreakEven(bc.sell, bc.buy, BreakEvenLimit)
			}
		})
	}
}
