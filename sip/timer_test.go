package sip

import (
	"strings"
	"testing"
	"time"
)

// withHeaders adds header lines (each ending CRLF) to message m before its
// Content-Length.
func withHeaders(m, lines string) string {
	return strings.Replace(m, "Content-Length:", lines+"Content-Length:", 1)
}

// A customer that asks for no session timer gets the switch's: the carrier
// is offered it with the switch as refresher, the customer's 2xx says
// nothing of it, and every half interval the switch refreshes both legs
// (UPDATE to the carrier, which allows it; OPTIONS to the customer, whose
// Allow has no UPDATE). When the carrier stops answering, the call ends with a BYE
// on both legs and a CDR saying why.
func TestSwitchSessionTimer(t *testing.T) {
	t.Parallel()
	s, sw, cust, cars, sink := setup(t, 1, WithSessionTimer(2*time.Second, time.Second))
	car := cars[0]
	in := withHeaders(invite(cust, "st1", ";branch=z9hG4bKst1"), "Allow: INVITE, ACK, BYE, CANCEL, OPTIONS\r\n")
	inv := forwarded(t, sw, cust, car, in)
	if hdr(inv, "Session-Expires") != "Session-Expires: 2;refresher=uac\r\n" || hdr(inv, "Supported") != "Supported: timer\r\n" ||
		hdr(inv, "Min-SE") != "Min-SE: 1\r\n" {
		t.Fatalf("the carrier was not offered the switch's timer:\n%s", inv)
	}
	car.send(sw, withHeaders(resp(inv, 200, "OK", "ct1", car.addr()), "Allow: INVITE, ACK, BYE, UPDATE\r\nSession-Expires: 2;refresher=uac\r\nRequire: timer\r\n"))
	r200, ok := cust.next("SIP/2.0 200", 2*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	if hdr(r200, "Session-Expires") != "" || hdr(r200, "Require") != "" {
		t.Fatalf("the customer, which does not support timers, got the carrier's:\n%s", r200)
	}
	cust.send(sw, inDialog(cust, "ACK", "st1", "z9hG4bKst1ack", 1, r200, car.addr()))
	answered := time.Now()

	for round := range 2 {
		up, ok := car.next("UPDATE", 2*time.Second)
		if !ok {
			t.Fatalf("round %d: no refresh at the carrier", round)
		}
		if hdr(up, "Session-Expires") != "Session-Expires: 2;refresher=uac\r\n" || hdr(up, "Call-ID") != hdr(inv, "Call-ID") {
			t.Fatalf("round %d: refresh to the carrier:\n%s", round, up)
		}
		opt, ok := cust.next("OPTIONS", 2*time.Second)
		if !ok {
			t.Fatalf("round %d: no refresh at the customer", round)
		}
		if hdr(opt, "Call-ID") != "Call-ID: st1\r\n" || !strings.Contains(hdr(opt, "To"), "tag=ft1") {
			t.Fatalf("round %d: refresh to the customer:\n%s", round, opt)
		}
		car.send(sw, resp(up, 200, "OK", "", ""))
		cust.send(sw, resp(opt, 200, "OK", "", ""))
	}
	if d := time.Since(answered); d < 1500*time.Millisecond {
		t.Fatalf("two refreshes within %s of the answer; the interval is 2 s", d)
	}

	// The carrier vanishes: its refresh goes unanswered (Timer F, 64·T1).
	if _, ok := car.next("UPDATE", 2*time.Second); !ok {
		t.Fatal("no third refresh")
	}
	if opt, ok := cust.next("OPTIONS", 2*time.Second); !ok {
		t.Fatal("no third refresh at the customer")
	} else {
		cust.send(sw, resp(opt, 200, "OK", "", ""))
	}
	byeU, ok := cust.next("BYE", 6*time.Second)
	if !ok {
		t.Fatal("the customer got no BYE when the carrier vanished")
	}
	cust.send(sw, resp(byeU, 200, "OK", "", ""))
	if bye, ok := car.next("BYE", 2*time.Second); !ok {
		t.Fatal("the vanished carrier's leg got no BYE")
	} else {
		car.send(sw, resp(bye, 200, "OK", "", "")) // it was back just in time to hear it
	}
	waitEmpty(t, s, 5*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "switch" || r.Reason != "Session Expired" || r.AnswerMs == 0 {
		t.Fatalf("CDR %+v", r)
	}
}

// A customer leg that answers the switch's refresh 481 (it forgot the
// call) ends the call at once.
func TestSwitchSessionTimerCustomerGone(t *testing.T) {
	t.Parallel()
	s, sw, cust, cars, sink := setup(t, 1, WithSessionTimer(2*time.Second, time.Second))
	car := cars[0]
	in := withHeaders(invite(cust, "st2", ";branch=z9hG4bKst2"), "Allow: INVITE, ACK, BYE, UPDATE\r\nSupported: timer\r\n")
	inv := forwarded(t, sw, cust, car, in)
	car.send(sw, resp(inv, 200, "OK", "ct1", car.addr()))
	r200, ok := cust.next("SIP/2.0 200", 2*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	if hdr(r200, "Session-Expires") != "Session-Expires: 2;refresher=uas\r\n" || hdr(r200, "Require") != "Require: timer\r\n" {
		t.Fatalf("a customer that supports timers must learn the switch refreshes:\n%s", r200)
	}
	cust.send(sw, inDialog(cust, "ACK", "st2", "z9hG4bKst2ack", 1, r200, car.addr()))
	up, ok := cust.next("UPDATE", 3*time.Second)
	if !ok {
		t.Fatal("no UPDATE at the customer, which allows it")
	}
	if hdr(up, "Session-Expires") != "Session-Expires: 2;refresher=uac\r\n" {
		t.Fatalf("refresh to the customer (the switch sends it: refresher=uac):\n%s", up)
	}
	if up, ok := car.next("UPDATE", 2*time.Second); !ok {
		t.Fatal("no UPDATE at the carrier, whose 2xx had no Allow (no Allow is no refusal)")
	} else {
		car.send(sw, resp(up, 200, "OK", "", ""))
	}
	cust.send(sw, resp(up, 481, "Call/Transaction Does Not Exist", "", ""))
	if bye, ok := car.next("BYE", 2*time.Second); !ok {
		t.Fatal("the carrier got no BYE when the customer's leg was gone")
	} else {
		car.send(sw, resp(bye, 200, "OK", "", ""))
	}
	if bye, ok := cust.next("BYE", 2*time.Second); ok {
		cust.send(sw, resp(bye, 481, "Call/Transaction Does Not Exist", "", ""))
	}
	waitEmpty(t, s, 5*time.Second)
	if r := onlyCDR(t, sink); r.Reason != "Session Expired" {
		t.Fatalf("CDR %+v", r)
	}
}

// A customer that asks for a timer keeps it end to end: Session-Expires
// crosses both ways, the parties' refreshes cross, and the switch sends
// none of its own. When the refresher stops refreshing, the switch ends the
// call at the interval less a third (RFC 4028 §10), not before.
func TestPartiesSessionTimer(t *testing.T) {
	t.Parallel()
	s, sw, cust, cars, sink := setup(t, 1, WithSessionTimer(30*time.Second, time.Second))
	car := cars[0]
	in := withHeaders(invite(cust, "st3", ";branch=z9hG4bKst3"), "Supported: timer\r\nSession-Expires: 3;refresher=uac\r\n")
	inv := forwarded(t, sw, cust, car, in)
	if hdr(inv, "Session-Expires") != "Session-Expires: 3;refresher=uac\r\n" {
		t.Fatalf("the customer's timer did not cross:\n%s", inv)
	}
	car.send(sw, withHeaders(resp(inv, 200, "OK", "ct1", car.addr()), "Session-Expires: 3;refresher=uac\r\nRequire: timer\r\n"))
	r200, ok := cust.next("SIP/2.0 200", 2*time.Second)
	if !ok || hdr(r200, "Session-Expires") != "Session-Expires: 3;refresher=uac\r\n" {
		t.Fatalf("the carrier's answer to the timer did not cross:\n%s", r200)
	}
	cust.send(sw, inDialog(cust, "ACK", "st3", "z9hG4bKst3ack", 1, r200, car.addr()))

	// The customer refreshes at half the interval, through the switch.
	time.Sleep(1500 * time.Millisecond)
	cust.send(sw, inDialog(cust, "UPDATE", "st3", "z9hG4bKst3up", 2, r200, car.addr()))
	up, ok := car.next("UPDATE", 2*time.Second)
	if !ok {
		t.Fatal("the customer's refresh did not reach the carrier")
	}
	car.send(sw, withHeaders(resp(up, 200, "OK", "", car.addr()), "Session-Expires: 3;refresher=uac\r\n"))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 for the refresh")
	}
	refreshed := time.Now()

	// Then it vanishes: the switch ends the call 2 s (3 − 1) later.
	byeC, ok := car.next("BYE", 4*time.Second)
	if !ok {
		t.Fatal("the carrier got no BYE when the refresher vanished")
	}
	if d := time.Since(refreshed); d < 1800*time.Millisecond {
		t.Fatalf("the call ended %s after a refresh; the session interval is 3 s", d)
	}
	car.send(sw, resp(byeC, 200, "OK", "", ""))
	if bye, ok := cust.next("BYE", 2*time.Second); !ok {
		t.Fatal("the customer got no BYE")
	} else {
		cust.send(sw, resp(bye, 200, "OK", "", ""))
	}
	if m, ok := cust.next("OPTIONS", 100*time.Millisecond); ok {
		t.Fatalf("the switch refreshed a call whose parties keep the timer: %s", firstLine(m))
	}
	waitEmpty(t, s, 5*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "switch" || r.Reason != "Session Expired" {
		t.Fatalf("CDR %+v", r)
	}
}

// A Session-Expires below the switch's Min-SE is answered 422 with it
// (RFC 4028 §8.1) and reaches no carrier; with the switch's own timer off,
// carriers are offered none.
func TestSessionTimerLimits(t *testing.T) {
	t.Parallel()
	_, sw, cust, cars, _ := setup(t, 1)
	cust.send(sw, withHeaders(invite(cust, "st4", ";branch=z9hG4bKst4"), "Session-Expires: 30\r\n"))
	r, ok := cust.next("SIP/2.0 4", 2*time.Second)
	if !ok || firstLine(r) != "SIP/2.0 422 Session Interval Too Small" || hdr(r, "Min-SE") != "Min-SE: 90\r\n" {
		t.Fatalf("got %q:\n%s", firstLine(r), r)
	}
	if m, ok := cars[0].next("INVITE", 200*time.Millisecond); ok {
		t.Fatalf("a refused INVITE reached the carrier: %s", firstLine(m))
	}

	_, sw2, cust2, cars2, _ := setup(t, 1, WithSessionTimer(0, DefaultMinSE))
	inv := forwarded(t, sw2, cust2, cars2[0], invite(cust2, "st5", ";branch=z9hG4bKst5"))
	if hdr(inv, "Session-Expires") != "" || hdr(inv, "Supported") != "" {
		t.Fatalf("a timer was offered with the switch's turned off:\n%s", inv)
	}
}

// A carrier that wants a longer interval than the switch offered answers
// 422 with its Min-SE: the switch asks the same carrier again with it, and
// the customer, which asked for no timer, never sees the 422.
func TestSessionTimerCarrier422(t *testing.T) {
	t.Parallel()
	_, sw, cust, cars, _ := setup(t, 1, WithSessionTimer(2*time.Second, time.Second))
	car := cars[0]
	inv := forwarded(t, sw, cust, car, invite(cust, "st6", ";branch=z9hG4bKst6"))
	car.send(sw, withHeaders(resp(inv, 422, "Session Interval Too Small", "ct1", ""), "Min-SE: 1800\r\n"))
	again, ok := car.next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no second INVITE after the carrier's 422")
	}
	if hdr(again, "Session-Expires") != "Session-Expires: 1800;refresher=uac\r\n" || hdr(again, "Min-SE") != "Min-SE: 1800\r\n" {
		t.Fatalf("second INVITE:\n%s", again)
	}
	car.send(sw, resp(again, 200, "OK", "ct2", car.addr()))
	if r, ok := cust.next("SIP/2.0 ", 2*time.Second); ok && strings.HasPrefix(r, "SIP/2.0 100") {
		r, ok = cust.next("SIP/2.0 ", 2*time.Second)
		if !ok || !strings.HasPrefix(r, "SIP/2.0 200") {
			t.Fatalf("customer got %q, want the 200 of the second INVITE", firstLine(r))
		}
	} else if !ok || !strings.HasPrefix(r, "SIP/2.0 200") {
		t.Fatalf("customer got %q, want the 200 of the second INVITE", firstLine(r))
	}
	// A second 422 is not retried again: it is the carrier's answer.
}

// A customer that supports timers but not UPDATE is promised nothing: the
// switch could only refresh it with OPTIONS, which is no refresh.
func TestSessionTimerCustomerWithoutUpdate(t *testing.T) {
	t.Parallel()
	_, sw, cust, cars, _ := setup(t, 1, WithSessionTimer(2*time.Second, time.Second))
	in := withHeaders(invite(cust, "st7", ";branch=z9hG4bKst7"), "Allow: INVITE, ACK, BYE, CANCEL\r\nSupported: timer\r\n")
	_, r200 := answer(t, sw, cust, cars[0], in)
	if hdr(r200, "Session-Expires") != "" || hdr(r200, "Require") != "" {
		t.Fatalf("the customer was promised refreshes it cannot get:\n%s", r200)
	}
}

// A customer's Session-Expires above the switch's interval is lowered to
// it on the way to the carrier, with the switch's Min-SE; a later refresh
// answered without Session-Expires ends the parties' timer and the switch
// keeps its own (it refreshes).
func TestPartiesSessionTimerCappedAndDropped(t *testing.T) {
	t.Parallel()
	_, sw, cust, cars, _ := setup(t, 1, WithSessionTimer(2*time.Second, time.Second))
	car := cars[0]
	in := withHeaders(invite(cust, "st8", ";branch=z9hG4bKst8"), "Supported: timer\r\nSession-Expires: 3600;refresher=uac\r\n")
	inv := forwarded(t, sw, cust, car, in)
	if hdr(inv, "Session-Expires") != "Session-Expires: 2;refresher=uac\r\n" || hdr(inv, "Min-SE") != "Min-SE: 1\r\n" {
		t.Fatalf("to the carrier:\n%s", inv)
	}
	car.send(sw, withHeaders(resp(inv, 200, "OK", "ct1", car.addr()), "Session-Expires: 2;refresher=uac\r\n"))
	r200, ok := cust.next("SIP/2.0 200", 2*time.Second)
	if !ok {
		t.Fatal("no 200")
	}
	cust.send(sw, inDialog(cust, "ACK", "st8", "z9hG4bKst8ack", 1, r200, car.addr()))
	cust.send(sw, inDialog(cust, "UPDATE", "st8", "z9hG4bKst8up", 2, r200, car.addr()))
	up, ok := car.next("UPDATE", 2*time.Second)
	if !ok {
		t.Fatal("the customer's UPDATE did not cross")
	}
	car.send(sw, resp(up, 200, "OK", "", car.addr())) // no Session-Expires: no more timer
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 for the UPDATE")
	}
	// The switch's own timer (2 s) takes over: its refreshes come in about 1 s.
	if up, ok := car.next("UPDATE", 3*time.Second); !ok {
		t.Fatal("the switch did not take over the timer the parties dropped")
	} else {
		car.send(sw, resp(up, 200, "OK", "", ""))
	}
	if m, ok := car.next("BYE", 500*time.Millisecond); ok {
		t.Fatalf("call ended: %s", firstLine(m))
	}
}
