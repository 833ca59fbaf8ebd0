package main

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"
)

// borderSetup is a switch with a recording carrier (and an idle second
// one) and a raw customer socket on 127.0.0.2.
type borderSetup struct {
	sw         *testSwitch
	customerID string
	swAddr     *net.UDPAddr
	carrier    *rawPeer
	customer   *rawPeer
}

func newBorder(t *testing.T, carrier func(p *rawPeer, m string, from *net.UDPAddr)) *borderSetup {
	t.Helper()
	return newBorderWith(t, "", carrier)
}

// newBorderWith is newBorder with extra top-level YAML for the switch.
func newBorderWith(t *testing.T, yaml string, carrier func(p *rawPeer, m string, from *net.UDPAddr)) *borderSetup {
	t.Helper()
	b := &borderSetup{sw: startSwitchWith(t, yaml)}
	b.swAddr = b.sw.SIPAddr.(*net.UDPAddr)
	b.carrier = newRawPeer(t, "127.0.0.1", carrier)
	idle := newRawPeer(t, "127.0.0.1", carrierAnswers(486, false, ""))
	b.customerID, _, _ = provision(t, b.sw, b.carrier, idle)
	// The customer answers the switch's BYEs.
	b.customer = newRawPeer(t, "127.0.0.2", func(p *rawPeer, m string, from *net.UDPAddr) {
		if strings.HasPrefix(m, "BYE ") {
			p.send(from, rawResponse(m, 200, "OK", "", "", ""))
		}
	})
	return b
}

// customerInvite is an INVITE from the raw customer for number, with extra
// header lines.
func (b *borderSetup) customerInvite(callID, branch, number, extra string) string {
	sdp := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	return b.customerInviteSDP(callID, branch, number, extra, sdp)
}

// customerInviteSDP is customerInvite with an SDP body of the test's own.
func (b *borderSetup) customerInviteSDP(callID, branch, number, extra, sdp string) string {
	return "INVITE sip:" + number + "@" + b.swAddr.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + b.customer.addr() + ";branch=" + branch + ";rport\r\n" +
		"From: \"Alice\" <sip:+15550001111@127.0.0.2>;tag=cust-tag-1\r\n" +
		"To: <sip:" + number + "@" + b.swAddr.String() + ">\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:alice@" + b.customer.addr() + ">\r\n" +
		"Max-Forwards: 70\r\n" + extra +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
}

// inDialog is a request from the customer in the dialog its 2xx r200 set
// up, with extra header lines.
func (b *borderSetup) inDialog(method, callID, branch string, cseq int, r200, extra string) string {
	return method + " sip:x@" + b.swAddr.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + b.customer.addr() + ";branch=" + branch + "\r\n" +
		"From: \"Alice\" <sip:+15550001111@127.0.0.2>;tag=cust-tag-1\r\n" + hdrOf(r200, "To") +
		"Call-ID: " + callID + "\r\nCSeq: " + strconv.Itoa(cseq) + " " + method + "\r\nMax-Forwards: 70\r\n" + extra +
		"Content-Length: 0\r\n\r\n"
}

// answered sets up an answered call from the raw customer and returns the
// 200 it got and the INVITE the carrier got.
func (b *borderSetup) answered(t *testing.T, callID, extra string) (r200, inv string) {
	t.Helper()
	return b.answeredBy(t, callID, b.customerInvite(callID, "z9hG4bK"+callID, numAnswer, extra))
}

