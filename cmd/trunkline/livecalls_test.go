package main

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/sip/siptest"
)

// liveCalls lists the calls in progress as client sees them.
func (a *apiClient) liveCalls(query string) []cdr.ActiveCall {
	a.t.Helper()
	var out struct {
		Calls []cdr.ActiveCall `json:"calls"`
	}
	a.do("GET", "/api/v1/calls"+query, nil, http.StatusOK, &out)
	return out.Calls
}

// waitLiveCall waits up to 5 s for the call whose switch id or customer
// Call-ID is id to be listed in state and returns it.
func (a *apiClient) waitLiveCall(id, state string) cdr.ActiveCall {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		for _, c := range a.liveCalls("") {
			if (c.ID == id || c.SIPCallID == id) && c.State == state {
				return c
			}
		}
		if time.Now().After(deadline) {
			a.t.Fatalf("call %s not listed %s: %+v", id, state, a.liveCalls(""))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// customerToken creates a user of role customer for customerID and
// returns a token of it.
func customerToken(t *testing.T, api *apiClient, customerID string) string {
	t.Helper()
	uid := api.create("/api/v1/users", map[string]any{"username": "portal-" + customerID, "password": "long enough pw",
		"role": "customer", "customer_id": customerID})
	var tok struct {
		Token string `json:"token"`
	}
	api.do("POST", "/api/v1/tokens", map[string]any{"name": "portal", "user_id": uid}, http.StatusCreated, &tok)
	if tok.Token == "" {
		t.Fatal("no token issued")
	}
	return tok.Token
}

// A call answered and held is listed with its numbers, state and rates and
// is hung up through the API: a BYE on both legs, a CDR with the admin as
// the side. A ringing call hung up gets 487 and its carrier a CANCEL. A
// customer token sees only its customer's calls and cannot hang up
// another's.
func TestLiveCallsAPI(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	acme, carrierAID, _ := provision(t, sw, carrierA, carrierB)
	other := anotherCustomer(sw.api, acme, "Other Telecom", "127.0.0.3")
	acmeUA, otherUA := siptest.NewCustomer(t, "127.0.0.2"), siptest.NewCustomer(t, "127.0.0.3")
	portal := &apiClient{t: t, base: sw.api.base, token: customerToken(t, sw.api, acme)}
	target := sw.SIPAddr.String()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// Acme's call, answered and held.
	seen := len(carrierA.Invites())
	held, err := acmeUA.Dial(ctx, target, numAnswer)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	heldID := newInvite(t, carrierA, seen).CallID().Value()
	// The other customer's call, ringing.
	ringErr := make(chan error, 1)
	go func() {
		_, err := otherUA.Dial(ctx, target, numHold)
		ringErr <- err
	}()
	ringing := sw.api.waitLiveCall(waitInvite(t, carrierA, numHold).CallID().Value(), "ringing")
	time.Sleep(1100 * time.Millisecond)

	lc := sw.api.waitLiveCall(held.CallID, "answered")
	money := func(s string) rating.Money { m, _ := rating.ParseMoney(s); return m }
	if lc.ID != heldID || lc.CustomerID != acme || lc.CarrierID != carrierAID || lc.Callee != numAnswer || lc.Caller == "" ||
		lc.Node != "e2e" || lc.Attempt != 1 || lc.AnswerMs < lc.SetupMs || lc.Duration < 1 ||
		lc.SellRate != money("0.015") || lc.BuyRate != money("0.005") || lc.Currency != "USD" {
		t.Fatalf("answered call listed as %+v", lc)
	}
	if ringing.CustomerID != other || ringing.CarrierID != carrierAID || ringing.Callee != numHold || ringing.AnswerMs != 0 || ringing.Duration != 0 {
		t.Fatalf("ringing call listed as %+v", ringing)
	}
	if got := sw.api.liveCalls(""); len(got) != 2 || got[0].ID != ringing.ID {
		t.Fatalf("admin lists %+v, want both calls, newest first", got)
	}
	if got := sw.api.liveCalls("?customer=" + other); len(got) != 1 || got[0].ID != ringing.ID {
		t.Fatalf("?customer=other lists %+v", got)
	}

	// Acme's token sees its call only and cannot touch the other's.
	if got := portal.liveCalls(""); len(got) != 1 || got[0].ID != heldID {
		t.Fatalf("customer token lists %+v, want its own call only", got)
	}
	portal.do("GET", "/api/v1/calls?customer="+other, nil, http.StatusForbidden, nil)
	portal.do("DELETE", "/api/v1/calls/"+ringing.ID, nil, http.StatusNotFound, nil)

	t.Run("answered call hung up", func(t *testing.T) {
		portal.do("DELETE", "/api/v1/calls/"+heldID, nil, http.StatusNoContent, nil)
		if err := held.WaitBye(ctx); err != nil {
			t.Fatalf("customer got no BYE: %v", err)
		}
		if err := carrierA.WaitBye(ctx, heldID); err != nil {
			t.Fatalf("carrier got no BYE: %v", err)
		}
		rs := sw.api.cdrs(heldID, 1)
		if len(rs) != 1 || rs[0].HangupSide != "admin" || rs[0].Reason != "Admin Hangup" || rs[0].SIPCode != 200 ||
			rs[0].Duration < 1 || rs[0].CarrierID != carrierAID || rs[0].SellCost == 0 {
			t.Fatalf("CDRs %+v", rs)
		}
		sw.api.do("DELETE", "/api/v1/calls/"+heldID, nil, http.StatusNotFound, nil)
	})

	t.Run("ringing call hung up", func(t *testing.T) {
		sw.api.do("DELETE", "/api/v1/calls/"+ringing.ID, nil, http.StatusNoContent, nil)
		if code := siptest.Status(<-ringErr); code != 487 {
			t.Fatalf("customer's INVITE answered %d, want 487", code)
		}
		if err := carrierA.WaitCancel(ctx, ringing.ID); err != nil {
			t.Fatalf("carrier got no CANCEL: %v", err)
		}
		rs := sw.api.cdrs(ringing.ID, 1)
		if len(rs) != 1 || rs[0].HangupSide != "admin" || rs[0].SIPCode != 487 || rs[0].AnswerMs != 0 || rs[0].SellCost != 0 {
			t.Fatalf("CDRs %+v", rs)
		}
	})

	if got := sw.api.liveCalls(""); len(got) != 0 {
		t.Fatalf("calls left listed: %+v", got)
	}
}
