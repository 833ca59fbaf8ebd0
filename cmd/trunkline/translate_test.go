package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
)

// TestNumberTranslation: a customer's inbound rule turns the national
// 02071234567 into 442071234567, which is rated and routed; carrier A's
// tech-prefix rule sends it 1234#442071234567; the CDR keeps the E.164
// number; simulate shows every step.
func TestNumberTranslation(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, carrierAID, carrierBID := provision(t, sw, carrierA, carrierB)
	api := sw.api
	api.do("PUT", "/api/v1/customers/"+customerID, map[string]any{"name": "Acme Telecom", "currency": "USD",
		"inbound_rules": []map[string]any{{"field": "called", "to_e164": "44"}, {"field": "calling", "to_e164": "44"}}}, http.StatusOK, nil)
	api.do("PUT", "/api/v1/carriers/"+carrierAID, map[string]any{"name": "Carrier A", "currency": "USD",
		"outbound_rules": []map[string]any{{"field": "called", "prefix": "1234#"}, {"field": "calling", "prefix": "+"}}}, http.StatusOK, nil)
	// A rule that does not compile is refused.
	api.do("PUT", "/api/v1/carriers/"+carrierBID, map[string]any{"name": "Carrier B", "currency": "USD",
		"outbound_rules": []map[string]any{{"field": "called", "match": "(", "replace": "1"}}}, http.StatusBadRequest, nil)
	api.do("PUT", "/api/v1/carriers/"+carrierBID, map[string]any{"name": "Carrier B", "currency": "USD",
		"outbound_rules": []map[string]any{{"field": "called", "strip": 1, "prefix": "9"}}}, http.StatusBadRequest, nil)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	customer := siptest.NewCustomer(t, "127.0.0.2")
	seen := len(carrierA.Invites())
	call, err := customer.Dial(ctx, sw.SIPAddr.String(), "02071234567")
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	inv := newInvite(t, carrierA, seen)
	id := inv.CallID().Value()
	if err := call.Hangup(ctx); err != nil {
		t.Fatalf("hangup: %v", err)
	}
	// The tech prefix goes as it is, "#" included, as carriers match it.
	if user := inv.Recipient.User; user != "1234#442071234567" {
		t.Errorf("carrier A Request-URI user %q, want 1234#442071234567", user)
	}
	if to := inv.To().Address.User; to != "1234#442071234567" {
		t.Errorf("carrier A To user %q", to)
	}
	rs := api.cdrs(id, 1)
	if len(rs) != 1 {
		t.Fatalf("want 1 CDR, got %+v", rs)
	}
	if r := rs[0]; r.Callee != "442071234567" || r.Prefix != "4420" || r.CarrierID != carrierAID || r.SIPCode != 200 {
		t.Errorf("CDR: callee %q prefix %q carrier %q code %d", r.Callee, r.Prefix, r.CarrierID, r.SIPCode)
	}

	type step struct{ Field, Op, Before, After string }
	var sim struct {
		Number   string `json:"number"`
		Caller   string `json:"caller"`
		Reject   any    `json:"reject"`
		Inbound  []step `json:"inbound_steps"`
		Carriers []struct {
			CarrierID string `json:"carrier_id"`
			Called    string `json:"called"`
			Calling   string `json:"calling"`
			Outbound  []step `json:"outbound_steps"`
		} `json:"carriers"`
	}
	api.do("GET", "/api/v1/simulate?"+url.Values{"customer": {customerID}, "number": {"020 7123 4567"}, "caller": {"02079460000"}}.Encode(), nil, http.StatusOK, &sim)
	if sim.Reject != nil || sim.Number != "442071234567" || sim.Caller != "442079460000" || len(sim.Inbound) != 2 {
		t.Fatalf("simulation: %+v", sim)
	}
	if s := sim.Inbound[0]; s.Field != "called" || s.Op != "to_e164 44" || s.Before != "02071234567" || s.After != "442071234567" {
		t.Errorf("inbound step: %+v", s)
	}
	if len(sim.Carriers) != 2 {
		t.Fatalf("carriers: %+v", sim.Carriers)
	}
	a, b := sim.Carriers[0], sim.Carriers[1]
	if a.CarrierID != carrierAID || a.Called != "1234#442071234567" || a.Calling != "+442079460000" || len(a.Outbound) != 2 {
		t.Errorf("carrier A: %+v", a)
	}
	if b.CarrierID != carrierBID || b.Called != "442071234567" || b.Calling != "442079460000" || len(b.Outbound) != 0 {
		t.Errorf("carrier B: %+v", b)
	}
}