// answeredBy is answered for an INVITE of the test's own, Call-ID callID.
func (b *borderSetup) answeredBy(t *testing.T, callID, invite string) (r200, inv string) {
	t.Helper()
	b.customer.send(b.swAddr, invite)
	inv, ok := b.carrier.next("INVITE", 3*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	r200, ok = b.customer.next("SIP/2.0 200", 3*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	b.customer.send(b.swAddr, b.inDialog("ACK", callID, "z9hG4bKack"+callID, 1, r200, ""))
	if _, ok := b.carrier.next("ACK", 3*time.Second); !ok {
		t.Fatal("no ACK at the carrier")
	}
	return r200, inv
}

// headersOf returns the header part of a message.
func headersOf(m string) string { h, _, _ := strings.Cut(m, "\r\n\r\n"); return h }

// The carrier never learns the customer and the customer never learns the
// carrier: every message one side gets is well formed and carries nothing
// of the other side's addresses, identifiers, credentials, routing or
// invented headers; a Route the customer puts in its BYE is ignored (the
// carrier gets the BYE, the named host nothing).
func TestBorderHidesEachSide(t *testing.T) {
	const carrierExtra = "Record-Route: <sip:{self};lr>\r\nServer: CarrierSwitch-secret\r\nX-Carrier-Secret: route-77\r\n" +
		"Warning: 399 carrier-secret.example \"internal\"\r\nP-Asserted-Identity: <sip:+442071234567@carrier-secret.example>\r\n" +
		"Supported: timer, 100rel\r\nSession-Expires: 1800;refresher=uac\r\nAllow: INVITE, ACK, BYE, CANCEL\r\n"
	b := newBorder(t, carrierAnswers(200, false, carrierExtra))
	elsewhere := newRawPeer(t, "127.0.0.9", nil)
	const callID = "cust-call-secret@127.0.0.2"
	customerExtra := "Route: <sip:" + b.swAddr.String() + ";lr>\r\n" +
		"Record-Route: <sip:" + b.customer.addr() + ";lr>\r\n" +
		"Proxy-Authorization: Digest username=\"alice-secret\", realm=\"x\", nonce=\"n\", uri=\"sip:x\", response=\"0123456789abcdef0123456789abcdef\"\r\n" +
		"X-Customer-Secret: plan-b\r\nUser-Agent: CustPBX-secret\r\n" +
		"P-Asserted-Identity: <sip:+15550009999@cust-secret.example>\r\n" +
		"Supported: timer, 100rel\r\nSession-Expires: 1800;refresher=uac\r\n"
	r200, inv := b.answered(t, callID, customerExtra)
	time.Sleep(1100 * time.Millisecond)
	b.customer.send(b.swAddr, b.inDialog("BYE", callID, "z9hG4bKbye1", 2, r200,
		"Route: <sip:"+b.swAddr.String()+";lr>, <sip:"+elsewhere.addr()+";lr>\r\n"))
	if _, ok := b.carrier.next("BYE", 3*time.Second); !ok {
		t.Fatal("the carrier got no BYE: the customer's Route steered it")
	}
	if m, ok := elsewhere.next("", 300*time.Millisecond); ok {
		t.Fatalf("the host named in the customer's Route got: %s", m)
	}

	carrierHost := b.carrier.addr()
	carrierPort := ":" + strconv.Itoa(b.carrier.Port())
	carrierCallID := strings.TrimSpace(strings.TrimPrefix(hdrOf(inv, "Call-ID"), "Call-ID:"))
	if carrierCallID == callID || strings.Contains(carrierCallID, "secret") {
		t.Fatalf("the carrier's Call-ID %q is the customer's", carrierCallID)
	}
	for _, m := range b.carrier.all() {
		if err := wellFormed(m); err != nil {
			t.Errorf("the carrier got a malformed message (%v):\n%s", err, m)
		}
		h := headersOf(m)
		for _, leak := range []string{"127.0.0.2", "cust-call-secret", "cust-tag-1", "alice-secret", "Proxy-Authorization",
			"X-Customer-Secret", "plan-b", "CustPBX", "cust-secret.example", "Record-Route:", "100rel", "+15550009999",
			elsewhere.addr(), "Route: <sip:" + b.swAddr.String()} {
			if strings.Contains(h, leak) {
				t.Errorf("the carrier saw %q in:\n%s", leak, h)
			}
		}
	}
	h := headersOf(inv)
	if strings.Contains(h, "Route:") {
		t.Errorf("the carrier's INVITE has a Route:\n%s", h)
	}
	for _, want := range []string{"From: \"Alice\" <sip:+15550001111@", "Session-Expires: 1800;refresher=uac", "Supported: timer\r\n"} {
		if !strings.Contains(h, want) {
			t.Errorf("the carrier's INVITE lacks %q:\n%s", want, h)
		}
	}
	for _, m := range b.customer.all() {
		if err := wellFormed(m); err != nil {
			t.Errorf("the customer got a malformed message (%v):\n%s", err, m)
		}
		h := headersOf(m)
		for _, leak := range []string{carrierHost, carrierPort, carrierCallID, "carrier-tag", "carrier-secret", "CarrierSwitch",
			"X-Carrier-Secret", "route-77", "Warning:", "100rel"} {
			if strings.Contains(h, leak) {
				t.Errorf("the customer saw %q in:\n%s", leak, h)
			}
		}
	}
	// The customer's own proxy comes back in its Record-Route (RFC 3261
	// §12.1.1); the carrier's never does.
	if hdrOf(r200, "Record-Route") != "Record-Route: <sip:"+b.customer.addr()+";lr>\r\n" {
		t.Errorf("the customer's 200 does not repeat its Record-Route:\n%s", r200)
	}
	if !strings.Contains(r200, "Session-Expires: 1800;refresher=uac") || !strings.Contains(r200, "\r\nv=0\r\n") {
		t.Errorf("the customer's 200 lacks what crosses (Session-Expires, SDP):\n%s", r200)
	}
	rs := b.sw.api.cdrs(carrierCallID, 1)
	if len(rs) != 1 || rs[0].HangupSide != "customer" || rs[0].SIPCallID != callID || rs[0].Duration < 1 {
		t.Fatalf("CDRs %+v", rs)
	}
}

// A stranger who knows a live call's Call-ID and tags cannot touch it: its
// BYE, INFO and re-INVITE are refused and reach no one; the customer's own
// requests with a wrong tag or an old CSeq are refused too; the call stays
// up and ends when its customer hangs up.
func TestStrangersCannotTouchACall(t *testing.T) {
	b := newBorder(t, carrierAnswers(200, false, ""))
	stranger := newRawPeer(t, "127.0.0.5", nil)
	const callID = "live-call-1"
	r200, _ := b.answered(t, callID, "")
	tests := []struct {
		name string
		from *rawPeer
		msg  string
		code int
	}{
		{"stranger BYE", stranger, b.inDialog("BYE", callID, "z9hG4bKs1", 5, r200, ""), 403},
		{"stranger INFO", stranger, b.inDialog("INFO", callID, "z9hG4bKs2", 6, r200, ""), 403},
		{"stranger re-INVITE to another number", stranger, strings.Replace(b.inDialog("INVITE", callID, "z9hG4bKs3", 7, r200,
			"Contact: <sip:+19005550100@127.0.0.5>\r\n"), "INVITE sip:x@", "INVITE sip:+19005550100@", 1), 403},
		{"wrong From tag", b.customer, strings.Replace(b.inDialog("BYE", callID, "z9hG4bKs4", 8, r200, ""), "cust-tag-1", "guess", 1), 481},
		{"wrong To tag", b.customer, strings.Replace(b.inDialog("BYE", callID, "z9hG4bKs5", 9, r200, ""), hdrOf(r200, "To"),
			"To: <sip:x@y>;tag=guess\r\n", 1), 481},
		{"old CSeq", b.customer, b.inDialog("INFO", callID, "z9hG4bKs6", 1, r200, ""), 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.from.send(b.swAddr, tt.msg)
			res, ok := tt.from.next("SIP/2.0", 2*time.Second)
			if !ok || !strings.HasPrefix(res, fmt.Sprintf("SIP/2.0 %d", tt.code)) {
				t.Fatalf("answer %q, want %d", firstLine(res), tt.code)
			}
			if m, ok := b.carrier.next("", 300*time.Millisecond); ok {
				t.Fatalf("the carrier got: %s", firstLine(m))
			}
		})
	}
	if n := b.sw.sip.ActiveCalls(); n != 1 {
		t.Fatalf("%d calls up, want the one", n)
	}
	// The customer's other address (an SBC pair that failed over) is the
	// customer: its BYE ends the call.
	b.sw.api.create("/api/v1/customers/"+b.customerID+"/ips", map[string]any{"cidr": "127.0.0.6"})
	standby := newRawPeer(t, "127.0.0.6", nil)
	standby.send(b.swAddr, b.inDialog("BYE", callID, "z9hG4bKbye", 10, r200, ""))
	if res, ok := standby.next("SIP/2.0", 2*time.Second); !ok || !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("the customer's second address got %q", firstLine(res))
	}
	if _, ok := b.carrier.next("BYE", 3*time.Second); !ok {
		t.Fatal("the customer's BYE did not reach the carrier")
	}
}

