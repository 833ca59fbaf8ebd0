package routing

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// BenchmarkRoute100k measures a routing plan: customer, normalisation,
// ingress route, longest-prefix sell rate over 100k prefixes and the buy
// rate of two provider cards of 100k prefixes each, margin protection
// with the default policy (first block and 60 s), ordered by cost.
func BenchmarkRoute100k(b *testing.B) { benchRoute(b) }

// BenchmarkRoute100kMargin is BenchmarkRoute100k with a minimum margin and
// MaxBreakEven on (break-even durations cached per pair of rows).
func BenchmarkRoute100kMargin(b *testing.B) {
	benchRoute(b, WithMargin(Margin{MinPercent: 10_000_000, MinAmount: 1, MaxBreakEven: 600}))
}

// BenchmarkRoute100kStrategy is BenchmarkRoute100k over a route of each
// strategy, and with pin, block and max_attempts.
func BenchmarkRoute100kStrategy(b *testing.B) {
	two := []store.RouteCarrier{{CarrierID: "k1", Priority: 2, Weight: 70}, {CarrierID: "k2", Priority: 1, Weight: 30}}
	for _, bc := range []struct {
		name  string
		route store.Route
		n     int
	}{
		{"lcr", store.Route{Strategy: "lcr"}, 2},
		{"priority", store.Route{Strategy: "priority", Carriers: two}, 2},
		{"weighted", store.Route{Strategy: "weighted", Carriers: two}, 2},
		{"pin", store.Route{Pin: []string{"k1"}}, 1},
		{"block", store.Route{Block: []string{"k2"}}, 1},
		{"max_attempts", store.Route{Strategy: "weighted", Carriers: two, MaxAttempts: 1}, 1},
	} {
		b.Run(bc.name, func(b *testing.B) { benchRouteOn(b, bc.route, bc.n) })
	}
}

func benchRoute(b *testing.B, opts ...Option) { benchRouteOn(b, store.Route{}, 2, opts...) }

func benchRouteOn(b *testing.B, route store.Route, attempts int, opts ...Option) {
	ctx := context.Background()
	st, err := store.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	put := func(coll, id string, v any) {
		if err := store.PutJSON(ctx, st, coll, id, v); err != nil {
			b.Fatal(err)
		}
	}
	r := rand.New(rand.NewPCG(1, 2))
	prefixes := make([]string, 0, 100000)
	seen := map[string]bool{}
	for len(prefixes) < cap(prefixes) {
		p := fmt.Sprint(1 + r.IntN(9))
		for n := 1 + r.IntN(6); n > 0; n-- {
			p += fmt.Sprint(r.IntN(10))
		}
		if !seen[p] {
			seen[p] = true
			prefixes = append(prefixes, p)
		}
	}
	rows := func(base int) []store.Rate {
		out := make([]store.Rate, len(prefixes))
		for i, p := range prefixes {
			out[i] = store.Rate{Prefix: p, Description: "bench", PerMinute: fmt.Sprintf("0.%04d", base+i%500)}
		}
		return out
	}
	put(store.Customers, "c1", store.Customer{ID: "c1", Name: "C", Currency: "USD", Status: "active"})
	route.ID, route.CustomerID, route.CardID = "r1", "c1", "sell"
	put(store.Routes, "r1", route)
	for i, id := range []string{"k1", "k2"} {
		put(store.Carriers, id, store.Carrier{ID: id, Name: id, Currency: "USD", Status: "active"})
		put(store.Endpoints, id+"e", store.Endpoint{ID: id + "e", CarrierID: id, Host: "192.0.2.1", Port: 5060 + i, Transport: "udp"})
		put(store.RateCards, "buy"+id, store.RateCard{ID: "buy" + id, Kind: "provider", CarrierID: id, Currency: "USD", Precision: 4})
		put(store.Rates, "buy"+id, rows(10+i*100))
	}
	put(store.RateCards, "sell", store.RateCard{ID: "sell", Kind: "customer", ProviderCards: []string{"buyk1", "buyk2"}, Currency: "USD", Precision: 4})
	put(store.Rates, "sell", rows(2000))
	rt := NewRouter(st, opts...)
	if err := rt.Reload(ctx); err != nil {
		b.Fatal(err)
	}
	numbers := make([]string, 1024)
	for i := range numbers {
		n := prefixes[r.IntN(len(prefixes))]
		for len(n) < 11 {
			n += fmt.Sprint(r.IntN(10))
		}
		numbers[i] = n
	}
	at := time.Now()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		p, err := rt.Route(ctx, Call{CustomerID: "c1", Dialled: numbers[i&1023], At: at})
		if err != nil || len(p.Attempts) != attempts {
			b.Fatalf("route %s: %v", numbers[i&1023], err)
		}
		i++
	}
}
