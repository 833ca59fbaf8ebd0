package sip

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
)

// onlyCall returns the one live call f selects.
func onlyCall(t *testing.T, s *Server, f cdr.CallFilter) cdr.ActiveCall {
	t.Helper()
	cs := s.Calls(f)
	if len(cs) != 1 {
		t.Fatalf("Calls(%+v) = %+v, want one call", f, cs)
	}
	return cs[0]
}

// A call is listed in each of its states with its numbers, rates and
// carrier; filters select it; Hangup of the answered call sends a BYE on
// both legs and writes one CDR with the admin as the side that hung up.
func TestCallsAndHangupAnswered(t *testing.T) {
	t.Parallel()
	s, sw, cust, cars, sink := setup(t, 1, WithNode("n1"))
	car := cars[0]
	inv := forwarded(t, sw, cust, car, invite(cust, "lc1", ";branch=z9hG4bKlc1"))
	lc := onlyCall(t, s, cdr.CallFilter{})
	if lc.State != stateTrying || lc.SIPCallID != "lc1" || lc.CustomerID != "c1" || lc.CarrierID != "k0" ||
		lc.Caller != "a" || lc.Callee != "15551234567" || lc.Attempt != 1 || lc.Node != "n1" ||
		lc.SellRate != 1 || lc.BuyRate != 1 || lc.Currency != "USD" || lc.AnswerMs != 0 || lc.Duration != 0 || lc.SetupMs == 0 {
		t.Fatalf("trying call %+v", lc)
	}
	car.send(sw, resp(inv, 180, "Ringing", "ct1", car.addr()))
	if _, ok := cust.next("SIP/2.0 180", 2*time.Second); !ok {
		t.Fatal("no 180 at the customer")
	}
	if lc := onlyCall(t, s, cdr.CallFilter{}); lc.State != stateRinging {
		t.Fatalf("ringing call %+v", lc)
	}
	car.send(sw, resp(inv, 200, "OK", "ct1", car.addr()))
	r200, ok := cust.next("SIP/2.0 200", 2*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	cust.send(sw, inDialog(cust, "ACK", "lc1", "z9hG4bKlc1ack", 1, r200, car.addr()))
	time.Sleep(1100 * time.Millisecond)
	lc = onlyCall(t, s, cdr.CallFilter{})
	if lc.State != stateAnswered || lc.AnswerMs < lc.SetupMs || lc.Duration < 2 {
		t.Fatalf("answered call %+v", lc)
	}

	for _, tt := range []struct {
		name string
		f    cdr.CallFilter
		want int
	}{
		{"customer", cdr.CallFilter{CustomerID: "c1"}, 1},
		{"other customer", cdr.CallFilter{CustomerID: "c2"}, 0},
		{"carrier", cdr.CallFilter{CarrierID: "k0"}, 1},
		{"other carrier", cdr.CallFilter{CarrierID: "k1"}, 0},
		{"id", cdr.CallFilter{CallID: lc.ID}, 1},
		{"id of another customer", cdr.CallFilter{CallID: lc.ID, CustomerID: "c2"}, 0},
		{"unknown id", cdr.CallFilter{CallID: "nope"}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := s.Calls(tt.f); len(got) != tt.want {
				t.Fatalf("Calls(%+v) = %d calls, want %d", tt.f, len(got), tt.want)
			}
		})
	}

	if ok, err := s.Hangup(lc.ID); !ok || err != nil {
		t.Fatalf("Hangup = %v, %v", ok, err)
	}
	byeC, ok := car.next("BYE", 2*time.Second)
	if !ok {
		t.Fatal("the carrier got no BYE")
	}
	byeU, ok := cust.next("BYE", 2*time.Second)
	if !ok {
		t.Fatal("the customer got no BYE")
	}
	car.send(sw, resp(byeC, 200, "OK", "", ""))
	cust.send(sw, resp(byeU, 200, "OK", "", ""))
	if ok, err := s.Hangup(lc.ID); ok || err != nil {
		t.Fatalf("second Hangup = %v, %v; want false", ok, err)
	}
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "admin" || r.Reason != reasonAdminHangup || r.SIPCode != 200 || r.Duration < 2 || r.CarrierID != "k0" {
		t.Fatalf("CDR %+v", r)
	}
	if cs := s.Calls(cdr.CallFilter{}); len(cs) != 0 {
		t.Fatalf("ended call still listed: %+v", cs)
	}
}

