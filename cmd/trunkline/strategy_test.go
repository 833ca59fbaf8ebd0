package main

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/siptest"
)

// strategySetup is provision's switch (A buys 44 at 0.0050, B at 0.0080,
// the customer buys at 0.0200) with the customer's route for 44 set to
// route (carrier ids "A" and "B" in it replaced by theirs).
func strategySetup(t *testing.T, a, b func(*sip.Request) siptest.Script, route map[string]any) (sw *testSwitch, ca, cb *siptest.Carrier, idA, idB string) {
	t.Helper()
	sw = startSwitch(t)
	ca, cb = siptest.NewCarrier(t, "127.0.0.1", a), siptest.NewCarrier(t, "127.0.0.1", b)
	customer, idA, idB := provision(t, sw, ca, cb)
	ids := map[string]string{"A": idA, "B": idB}
	if cs, ok := route["carriers"].([]map[string]any); ok {
		for _, c := range cs {
			c["carrier_id"] = ids[c["carrier_id"].(string)]
		}
	}
	route["prefix"], route["card_id"] = "44", sellCard(t, sw, customer)
	sw.api.create("/api/v1/customers/"+customer+"/routes", route)
	return sw, ca, cb, idA, idB
}

// sellCard is the card of the customer's catch-all route.
func sellCard(t *testing.T, sw *testSwitch, customer string) string {
	var out struct {
		Routes []struct {
			CardID string `json:"card_id"`
		} `json:"routes"`
	}
	sw.api.do("GET", "/api/v1/customers/"+customer+"/routes", nil, http.StatusOK, &out)
	if len(out.Routes) != 1 {
		t.Fatalf("routes %+v", out.Routes)
	}
	return out.Routes[0].CardID
}

func answer(*sip.Request) siptest.Script { return siptest.Script{} }

// A weighted 70/30 route splits 1,000 calls' first attempts within ±5 %.
func TestWeightedRouteSplitsCalls(t *testing.T) {
	t.Parallel()
	sw, a, b, _, _ := strategySetup(t, answer, answer, map[string]any{"strategy": "weighted",
		"carriers": []map[string]any{{"carrier_id": "A", "weight": 30}, {"carrier_id": "B", "weight": 70}}})
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	const n, workers = 1000, 16
	var next, failed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for next.Add(1) <= n && ctx.Err() == nil {
				call, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
				if err == nil {
					err = call.Hangup(ctx)
				}
				if err != nil {
					failed.Add(1)
					t.Log(err)
				}
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Fatalf("%d of %d calls failed", f, n)
	}
	na, nb := len(a.Invites()), len(b.Invites())
	if na+nb != n {
		t.Fatalf("INVITEs: A %d, B %d; want %d in all (no failover)", na, nb, n)
	}
	if share := float64(nb) / n; share < 0.65 || share > 0.75 {
		t.Errorf("B took %.1f %% of calls, want 70 ± 5 (A %d, B %d)", share*100, na, nb)
	}
}

// A priority route sends to its first carrier although another is cheaper.
func TestPriorityRouteBeatsCost(t *testing.T) {
	t.Parallel()
	sw, a, b, _, _ := strategySetup(t, answer, answer, map[string]any{"strategy": "priority",
		"carriers": []map[string]any{{"carrier_id": "A", "priority": 2}, {"carrier_id": "B", "priority": 1}}})
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 3 {
		call, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
		if err != nil {
			t.Fatal(err)
		}
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if na, nb := len(a.Invites()), len(b.Invites()); na != 0 || nb != 3 {
		t.Errorf("INVITEs: A %d, B %d; want all 3 to B (priority 1, dearer)", na, nb)
	}
}

// A carrier's own failover codes: its 486 moves the call on to B, which
// answers; without them a 486 is the callee's answer (TestEndToEndCalls).
// Its post-dial delay moves on from a carrier that only sends 100 Trying
// well before the switch's ring timeout (10 s).
func TestCarrierFailoverSettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		a        siptest.Script
		settings map[string]any
	}{
		{"failover code", siptest.Script{Ring: true, Code: 486}, map[string]any{"failover_codes": []int{486, 503}}},
		{"pdd", siptest.Script{NoAnswer: true}, map[string]any{"pdd_timeout_ms": 300}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			sw, a, b, idA, _ := strategySetup(t, func(*sip.Request) siptest.Script { return tc.a }, answer, map[string]any{})
			tc.settings["name"], tc.settings["currency"] = "Carrier A", "USD"
			sw.api.do("PUT", "/api/v1/carriers/"+idA, tc.settings, http.StatusOK, nil)
			ua := siptest.NewCustomer(t, "127.0.0.2")
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			start := time.Now()
			call, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
			if err != nil {
				t.Fatalf("dial: %v (status %d)", err, siptest.Status(err))
			}
			took := time.Since(start)
			if err := call.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			if na, nb := len(a.Invites()), len(b.Invites()); na == 0 || nb != 1 {
				t.Errorf("INVITEs: A %d, B %d; want A, then B", na, nb)
			}
			if tc.a.NoAnswer && took > 1500*time.Millisecond {
				t.Errorf("answered after %v, want the carrier's 300 ms PDD, not the switch's timeouts", took)
			}
		})
	}
}

