package routing

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// testStore opens an embedded store with one carrier, two provider cards
// and a customer routed to a customer card derived from both by +10 %.
func testStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ctx := t.Context()
	put := func(coll, id string, v any) {
		t.Helper()
		if err := store.PutJSON(ctx, st, coll, id, v); err != nil {
			t.Fatal(err)
		}
	}
	put(store.Customers, "cu", store.Customer{ID: "cu", Name: "Customer", Currency: "EUR", Status: "active"})
	put(store.Routes, "r1", store.Route{ID: "r1", CustomerID: "cu", CardID: "sell"})
	for _, c := range []string{"ca", "cb"} {
		put(store.Carriers, c, store.Carrier{ID: c, Name: c, Currency: "EUR", Status: "active"})
		put(store.Endpoints, c+"-e", store.Endpoint{ID: c + "-e", CarrierID: c, Host: "192.0.2.1", Port: 5060})
		put(store.RateCards, "buy-"+c, store.RateCard{ID: "buy-" + c, Kind: "provider", CarrierID: c, Currency: "EUR", Precision: 4, Rounding: "half-up", Revision: 1})
	}
	put(store.Rates, "buy-ca", []store.Rate{{Prefix: "44", PerMinute: "0.020000"}, {Prefix: "4420", PerMinute: "0.010000", Initial: 30, Increment: 6}})
	put(store.Rates, "buy-cb", []store.Rate{{Prefix: "44", PerMinute: "0.015000"}, {Prefix: "33", PerMinute: "0.050000", Blocked: true}})
	put(store.RateCards, "sell", store.RateCard{ID: "sell", Kind: "customer", ProviderCards: []string{"buy-ca", "buy-cb"},
		Currency: "EUR", Precision: 4, Rounding: "half-up", Markup: &store.Markup{Kind: "percent", Value: "10.000000"}})
	return st
}

func TestDerivedCard(t *testing.T) {
	st := testStore(t)
	ctx := t.Context()
	tbl, err := Load(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	rate := func(tbl *Table, number string) string {
		t.Helper()
		r, err := tbl.Card("sell").Lookup(number, 0)
		if err != nil {
			return err.Error()
		}
		return r.PerMinute.String()
	}
	// min of the providers, +10 %
	for number, want := range map[string]string{"4412": "0.016500", "44201": "0.011000", "331": "destination blocked"} {
		if got := rate(tbl, number); got != want {
			t.Errorf("sell rate of %s = %s, want %s", number, got, want)
		}
	}

	// Unchanged: the derived card is reused.
	next, err := Load(ctx, st, tbl)
	if err != nil {
		t.Fatal(err)
	}
	if next.Card("sell") != tbl.Card("sell") {
		t.Error("derived card rebuilt although nothing changed")
	}

	// A provider card's new revision rebuilds the derived card.
	if err := store.PutJSON(ctx, st, store.Rates, "buy-cb", []store.Rate{{Prefix: "44", PerMinute: "0.030000"}}); err != nil {
		t.Fatal(err)
	}
	if err := store.PutJSON(ctx, st, store.RateCards, "buy-cb", store.RateCard{ID: "buy-cb", Kind: "provider", CarrierID: "cb", Currency: "EUR", Precision: 4, Revision: 2}); err != nil {
		t.Fatal(err)
	}
	after, err := Load(ctx, st, next)
	if err != nil {
		t.Fatal(err)
	}
	if after.Card("sell") == next.Card("sell") {
		t.Fatal("derived card not rebuilt after its provider card changed")
	}
	if got := rate(after, "4412"); got != "0.022000" {
		t.Errorf("after the change, sell rate of 4412 = %s, want 0.022000", got)
	}
	if got := rate(after, "331"); got != "no rate for number" {
		t.Errorf("after the change, 331 = %s, want no rate", got)
	}
}

func TestSimulate(t *testing.T) {
	st := testStore(t)
	r := NewRouter(st)
	if _, err := r.Simulate(t.Context(), "cu", "4412", time.Unix(0, 0)); err == nil {
		t.Error("Simulate before Reload: no error")
	}
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	sim, err := r.Simulate(t.Context(), "cu", "+44 20 7946 0000", time.Unix(1_700_000_000, 0))
	if err != nil {
		t.Fatal(err)
	}
	if sim.Reject != nil || sim.Number != "442079460000" || sim.Sell == nil || sim.Sell.Prefix != "4420" || sim.Sell.Rate != "0.011000" {
		t.Fatalf("simulation = %+v, sell %+v", sim, sim.Sell)
	}
	if len(sim.Carriers) != 2 || sim.Carriers[0].CarrierID != "ca" || sim.Carriers[0].Buy.Rate != "0.010000" ||
		sim.Carriers[1].CarrierID != "cb" || sim.Carriers[1].Buy.Rate != "0.015000" {
		t.Errorf("carriers = %+v", sim.Carriers)
	}
	// 30/6 on 0.011 sell and 0.010 buy, rounded half-up to 4 places
	want := []SimulatedCost{
		{Seconds: 1, SellBilled: 30, Sell: "0.005500", BuyBilled: 30, Buy: "0.005000", Margin: "0.000500"},
		{Seconds: 30, SellBilled: 30, Sell: "0.005500", BuyBilled: 30, Buy: "0.005000", Margin: "0.000500"},
		{Seconds: 60, SellBilled: 60, Sell: "0.011000", BuyBilled: 60, Buy: "0.010000", Margin: "0.001000"},
		{Seconds: 61, SellBilled: 66, Sell: "0.012100", BuyBilled: 66, Buy: "0.011000", Margin: "0.001100"},
		{Seconds: 300, SellBilled: 300, Sell: "0.055000", BuyBilled: 300, Buy: "0.050000", Margin: "0.005000"},
	}
	if fmt.Sprint(sim.Costs) != fmt.Sprint(want) {
		t.Errorf("costs =\n%+v\nwant\n%+v", sim.Costs, want)
	}
	sim, err = r.Simulate(t.Context(), "cu", "3312", time.Unix(0, 0))
	if err != nil || sim.Reject == nil || sim.Reject.Code != 403 {
		t.Errorf("blocked destination: %+v, %v", sim, err)
	}
	sim, err = r.Simulate(t.Context(), "nobody", "4412", time.Unix(0, 0))
	if err != nil || sim.Reject == nil || sim.Reject.Code != 403 || sim.Reject.Reason != "Unknown Customer" {
		t.Errorf("unknown customer: %+v, %v", sim, err)
	}
}