// Hangup of a ringing call answers the customer's INVITE 487 and cancels
// the carrier attempt; the CDR is 487 with the admin as the side.
func TestHangupRinging(t *testing.T) {
	t.Parallel()
	s, sw, cust, cars, sink := setup(t, 2)
	car := cars[0]
	inv, _ := reach(t, sw, cust, car, invite(cust, "lc2", ";branch=z9hG4bKlc2"), 180, "Ringing")
	lc := onlyCall(t, s, cdr.CallFilter{})
	if ok, err := s.Hangup(lc.ID); !ok || err != nil {
		t.Fatalf("Hangup = %v, %v", ok, err)
	}
	r487, ok := cust.next("SIP/2.0 487", 2*time.Second)
	if !ok {
		t.Fatal("the customer's INVITE got no 487")
	}
	cancel, ok := car.next("CANCEL", 2*time.Second)
	if !ok {
		t.Fatal("no CANCEL to the carrier")
	}
	car.send(sw, resp(cancel, 200, "OK", "ct1", ""))
	car.send(sw, resp(inv, 487, "Request Terminated", "ct1", ""))
	if _, ok := car.next("ACK", 2*time.Second); !ok {
		t.Fatal("the carrier's 487 was not acknowledged")
	}
	if m, ok := cars[1].next("INVITE", 300*time.Millisecond); ok {
		t.Fatalf("failover after an admin hangup: %s", firstLine(m))
	}
	cust.send(sw, strings.Replace(inDialog(cust, "ACK", "lc2", "z9hG4bKlc2", 1, r487, car.addr()), "sip:k@"+car.addr(), "sip:15551234567@127.0.0.1", 1))
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "admin" || r.SIPCode != 487 || r.Reason != reasonAdminHangup || r.CarrierID != "k0" || r.AnswerMs != 0 {
		t.Fatalf("CDR %+v", r)
	}
}

// gatedRouter routes once the test closes open.
type gatedRouter struct {
	rvRouter
	open chan struct{}
}

func (r gatedRouter) Route(ctx context.Context, c routing.Call) (*routing.Plan, error) {
	<-r.open
	return r.rvRouter.Route(ctx, c)
}

// A call hung up while it is routed gets 487 and goes to no carrier.
func TestHangupRouting(t *testing.T) {
	t.Parallel()
	open := make(chan struct{})
	s, sw, cust, cars, sink := setupRouter(t, func(r rvRouter) Router { return gatedRouter{r, open} }, 1)
	opened := false
	t.Cleanup(func() {
		if !opened {
			close(open) // the call's handler must return for the switch to close
		}
	})
	cust.send(sw, invite(cust, "lc3", ";branch=z9hG4bKlc3"))
	if _, ok := cust.next("SIP/2.0 100", time.Second); !ok {
		t.Fatal("no 100 Trying")
	}
	lc := onlyCall(t, s, cdr.CallFilter{})
	if lc.State != stateRouting || lc.Attempt != 0 || lc.CarrierID != "" || lc.Callee != "15551234567" {
		t.Fatalf("routing call %+v", lc)
	}
	if ok, err := s.Hangup(lc.ID); !ok || err != nil {
		t.Fatalf("Hangup = %v, %v", ok, err)
	}
	close(open)
	opened = true
	r487, ok := cust.next("SIP/2.0 487", 2*time.Second)
	if !ok {
		t.Fatal("no 487")
	}
	if m, ok := cars[0].next("INVITE", 600*time.Millisecond); ok {
		t.Fatalf("a call hung up while routed was sent on: %s", firstLine(m))
	}
	cust.send(sw, strings.Replace(inDialog(cust, "ACK", "lc3", "z9hG4bKlc3", 1, r487, cars[0].addr()), "sip:k@"+cars[0].addr(), "sip:15551234567@127.0.0.1", 1))
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "admin" || r.SIPCode != 487 {
		t.Fatalf("CDR %+v", r)
	}
}

// Hangup racing the customer's BYE ends the call once: one CDR.
func TestHangupRacesBye(t *testing.T) {
	t.Parallel()
	s, sw, cust, cars, sink := setup(t, 1)
	car := cars[0]
	_, r200 := answer(t, sw, cust, car, invite(cust, "lc4", ";branch=z9hG4bKlc4"))
	id := onlyCall(t, s, cdr.CallFilter{}).ID
	var wg sync.WaitGroup
	wg.Go(func() { cust.send(sw, inDialog(cust, "BYE", "lc4", "z9hG4bKbyelc4", 2, r200, car.addr())) })
	wg.Go(func() {
		if _, err := s.Hangup(id); err != nil {
			t.Error(err)
		}
	})
	wg.Wait()
	// Answer whatever BYEs come, on both sides.
	deadline := time.After(time.Second)
	for done := false; !done; {
		select {
		case m := <-car.ch:
			if strings.HasPrefix(m, "BYE") {
				car.send(sw, resp(m, 200, "OK", "", ""))
			}
		case m := <-cust.ch:
			if strings.HasPrefix(m, "BYE") {
				cust.send(sw, resp(m, 200, "OK", "", ""))
			}
		case <-deadline:
			done = true
		}
	}
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "admin" && r.HangupSide != "customer" {
		t.Fatalf("CDR %+v", r)
	}
}

// A closed switch hangs nothing up.
func TestHangupClosed(t *testing.T) {
	t.Parallel()
	s, _, _, _, _ := setup(t, 1)
	s.Close()
	if _, err := s.Hangup("x"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Hangup after Close: %v", err)
	}
}