// A PUT of a route takes effect on the next call: pinned to A, a call
// goes to A; pinned to B (the dearer) by a PUT, the next goes to B.
func TestRoutePutMovesCalls(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	a, b := siptest.NewCarrier(t, "127.0.0.1", answer), siptest.NewCarrier(t, "127.0.0.1", answer)
	customer, idA, idB := provision(t, sw, a, b)
	routes := "/api/v1/customers/" + customer + "/routes"
	card := sellCard(t, sw, customer)
	rid := sw.api.create(routes, map[string]any{"prefix": "44", "card_id": card, "pin": []string{idA}})
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(wantA, wantB int) {
		t.Helper()
		call, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
		if err != nil {
			t.Fatalf("dial: %v (status %d)", err, siptest.Status(err))
		}
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if na, nb := len(a.Invites()), len(b.Invites()); na != wantA || nb != wantB {
			t.Fatalf("INVITEs: A %d, B %d; want A %d, B %d", na, nb, wantA, wantB)
		}
	}
	dial(1, 0)
	var rt struct {
		Pin []string `json:"pin"`
	}
	sw.api.do("PUT", routes+"/"+rid, map[string]any{"prefix": "44", "card_id": card, "pin": []string{idB}}, http.StatusOK, &rt)
	if len(rt.Pin) != 1 || rt.Pin[0] != idB {
		t.Fatalf("PUT answered pin %v, want [%s]", rt.Pin, idB)
	}
	dial(1, 1)
}

// A carrier's first reply timeout bounds the wait for any response to
// its INVITE: carrier A (cheapest, first) reads and drops every datagram,
// and with its first_reply_timeout_ms at 500 the call moves on to B well
// before the switch's own invite timeout (8 s). Attempt 1's CDR is A's,
// with no response code.
func TestCarrierFirstReplyTimeout(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t, func(c *Config) { c.SIP.InviteTimeout = 8 * time.Second })
	a := newRawPeer(t, "127.0.0.1", nil) // never answers, not even 100 Trying
	b := siptest.NewCarrier(t, "127.0.0.1", answer)
	_, idA, idB := provision(t, sw, a, b)
	sw.api.do("PUT", "/api/v1/carriers/"+idA, map[string]any{"name": "Carrier A", "currency": "USD", "first_reply_timeout_ms": 500}, http.StatusOK, nil)
	ua := siptest.NewCustomer(t, "127.0.0.2")

	// Answered within 2 s, or the dial fails on its deadline.
	dialCtx, cancelDial := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancelDial()
	call, err := ua.Dial(dialCtx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatalf("dial within 2 s (A's timeout 500 ms, the switch's 8 s): %v (status %d)", err, siptest.Status(err))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if _, ok := a.next("INVITE ", time.Second); !ok {
		t.Error("carrier A got no INVITE")
	}
	if n := len(b.Invites()); n != 1 {
		t.Errorf("carrier B got %d INVITEs, want 1", n)
	}
	rs := sw.api.cdrs(call.CallID, 2)
	if len(rs) != 2 {
		t.Fatalf("want 2 CDRs (A timed out, B answered), got %+v", rs)
	}
	if r := rs[0]; r.Attempt != 1 || r.Final || r.CarrierID != idA || r.SIPCode != 0 || r.Reason != "No Response" || r.HangupSide != "carrier" {
		t.Errorf("attempt 1: carrier %s code %d %q side %q final %v; want A (%s), no response, not final",
			r.CarrierID, r.SIPCode, r.Reason, r.HangupSide, r.Final, idA)
	}
	if r := rs[1]; r.Attempt != 2 || !r.Final || r.CarrierID != idB || r.SIPCode != 200 {
		t.Errorf("attempt 2: carrier %s code %d final %v; want B (%s) answered", r.CarrierID, r.SIPCode, r.Final, idB)
	}
}