// The billing clock stops at the first BYE: a carrier that never answers
// the BYE does not stretch the call.
func TestUnansweredByeDoesNotStretchTheCDR(t *testing.T) {
	b := newBorder(t, carrierAnswers(200, true, ""))
	const callID = "bye-lost-1"
	r200, inv := b.answered(t, callID, "")
	time.Sleep(1100 * time.Millisecond)
	byeAt := time.Now()
	b.customer.send(b.swAddr, b.inDialog("BYE", callID, "z9hG4bKbye", 2, r200, ""))
	if res, ok := b.customer.next("SIP/2.0", 2*time.Second); !ok || !strings.HasPrefix(res, "SIP/2.0 200") {
		t.Fatalf("the BYE was answered %q", firstLine(res))
	}
	id := strings.TrimSpace(strings.TrimPrefix(hdrOf(inv, "Call-ID"), "Call-ID:"))
	rs := b.sw.api.cdrs(id, 1)
	if len(rs) != 1 {
		t.Fatalf("CDRs %+v", rs)
	}
	end := time.UnixMilli(rs[0].EndMs)
	if rs[0].Duration != 2 || end.Sub(byeAt) > 300*time.Millisecond || rs[0].HangupSide != "customer" {
		t.Fatalf("CDR ends %s after the BYE, duration %d: %+v", end.Sub(byeAt), rs[0].Duration, rs[0])
	}
	// The switch goes on sending its BYE to the carrier.
	if _, ok := b.carrier.next("BYE", 2*time.Second); !ok {
		t.Fatal("the BYE was not retransmitted to the silent carrier")
	}
}

