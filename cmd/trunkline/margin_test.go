package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/sip/siptest"
)

// Margin protection end to end: the example carrier (0.0100/min
// billed 60/60 against a sale at 0.0120/min billed 1/1) is first in
// per-minute order but loses money on short calls, so the call goes to
// the dearer 1/1 carrier, and the simulation says why.
func TestMarginSkipsUnprofitableCarrier(t *testing.T) {
	sw := startSwitch(t)
	lossy := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	good := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	api := sw.api
	customerID := api.create("/api/v1/customers", map[string]any{"name": "Margin Telecom", "currency": "USD"})
	api.create("/api/v1/customers/"+customerID+"/ips", map[string]any{"cidr": "127.0.0.2"})
	var carriers, cards []string
	for _, c := range []struct {
		name, rate string
		billing    int
		peer       *siptest.Carrier
	}{{"Lossy", "0.0100", 60, lossy}, {"Good", "0.0110", 1, good}} {
		id := api.create("/api/v1/carriers", map[string]any{"name": c.name, "currency": "USD"})
		api.create("/api/v1/carriers/"+id+"/endpoints", map[string]any{"host": c.peer.Host(), "port": c.peer.Port(), "transport": "udp"})
		card := api.create("/api/v1/ratecards", map[string]any{"name": c.name + " buy", "kind": "provider", "carrier_id": id, "currency": "USD", "precision": 6})
		api.do("PUT", "/api/v1/ratecards/"+card+"/rates", []map[string]any{{"prefix": "44", "rate": c.rate,
			"initial_increment": c.billing, "subsequent_increment": c.billing}}, http.StatusOK, nil)
		carriers, cards = append(carriers, id), append(cards, card)
	}
	sell := api.create("/api/v1/ratecards", map[string]any{"name": "sell", "kind": "customer", "provider_cards": cards, "currency": "USD", "precision": 6})
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{{"prefix": "44", "rate": "0.0120",
		"initial_increment": 1, "subsequent_increment": 1}}, http.StatusOK, nil)
	api.create("/api/v1/customers/"+customerID+"/routes", map[string]any{"prefix": "", "card_id": sell})

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	customer := siptest.NewCustomer(t, "127.0.0.2")
	call, err := customer.Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(lossy.Invites()); n != 0 {
		t.Errorf("the unprofitable carrier got %d INVITEs", n)
	}
	id := newInvite(t, good, 0).CallID().Value()
	rs := api.cdrs(id, 1)
	if len(rs) != 1 || rs[0].Attempt != 1 || rs[0].CarrierID != carriers[1] || rs[0].SIPCode != 200 {
		t.Fatalf("CDRs: %+v", rs)
	}
	// 1/1 billing on both sides: 0.0120 and 0.0110 per minute, half-up
	// to the millionth.
	if r := rs[0]; r.SellCost != rating.Money(200*r.Billed) || r.BuyCost != rating.Money((int64(r.Billed)*11000+30)/60) {
		t.Errorf("CDR money: billed %d sell %s buy %s", r.Billed, r.SellCost, r.BuyCost)
	}

	var sim struct {
		Reject   any `json:"reject"`
		Carriers []struct {
			CarrierID      string `json:"carrier_id"`
			Skipped        bool   `json:"skipped"`
			SkipReason     string `json:"skip_reason"`
			BreakEven      *int   `json:"break_even_seconds"`
			ProfitableFrom *int   `json:"profitable_from_seconds"`
			Costs          []struct {
				Seconds int    `json:"seconds"`
				Buy     string `json:"buy"`
				Margin  string `json:"margin"`
			} `json:"costs"`
		} `json:"carriers"`
	}
	api.do("GET", "/api/v1/simulate?"+url.Values{"customer": {customerID}, "number": {numAnswer}}.Encode(), nil, http.StatusOK, &sim)
	if sim.Reject != nil || len(sim.Carriers) != 2 {
		t.Fatalf("simulation: %+v", sim)
	}
	first, skipped := sim.Carriers[0], sim.Carriers[1]
	if first.CarrierID != carriers[1] || first.Skipped || first.BreakEven == nil || *first.BreakEven != 1 {
		t.Errorf("tried carrier: %+v", first)
	}
	if skipped.CarrierID != carriers[0] || !skipped.Skipped || skipped.SkipReason != "loses 0.009800 at 1 s (sell 0.000200, buy 0.010000)" {
		t.Errorf("skipped carrier: %+v", skipped)
	}
	if skipped.BreakEven == nil || *skipped.BreakEven != 50 || skipped.ProfitableFrom == nil || *skipped.ProfitableFrom != 250 {
		t.Errorf("skipped carrier's break-even: %v, profitable from %v", skipped.BreakEven, skipped.ProfitableFrom)
	}
	if len(skipped.Costs) == 0 || skipped.Costs[0].Seconds != 1 || skipped.Costs[0].Margin != "-0.009800" {
		t.Errorf("skipped carrier's costs: %+v", skipped.Costs)
	}
}
