package routing

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// marginRouter is a Router over a store with customers "cu" (plain) and
// "cx" (with cx's settings), both routed to a USD sell card with one row
// for prefix 44, and one carrier per buy row, k1, k2, … in card order,
// each with its own provider card. Cards have precision 6.
func marginRouter(t *testing.T, cx store.Customer, sell store.Rate, buys []store.Rate, opts ...Option) *Router {
	t.Helper()
	st, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	put := func(coll, id string, v any) {
		t.Helper()
		if err := store.PutJSON(t.Context(), st, coll, id, v); err != nil {
			t.Fatal(err)
		}
	}
	cx.ID, cx.Name, cx.Currency, cx.Status = "cx", "X", "USD", "active"
	put(store.Customers, "cu", store.Customer{ID: "cu", Name: "U", Currency: "USD", Status: "active"})
	put(store.Customers, "cx", cx)
	var cards []string
	for i, b := range buys {
		id := fmt.Sprintf("k%d", i+1)
		put(store.Carriers, id, store.Carrier{ID: id, Name: id, Currency: "USD", Status: "active"})
		put(store.Endpoints, id+"e", store.Endpoint{ID: id + "e", CarrierID: id, Host: "192.0.2.1", Port: 5060 + i})
		put(store.RateCards, "buy-"+id, store.RateCard{ID: "buy-" + id, Kind: "provider", CarrierID: id, Currency: "USD", Precision: 6})
		b.Prefix = "44"
		put(store.Rates, "buy-"+id, []store.Rate{b})
		cards = append(cards, "buy-"+id)
	}
	put(store.RateCards, "sell", store.RateCard{ID: "sell", Kind: "customer", ProviderCards: cards, Currency: "USD", Precision: 6})
	sell.Prefix = "44"
	put(store.Rates, "sell", []store.Rate{sell})
	for _, c := range []string{"cu", "cx"} {
		put(store.Routes, "r"+c, store.Route{ID: "r" + c, CustomerID: c, CardID: "sell"})
	}
	r := NewRouter(st, opts...)
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

// order lists a plan's attempts and skipped carriers as "k1 k2 | k3".
func order(p *Plan) string {
	var b strings.Builder
	for _, a := range p.Attempts {
		b.WriteString(a.CarrierID + " ")
	}
	b.WriteString("|")
	for _, s := range p.Skipped {
		b.WriteString(" " + s.CarrierID)
	}
	return b.String()
}

func TestRouteMargin(t *testing.T) {
	rate := func(r string, initial, increment int) store.Rate {
		return store.Rate{PerMinute: r, Initial: initial, Increment: increment}
	}
	sell11 := rate("0.0120", 1, 1)
	buy60 := rate("0.0100", 60, 60)
	buy11 := rate("0.0110", 1, 1)
	for _, tc := range []struct {
		name     string
		cx       store.Customer
		sell     store.Rate
		buys     []store.Rate
		opts     []Option
		customer string
		want     string // order(plan), or the refusal
	}{
		{"unprofitable first in per-minute order is skipped", store.Customer{}, sell11, []store.Rate{buy60, buy11}, nil, "cu", "k2 | k1"},
		{"every carrier skipped", store.Customer{}, sell11, []store.Rate{buy60, buy60}, nil, "cu",
			"503 No Profitable Carrier: loses 0.009800 at 1 s (sell 0.000200, buy 0.010000)"},
		{"policy: expected length only", store.Customer{}, sell11, []store.Rate{buy60, buy11}, []Option{WithMargin(Margin{IgnoreFirstBlock: true})}, "cu", "k1 k2 |"},
		// 0.0120 − 0.0110 at 60 s is 8.3 % of the sell cost.
		{"switch minimum percent", store.Customer{}, sell11, []store.Rate{buy60, buy11}, []Option{WithMargin(Margin{MinPercent: 8_000_000})}, "cu", "k2 | k1"},
		{"switch minimum percent too high", store.Customer{}, sell11, []store.Rate{buy11}, []Option{WithMargin(Margin{MinPercent: 9_000_000})}, "cu",
			"503 No Profitable Carrier: margin 0.000017 below 0.000018 at 1 s (sell 0.000200, buy 0.000183)"},
		{"customer percent replaces the switch's", store.Customer{MinMarginPercent: "5"}, sell11, []store.Rate{buy11}, []Option{WithMargin(Margin{MinPercent: 9_000_000})}, "cx", "k1 |"},
		{"customer amount replaces the switch's", store.Customer{MinMargin: "0.001"}, sell11, []store.Rate{buy11}, nil, "cx",
			"503 No Profitable Carrier: margin 0.000017 below 0.001000 at 1 s (sell 0.000200, buy 0.000183)"},
		{"other customers keep the switch's", store.Customer{MinMargin: "0.001"}, sell11, []store.Rate{buy11}, nil, "cu", "k1 |"},
		{"max rate refuses", store.Customer{MaxRate: "0.0119"}, sell11, []store.Rate{buy11}, nil, "cx",
			"403 Rate Above Customer Maximum: rate 0.012000 per minute is above the maximum 0.011900"},
		{"max rate equal passes", store.Customer{MaxRate: "0.012"}, sell11, []store.Rate{buy11}, nil, "cx", "k1 |"},
		{"max call cost refuses the first block", store.Customer{MaxCallCost: "0.0100"}, store.Rate{PerMinute: "0.0120", ConnectionFee: "0.001", Initial: 60, Increment: 60}, []store.Rate{buy11}, nil, "cx",
			"403 Call Cost Above Customer Maximum: the first billed block costs 0.013000, above the maximum 0.010000"},
		{"max call cost above the first block passes", store.Customer{MaxCallCost: "0.0100"}, sell11, []store.Rate{buy11}, nil, "cx", "k1 |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := marginRouter(t, tc.cx, tc.sell, tc.buys, tc.opts...)
			p, err := r.Route(t.Context(), Call{CustomerID: tc.customer, Dialled: "4420", At: time.Unix(0, 0)})
			got := ""
			if err != nil {
				got = err.Error()
				if p != nil {
					t.Error("refused call returned a plan")
				}
			} else {
				got = order(p)
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// LCR compares billed costs: a carrier cheaper per minute but billed
// 60/60 loses to a dearer 1/1 one at a 30 s expected call, not at 60 s.
func TestRouteLCROrder(t *testing.T) {
	sell := store.Rate{PerMinute: "0.0200", Initial: 60, Increment: 60}
	a := store.Rate{PerMinute: "0.0100", Initial: 60, Increment: 60} // 0.0100 at 30 s
	b := store.Rate{PerMinute: "0.0150", Initial: 1, Increment: 1}   // 0.0075 at 30 s
	c := store.Rate{PerMinute: "0.0100", Initial: 1, Increment: 1}   // as a at 60 s, cheaper at 1 s
	for _, tc := range []struct {
		name     string
		expected int
		buys     []store.Rate
		want     string
	}{
		{"30 s expected", 30, []store.Rate{a, b}, "k2 k1 |"},
		{"60 s expected", 60, []store.Rate{a, b}, "k1 k2 |"},
		{"tie at 60 s broken at the first block", 60, []store.Rate{a, c}, "k2 k1 |"},
		{"full ties keep card order", 60, []store.Rate{a, a, a}, "k1 k2 k3 |"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := marginRouter(t, store.Customer{}, sell, tc.buys, WithMargin(Margin{ExpectedSeconds: tc.expected}))
			p, err := r.Route(t.Context(), Call{CustomerID: "cu", Dialled: "4420", At: time.Unix(0, 0)})
			if err != nil {
				t.Fatal(err)
			}
			if got := order(p); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestSimulateMargin(t *testing.T) {
	r := marginRouter(t, store.Customer{}, store.Rate{PerMinute: "0.0120", Initial: 1, Increment: 1},
		[]store.Rate{{PerMinute: "0.0100", Initial: 60, Increment: 60}, {PerMinute: "0.0110", Initial: 1, Increment: 1}})
	sim, err := r.Simulate(t.Context(), "cu", "4420", time.Unix(0, 0))
	if err != nil || sim.Reject != nil || len(sim.Carriers) != 2 {
		t.Fatalf("simulation %+v, %v", sim, err)
	}
	tried, skipped := sim.Carriers[0], sim.Carriers[1]
	if tried.CarrierID != "k2" || tried.Skipped || *tried.BreakEven != 1 || *tried.ProfitableFrom != 1 {
		t.Errorf("tried carrier: %+v", tried)
	}
	if skipped.CarrierID != "k1" || !skipped.Skipped || skipped.SkipReason != "loses 0.009800 at 1 s (sell 0.000200, buy 0.010000)" ||
		*skipped.BreakEven != 50 || *skipped.ProfitableFrom != 250 {
		t.Errorf("skipped carrier: %+v", skipped)
	}
	var secs []int
	for _, c := range skipped.Costs {
		secs = append(secs, c.Seconds)
	}
	if fmt.Sprint(secs) != "[1 30 60 61 300]" {
		t.Errorf("samples %v", secs)
	}
	if c := skipped.Costs[0]; c.Sell != "0.000200" || c.Buy != "0.010000" || c.Margin != "-0.009800" || !c.Checked {
		t.Errorf("skipped carrier at 1 s: %+v", c)
	}
	if m := sim.Margin; m == nil || m.ExpectedSeconds != 60 || *m.FirstBlock != 1 {
		t.Errorf("margin policy: %+v", m)
	}

	// Every carrier skipped: the refusal still shows them.
	r = marginRouter(t, store.Customer{}, store.Rate{PerMinute: "0.0120", Initial: 1, Increment: 1},
		[]store.Rate{{PerMinute: "0.0100", Initial: 60, Increment: 60}}, WithMargin(Margin{ExpectedSeconds: 45}))
	sim, err = r.Simulate(t.Context(), "cu", "4420", time.Unix(0, 0))
	if err != nil || sim.Reject == nil || sim.Reject.Code != 503 || sim.Reject.Reason != "No Profitable Carrier" ||
		len(sim.Carriers) != 1 || !sim.Carriers[0].Skipped {
		t.Fatalf("simulation %+v, %v", sim, err)
	}
	secs = nil
	for _, c := range sim.Costs {
		secs = append(secs, c.Seconds)
	}
	if fmt.Sprint(secs) != "[1 30 45 60 61 300]" {
		t.Errorf("samples with 45 s expected: %v", secs)
	}
}