// Two calls with the same Call-ID (and tags) within one second are two
// calls: each keeps its CDR in the journal and in ClickHouse, under a call
// id of the switch's own.
func TestSameCallIDTwice(t *testing.T) {
	addr, db, conn := testClickHouseDB(t)
	b := newBorderWith(t, clickHouseConfig(addr, db), carrierAnswers(486, false, ""))
	const callID = "reused-call-id"
	for i := range 2 {
		b.customer.send(b.swAddr, b.customerInvite(callID, fmt.Sprintf("z9hG4bKdup%d", i), numAnswer, ""))
		res, ok := b.customer.next("SIP/2.0 486", 2*time.Second)
		if !ok {
			t.Fatalf("call %d got no 486", i+1)
		}
		b.customer.send(b.swAddr, strings.Replace(b.inDialog("ACK", callID, fmt.Sprintf("z9hG4bKdup%d", i), 1, res, ""),
			"sip:x@", "sip:"+numAnswer+"@", 1))
	}
	var ids []string
	for _, m := range b.carrier.all() {
		if strings.HasPrefix(m, "INVITE ") {
			ids = append(ids, strings.TrimSpace(strings.TrimPrefix(hdrOf(m, "Call-ID"), "Call-ID:")))
		}
	}
	if len(ids) != 2 || ids[0] == ids[1] {
		t.Fatalf("carrier legs' Call-IDs %q", ids)
	}
	for _, id := range ids {
		if rs := b.sw.api.cdrs(id, 1); len(rs) != 1 || rs[0].SIPCallID != callID {
			t.Fatalf("journal CDRs of %s: %+v", id, rs)
		}
	}
	q := fmt.Sprintf("SELECT count(), uniqExact(call_id) FROM %s.cdrs FINAL WHERE sip_call_id = '%s'", db, callID)
	waitUntil(t, 10*time.Second, "both CDRs in ClickHouse", func() bool {
		var n, distinct uint64
		if err := conn.QueryRow(t.Context(), q).Scan(&n, &distinct); err != nil {
			t.Logf("ClickHouse: %v", err)
			return false
		}
		return n == 2 && distinct == 2
	})
}

func firstLine(m string) string { l, _, _ := strings.Cut(m, "\r\n"); return l }
