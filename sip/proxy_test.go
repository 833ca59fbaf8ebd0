package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"weak"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
)

// Test doubles for the proxy tests: every source is customer c1, every call
// goes to the carriers given, each a raw UDP socket the test drives.
type rvAuth struct{}

func (rvAuth) Lookup(netip.Addr, string) (auth.Identity, error) {
	return auth.Identity{CustomerID: "c1", Method: "ip"}, nil
}

type rvRouter struct{ addrs []string }

func (r rvRouter) Route(_ context.Context, c routing.Call) (*routing.Plan, error) {
	card, err := rating.NewCard(rating.Settings{ID: "x", Currency: "USD", Precision: 4}, []rating.Row{{Prefix: "1", PerMinute: 1}})
	if err != nil {
		panic(err)
	}
	row := card.Rows()[0]
	p := &routing.Plan{Number: c.Dialled, Sell: routing.Leg{Card: card, Row: row}}
	for i, a := range r.addrs {
		p.Attempts = append(p.Attempts, routing.Attempt{CarrierID: fmt.Sprint("k", i), Addr: a, Transport: "udp", Buy: routing.Leg{Card: card, Row: row}})
	}
	return p, nil
}

type rvSink struct {
	mu sync.Mutex
	rs []cdr.Record
}

func (s *rvSink) Write(_ context.Context, r cdr.Record) error {
	s.mu.Lock()
	s.rs = append(s.rs, r)
	s.mu.Unlock()
	return nil
}

type peer struct {
	t  *testing.T
	c  *net.UDPConn
	ch chan string
}

func newPeer(t *testing.T) *peer { return newPeerAt(t, net.IPv4(127, 0, 0, 1)) }

// newPeerAt is newPeer on another loopback address.
func newPeerAt(t *testing.T, ip net.IP) *peer {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: ip})
	if err != nil {
		t.Fatal(err)
	}
	p := &peer{t: t, c: c, ch: make(chan string, 100)}
	go func() {
		b := make([]byte, 65536)
		for {
			n, _, err := c.ReadFromUDP(b)
			if err != nil {
				return
			}
			p.ch <- string(b[:n])
		}
	}()
	t.Cleanup(func() { c.Close() })
	return p
}

func (p *peer) addr() string { return p.c.LocalAddr().String() }

func (p *peer) send(to net.Addr, m string) {
	if _, err := p.c.WriteTo([]byte(m), to); err != nil {
		p.t.Fatal(err)
	}
}

// next returns the next message whose first line starts with prefix, within d.
func (p *peer) next(prefix string, d time.Duration) (string, bool) {
	tm := time.After(d)
	for {
		select {
		case m := <-p.ch:
			if strings.HasPrefix(m, prefix) {
				return m, true
			}
			p.t.Logf("%s skipped: %q", p.addr(), firstLine(m))
		case <-tm:
			return "", false
		}
	}
}

func firstLine(m string) string { l, _, _ := strings.Cut(m, "\r\n"); return l }

var viaRe = regexp.MustCompile(`(?m)^Via: .*\r\n`)

// vias returns every Via line.
func vias(m string) string { return strings.Join(viaRe.FindAllString(m, -1), "") }

func hdr(m, name string) string {
	for _, l := range strings.Split(m, "\r\n") {
		if strings.HasPrefix(strings.ToLower(l), strings.ToLower(name)+":") {
			return l + "\r\n"
		}
	}
	return ""
}

// resp builds a response to req with code, toTag and optional Contact.
func resp(req string, code int, reason, toTag, contact string) string {
	to := strings.TrimSuffix(hdr(req, "To"), "\r\n")
	if toTag != "" && !strings.Contains(to, "tag=") {
		to += ";tag=" + toTag
	}
	s := "SIP/2.0 " + fmt.Sprint(code) + " " + reason + "\r\n" + vias(req) + hdr(req, "From") + to + "\r\n" + hdr(req, "Call-ID") + hdr(req, "CSeq")
	if contact != "" {
		s += "Contact: <sip:k@" + contact + ">\r\n"
	}
	return s + "Content-Length: 0\r\n\r\n"
}

// withTimers shortens T1 (and so Timer B/F/H, 64·T1) and the linger of
// completed transactions, for tests.
func withTimers(t1, linger time.Duration) Option {
	return func(s *Server) { s.t1, s.linger = t1, linger }
}

// setup starts a switch on loopback with a customer peer and ncarriers
// carrier peers it routes to in order.
func setup(t *testing.T, ncarriers int, opts ...Option) (*Server, net.Addr, *peer, []*peer, *rvSink) {
	return setupRouter(t, func(r rvRouter) Router { return r }, ncarriers, opts...)
}

// setupRouter is setup with the router the switch uses made by wrap.
func setupRouter(t *testing.T, wrap func(rvRouter) Router, ncarriers int, opts ...Option) (*Server, net.Addr, *peer, []*peer, *rvSink) {
	cust := newPeer(t)
	var cars []*peer
	var addrs []string
	for range ncarriers {
		p := newPeer(t)
		cars = append(cars, p)
		addrs = append(addrs, p.addr())
	}
	sink := &rvSink{}
	opts = append([]Option{WithTimeouts(time.Second, 2*time.Second), withTimers(50*time.Millisecond, 300*time.Millisecond),
		WithLogger(slog.New(slog.DiscardHandler))}, opts...)
	s, err := New(rvAuth{}, wrap(rvRouter{addrs}), sink, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s, listen(t, s), cust, cars, sink
}

func invite(cust *peer, callID, branchParam string) string {
	return "INVITE sip:15551234567@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + cust.addr() + branchParam + "\r\n" +
		"From: <sip:a@127.0.0.1>;tag=ft1\r\n" +
		"To: <sip:15551234567@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:a@" + cust.addr() + ">\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Length: 0\r\n\r\n"
}

// inDialog is a request from the customer inside the dialog r2xx (a
// response it got) set up.
func inDialog(cust *peer, method, callID, branch string, cseq int, r2xx, carrier string) string {
	return method + " sip:k@" + carrier + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + cust.addr() + ";branch=" + branch + "\r\n" +
		"From: <sip:a@127.0.0.1>;tag=ft1\r\n" + hdr(r2xx, "To") +
		"Call-ID: " + callID + "\r\nCSeq: " + fmt.Sprint(cseq) + " " + method + "\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// waitEmpty waits until no call or transaction is left.
func waitEmpty(t *testing.T, s *Server, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for s.calls.len()+s.servers.len()+s.clients.len() > 0 {
		if time.Now().After(deadline) {
			t.Fatalf("left after %s: calls=%d server transactions=%d client transactions=%d", within, s.calls.len(), s.servers.len(), s.clients.len())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// answer sets up an answered call: the customer's INVITE in reaches the
// carrier, which answers 200 (To tag ct1, its address as Contact). It
// returns the INVITE the carrier got and the 200 the customer got.
func answer(t *testing.T, sw net.Addr, cust, car *peer, in string) (inv, r200 string) {
	t.Helper()
	return reach(t, sw, cust, car, in, 200, "OK")
}

// early sets up an early dialog as answer does, with a 183.
func early(t *testing.T, sw net.Addr, cust, car *peer, in string) (inv, r183 string) {
	t.Helper()
	return reach(t, sw, cust, car, in, 183, "Session Progress")
}

// forwarded sends the customer's INVITE in and returns it as the carrier
// got it.
func forwarded(t *testing.T, sw net.Addr, cust, car *peer, in string) string {
	t.Helper()
	cust.send(sw, in)
	inv, ok := car.next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	return inv
}

// reach sends the customer's INVITE in to the carrier, which answers it
// with code (To tag ct1, its address as Contact); it returns the INVITE the
// carrier got and the response the customer got.
func reach(t *testing.T, sw net.Addr, cust, car *peer, in string, code int, reason string) (inv, r string) {
	t.Helper()
	inv = forwarded(t, sw, cust, car, in)
	car.send(sw, resp(inv, code, reason, "ct1", car.addr()))
	r, ok := cust.next(fmt.Sprintf("SIP/2.0 %d", code), 2*time.Second)
	if !ok {
		t.Fatalf("no %d at the customer", code)
	}
	return inv, r
}

// hangUp sends the customer's BYE (CSeq 2) in the dialog r set up and has
// the carrier answer it 200.
func hangUp(t *testing.T, sw net.Addr, cust, car *peer, callID, r string) {
	t.Helper()
	cust.send(sw, inDialog(cust, "BYE", callID, "z9hG4bKbye"+callID, 2, r, car.addr()))
	bye, ok := car.next("BYE", 2*time.Second)
	if !ok {
		t.Fatal("no BYE at the carrier")
	}
	car.send(sw, resp(bye, 200, "OK", "", ""))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 for the BYE")
	}
}

// byCallID returns the live call whose customer leg has Call-ID id.
func byCallID(s *Server, id string) *call {
	var found *call
	s.calls.each(func(c *call) {
		if c.a.callID == id {
			found = c
		}
	})
	return found
}

// onlyCDR returns the one CDR the sink holds.
func onlyCDR(t *testing.T, sink *rvSink) cdr.Record {
	t.Helper()
	sink.mu.Lock()
	defer sink.mu.Unlock()
	if len(sink.rs) != 1 {
		t.Fatalf("%d CDRs, want 1: %+v", len(sink.rs), sink.rs)
	}
	return sink.rs[0]
}

// A BYE in an early dialog ends the call: the carrier attempt is cancelled,
// the INVITE answered 487, and a late 503 from the carrier does not start a
// failover for a call that has ended.
func TestEarlyByeCancelsAttempt(t *testing.T) {
	s, sw, cust, cars, sink := setup(t, 2)
	inv, r183 := early(t, sw, cust, cars[0], invite(cust, "eb1", ";branch=z9hG4bKc1"))
	cust.send(sw, inDialog(cust, "BYE", "eb1", "z9hG4bKbyeeb1", 2, r183, cars[0].addr()))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 for the BYE")
	}
	r487, ok := cust.next("SIP/2.0 487", 2*time.Second)
	if !ok {
		t.Fatal("the INVITE got no 487")
	}
	cancel, ok := cars[0].next("CANCEL", 2*time.Second)
	if !ok {
		t.Fatal("no CANCEL to the carrier")
	}
	cars[0].send(sw, resp(cancel, 200, "OK", "ct1", ""))
	cars[0].send(sw, resp(inv, 503, "Service Unavailable", "ct1", ""))
	if _, ok := cars[0].next("ACK", 2*time.Second); !ok {
		t.Fatal("the carrier's 503 was not acknowledged")
	}
	if m, ok := cars[1].next("INVITE", 500*time.Millisecond); ok {
		t.Fatalf("failover after the call ended: %s", firstLine(m))
	}
	cust.send(sw, strings.Replace(strings.Replace(inDialog(cust, "ACK", "eb1", "z9hG4bKc1", 1, r487, cars[0].addr()),
		"sip:k@"+cars[0].addr(), "sip:15551234567@127.0.0.1", 1), "From:", "From:", 1))
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); !r.Final || r.HangupSide != "customer" {
		t.Fatalf("CDR %+v", r)
	}
}

// An RFC 2543 customer's ACK for the 2xx has the INVITE's transaction key;
// it must still reach the carrier.
func TestRFC2543AckReachesCarrier(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	_, r200 := answer(t, sw, cust, cars[0], invite(cust, "rfc2543", ""))
	ack := strings.Replace(inDialog(cust, "ACK", "rfc2543", "x", 1, r200, cars[0].addr()), ";branch=x", "", 1)
	cust.send(sw, ack)
	if _, ok := cars[0].next("ACK", 1500*time.Millisecond); !ok {
		t.Fatal("the ACK of the 2xx never reached the carrier")
	}
}

// A re-INVITE is answered 100 at once, a non-2xx answer to it is
// acknowledged hop by hop, and one nobody answers gets 408 after Timer B.
func TestReinvite(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 1)
	_, r200 := answer(t, sw, cust, cars[0], invite(cust, "ri1", ";branch=z9hG4bKc3"))
	cust.send(sw, inDialog(cust, "INVITE", "ri1", "z9hG4bKre1", 2, r200, cars[0].addr()))
	if _, ok := cust.next("SIP/2.0 100", 2*time.Second); !ok {
		t.Fatal("no 100 Trying for the re-INVITE")
	}
	ri, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("re-INVITE not forwarded")
	}
	cars[0].send(sw, resp(ri, 488, "Not Acceptable Here", "", ""))
	if _, ok := cust.next("SIP/2.0 488", 2*time.Second); !ok {
		t.Fatal("no 488 relayed")
	}
	if _, ok := cars[0].next("ACK", 2*time.Second); !ok {
		t.Fatal("no ACK to the carrier for the 488")
	}
	cust.send(sw, inDialog(cust, "INVITE", "ri1", "z9hG4bKre2", 3, r200, cars[0].addr()))
	if _, ok := cust.next("SIP/2.0 408", 64*s.t1+2*time.Second); !ok {
		t.Fatalf("an unanswered re-INVITE got no 408; client transactions=%d", s.clients.len())
	}
}

// A 2xx from a carrier attempt the switch gave up on is acknowledged and
// hung up once however often it is retransmitted, never relayed to the
// customer; the attempt got no CANCEL, as it never responded (RFC 3261 §9.1).
func TestAbandonedAnswerHungUpOnce(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 2)
	cust.send(sw, invite(cust, "hl1", ";branch=z9hG4bKc4"))
	inv, _ := cars[0].next("INVITE", 2*time.Second)
	if _, ok := cars[1].next("INVITE", 3*time.Second); !ok {
		t.Fatal("no failover after the invite timeout")
	}
	ok200 := resp(inv, 200, "OK", "ct1", cars[0].addr())
	for range 3 {
		cars[0].send(sw, ok200)
		time.Sleep(50 * time.Millisecond)
	}
	byes, acks := map[string]bool{}, 0
	tm := time.After(time.Second)
loop:
	for {
		select {
		case m := <-cars[0].ch:
			switch {
			case strings.HasPrefix(m, "BYE"):
				byes[hdr(m, "Via")] = true
				cars[0].send(sw, resp(m, 200, "OK", "", ""))
			case strings.HasPrefix(m, "ACK"):
				acks++
			case strings.HasPrefix(m, "CANCEL"):
				t.Error("CANCEL sent to a carrier that never responded")
			}
		case <-tm:
			break loop
		}
	}
	if len(byes) != 1 || acks != 3 {
		t.Fatalf("%d BYE transactions and %d ACKs for a 2xx received 3 times", len(byes), acks)
	}
	if m, ok := cust.next("SIP/2.0 200", 300*time.Millisecond); ok {
		t.Fatalf("the abandoned carrier's 2xx reached the customer: %s", firstLine(m))
	}
	time.Sleep(2 * s.linger)
	cars[0].send(sw, ok200) // after its transaction is gone: dropped
	if m, ok := cust.next("SIP/2.0 200", 500*time.Millisecond); ok {
		t.Fatalf("a stray 2xx was relayed: %s", firstLine(m))
	}
	_ = s
}

// An INVITE retransmitted after its transaction lingered out is dropped
// without leaving a transaction behind.
func TestLateInviteRetransmission(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 1)
	in := invite(cust, "lr1", ";branch=z9hG4bKc5")
	answer(t, sw, cust, cars[0], in)
	time.Sleep(3 * s.linger)
	before := s.servers.len()
	cust.send(sw, in)
	time.Sleep(3 * s.linger)
	if s.servers.len() > before || s.calls.len() != 1 {
		t.Fatalf("server transactions %d → %d, calls %d", before, s.servers.len(), s.calls.len())
	}
	if m, ok := cars[0].next("INVITE", 100*time.Millisecond); ok {
		t.Fatalf("the retransmission was routed: %s", firstLine(m))
	}
}

// An answered call that reaches the maximum duration is ended by the
// switch: BYE to both sides within their dialog (tags swapped, next CSeq of
// each side), then a CDR with the switch as the side that hung up.
func TestMaxCallDuration(t *testing.T) {
	s, sw, cust, cars, sink := setup(t, 1, WithMaxCallDuration(700*time.Millisecond))
	inv, r200 := answer(t, sw, cust, cars[0], invite(cust, "md1", ";branch=z9hG4bKmd"))
	cust.send(sw, inDialog(cust, "ACK", "md1", "z9hG4bKmdack", 1, r200, cars[0].addr()))
	if _, ok := cars[0].next("ACK", 2*time.Second); !ok {
		t.Fatal("no ACK at the carrier")
	}
	cust.send(sw, inDialog(cust, "INFO", "md1", "z9hG4bKmdinfo", 5, r200, cars[0].addr()))
	info, ok := cars[0].next("INFO", 2*time.Second)
	if !ok {
		t.Fatal("no INFO at the carrier")
	}
	cars[0].send(sw, resp(info, 200, "OK", "", ""))

	byeC, ok := cars[0].next("BYE", 3*time.Second)
	if !ok {
		t.Fatal("the carrier got no BYE at the maximum duration")
	}
	if hdr(byeC, "From") != hdr(inv, "From") || !strings.Contains(hdr(byeC, "To"), "tag=ct1") || hdr(byeC, "Call-ID") != hdr(inv, "Call-ID") ||
		hdr(byeC, "CSeq") != "CSeq: 3 BYE\r\n" || !strings.HasPrefix(byeC, "BYE sip:k@"+cars[0].addr()) {
		t.Fatalf("BYE to the carrier:\n%s", byeC)
	}
	byeU, ok := cust.next("BYE", 2*time.Second)
	if !ok {
		t.Fatal("the customer got no BYE at the maximum duration")
	}
	if hdr(byeU, "From") != "From: "+strings.TrimPrefix(hdr(r200, "To"), "To: ") || !strings.Contains(hdr(byeU, "To"), "tag=ft1") ||
		hdr(byeU, "Call-ID") != "Call-ID: md1\r\n" || hdr(byeU, "CSeq") != "CSeq: 1 BYE\r\n" || !strings.HasPrefix(byeU, "BYE sip:a@"+cust.addr()) {
		t.Fatalf("BYE to the customer:\n%s", byeU)
	}
	cars[0].send(sw, resp(byeC, 200, "OK", "", ""))
	cust.send(sw, resp(byeU, 200, "OK", "", ""))
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); r.HangupSide != "switch" || r.Reason != "Max Duration" || r.Duration != 1 {
		t.Fatalf("CDR %+v", r)
	}
}

// A 503 from the last carrier reaches the customer as 500 (RFC 3261 §16.7
// step 6: a 503 would say the switch itself is unavailable); the CDR keeps
// the carrier's 503.
func TestLast503Becomes500(t *testing.T) {
	s, sw, cust, cars, sink := setup(t, 1)
	inv := forwarded(t, sw, cust, cars[0], invite(cust, "u1", ";branch=z9hG4bKu1"))
	cars[0].send(sw, resp(inv, 503, "Service Unavailable", "ct1", ""))
	if _, ok := cars[0].next("ACK", 2*time.Second); !ok {
		t.Fatal("the 503 was not acknowledged")
	}
	r, ok := cust.next("SIP/2.0 5", 2*time.Second)
	if !ok || !strings.HasPrefix(r, "SIP/2.0 500 ") {
		t.Fatalf("customer got %q", firstLine(r))
	}
	cust.send(sw, strings.Replace(inDialog(cust, "ACK", "u1", "z9hG4bKu1", 1, r, cars[0].addr()), "sip:k@"+cars[0].addr(), "sip:15551234567@127.0.0.1", 1))
	waitEmpty(t, s, 3*time.Second)
	if r := onlyCDR(t, sink); r.SIPCode != 503 || r.HangupSide != "carrier" {
		t.Fatalf("CDR %+v", r)
	}
}

// The max-duration BYE to the carrier takes the CSeq after every request
// the customer sent, early-dialog ones included.
func TestMaxDurationByeAfterEarlyUpdate(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1, WithMaxCallDuration(500*time.Millisecond))
	inv, r183 := early(t, sw, cust, cars[0], invite(cust, "u1", ";branch=z9hG4bKu1"))
	cust.send(sw, inDialog(cust, "UPDATE", "u1", "z9hG4bKupd", 2, r183, cars[0].addr()))
	up, ok := cars[0].next("UPDATE", 2*time.Second)
	if !ok {
		t.Fatal("no UPDATE at the carrier")
	}
	cars[0].send(sw, resp(up, 200, "OK", "", ""))
	cars[0].send(sw, resp(inv, 200, "OK", "ct1", cars[0].addr()))
	bye, ok := cars[0].next("BYE", 3*time.Second)
	if !ok {
		t.Fatal("no BYE at the maximum duration")
	}
	if got := hdr(bye, "CSeq"); got != "CSeq: 3 BYE\r\n" {
		t.Fatalf("BYE %q, want CSeq 3 (the UPDATE used 2)", got)
	}
}

// slowRouter takes its time, so that a call can end while it is routed.
type slowRouter struct{ rvRouter }

func (r slowRouter) Route(ctx context.Context, c routing.Call) (*routing.Plan, error) {
	time.Sleep(400 * time.Millisecond)
	return r.rvRouter.Route(ctx, c)
}

// An INVITE whose call ends while it is routed gets its final answer (487)
// and goes to no carrier; nothing is left behind.
func TestEndedWhileRouted(t *testing.T) {
	s, sw, cust, cars, _ := setupRouter(t, func(r rvRouter) Router { return slowRouter{r} }, 1)
	car := cars[0]
	cust.send(sw, invite(cust, "r1", ";branch=z9hG4bKr1"))
	trying, ok := cust.next("SIP/2.0 100", time.Second)
	if !ok {
		t.Fatal("no 100 Trying")
	}
	cust.send(sw, inDialog(cust, "BYE", "r1", "z9hG4bKrb", 2, trying, car.addr()))
	r487, ok := cust.next("SIP/2.0 487", 2*time.Second)
	if !ok {
		t.Fatal("the INVITE got no final answer")
	}
	if m, ok := car.next("INVITE", 600*time.Millisecond); ok {
		t.Fatalf("an ended call was sent on: %s", firstLine(m))
	}
	cust.send(sw, strings.Replace(inDialog(cust, "ACK", "r1", "z9hG4bKr1", 1, r487, car.addr()), "sip:k@"+car.addr(), "sip:15551234567@127.0.0.1", 1))
	waitEmpty(t, s, 3*time.Second)
}

// An ended call is not kept alive by its transactions while they linger to
// absorb retransmissions: they keep the bytes they may resend, not the call
// with its parsed INVITE and plan. Both a call the carrier refused and one
// answered and ended by BYE are checked.
func TestEndedCallReleased(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 1, withTimers(50*time.Millisecond, 10*time.Second))
	released := func(id string, end func()) {
		t.Helper()
		c := byCallID(s, id)
		if c == nil {
			t.Fatalf("call %s is not in the table", id)
		}
		w := weak.Make(c)
		c = nil
		end()
		if n, m := s.servers.len(), s.clients.len(); n == 0 || m == 0 {
			t.Fatalf("transactions gone already (server %d, client %d): nothing to check", n, m)
		}
		deadline := time.Now().Add(2 * time.Second)
		for w.Value() != nil {
			if time.Now().After(deadline) {
				t.Fatalf("call %s is still reachable while its transactions linger", id)
			}
			runtime.GC()
			time.Sleep(10 * time.Millisecond)
		}
	}

	inv := forwarded(t, sw, cust, cars[0], invite(cust, "rel1", ";branch=z9hG4bKrel1"))
	released("rel1", func() {
		cars[0].send(sw, resp(inv, 486, "Busy Here", "ct1", ""))
		if _, ok := cust.next("SIP/2.0 486", 2*time.Second); !ok {
			t.Fatal("no 486 at the customer")
		}
	})

	_, r200 := answer(t, sw, cust, cars[0], invite(cust, "rel2", ";branch=z9hG4bKrel2"))
	released("rel2", func() {
		hangUp(t, sw, cust, cars[0], "rel2", r200)
	})
}

// A carrier's retransmitted 2xx, to the INVITE or to a re-INVITE, goes on to
// the customer, whose ACK may have been lost (RFC 3261 §16.7).
func TestRetransmitted2xxRelayed(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	inv, r200 := answer(t, sw, cust, cars[0], invite(cust, "rx1", ";branch=z9hG4bKrx1"))
	cars[0].send(sw, resp(inv, 200, "OK", "ct1", cars[0].addr()))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("the retransmitted 2xx to the INVITE was not relayed")
	}
	cust.send(sw, inDialog(cust, "INVITE", "rx1", "z9hG4bKrx2", 2, r200, cars[0].addr()))
	ri, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("re-INVITE not forwarded")
	}
	ok200 := resp(ri, 200, "OK", "", cars[0].addr())
	for i := range 2 {
		cars[0].send(sw, ok200)
		m, ok := cust.next("SIP/2.0 200", 2*time.Second)
		if !ok || hdr(m, "CSeq") != "CSeq: 2 INVITE\r\n" {
			t.Fatalf("2xx %d to the re-INVITE not relayed: %q", i+1, m)
		}
	}
}

// A 2xx that comes after the attempt's non-2xx final answer (from another
// branch behind the carrier) is acknowledged and hung up, never relayed: the
// customer has its final answer (RFC 3261 §16.7). Its retransmission gets
// the ACK again, not a second BYE.
func TestAnswerAfterFailureHungUp(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	inv, _ := reach(t, sw, cust, cars[0], invite(cust, "af1", ";branch=z9hG4bKaf1"), 603, "Decline")
	if _, ok := cars[0].next("ACK", 2*time.Second); !ok {
		t.Fatal("no ACK for the 603")
	}
	ok200 := resp(inv, 200, "OK", "b2", cars[0].addr())
	cars[0].send(sw, ok200)
	ack, ok := cars[0].next("ACK", 2*time.Second)
	if !ok || !strings.Contains(hdr(ack, "To"), "tag=b2") {
		t.Fatalf("the late 2xx was not acknowledged: %q", ack)
	}
	bye, ok := cars[0].next("BYE", 2*time.Second)
	if !ok || !strings.Contains(hdr(bye, "To"), "tag=b2") {
		t.Fatalf("the late 2xx was not hung up: %q", bye)
	}
	cars[0].send(sw, resp(bye, 200, "OK", "", ""))
	cars[0].send(sw, ok200)
	if _, ok := cars[0].next("ACK", 2*time.Second); !ok {
		t.Fatal("the retransmitted 2xx was not acknowledged again")
	}
	if m, ok := cars[0].next("BYE", 300*time.Millisecond); ok {
		t.Fatalf("a second BYE for one dialog: %s", firstLine(m))
	}
	if m, ok := cust.next("SIP/2.0 200", 300*time.Millisecond); ok {
		t.Fatalf("the late 2xx reached the customer: %s", firstLine(m))
	}
}

// An answered call's INVITE transaction lingers as a record: the carrier's
// 2xx again gets nothing before the customer's ACK (above all no BYE, even
// once the sweep has run) and the very ACK the
// switch sent after it; a 2xx of another dialog behind the carrier (a fork)
// is acknowledged and hung up, and its retransmission acknowledged again
// without a second BYE. None reaches the customer, and the same 2xx from a
// host the INVITE did not go to gets nothing.
func TestAnswered2xxAgain(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 1, withTimers(50*time.Millisecond, 5*time.Second))
	inv, r200 := answer(t, sw, cust, cars[0], invite(cust, "ag1", ";branch=z9hG4bKag1"))
	ok200 := resp(inv, 200, "OK", "ct1", cars[0].addr())
	s.clients.sweep(time.Now().Add(time.Second)) // what a 100 ms sweep does
	cars[0].send(sw, ok200)
	if m, ok := cars[0].next("", 300*time.Millisecond); ok {
		t.Fatalf("the 2xx again, before the customer's ACK, got: %s", firstLine(m))
	}
	cust.send(sw, inDialog(cust, "ACK", "ag1", "z9hG4bKag2", 1, r200, cars[0].addr()))
	ack, ok := cars[0].next("ACK", 2*time.Second)
	if !ok {
		t.Fatal("no ACK at the carrier")
	}
	for ok {
		_, ok = cust.next("", 100*time.Millisecond) // the 200's retransmissions before the ACK
	}
	cars[0].send(sw, ok200)
	if again, ok := cars[0].next("ACK", 2*time.Second); !ok || again != ack {
		t.Fatalf("the 2xx again got %q, want the ACK again:\n%s", again, ack)
	}
	stranger := newPeerAt(t, net.IPv4(127, 0, 0, 5))
	stranger.send(sw, ok200)
	if m, ok := stranger.next("", 300*time.Millisecond); ok {
		t.Fatalf("a stranger's 2xx was answered: %s", firstLine(m))
	}
	if m, ok := cars[0].next("", 300*time.Millisecond); ok {
		t.Fatalf("a stranger's 2xx made the switch send: %s", firstLine(m))
	}
	fork := resp(inv, 200, "OK", "ct2", cars[0].addr())
	cars[0].send(sw, fork)
	fack, ok := cars[0].next("ACK", 2*time.Second)
	if !ok || !strings.Contains(hdr(fack, "To"), "tag=ct2") || hdr(fack, "Call-ID") != hdr(inv, "Call-ID") {
		t.Fatalf("the fork's 2xx was not acknowledged on its dialog: %q", fack)
	}
	bye, ok := cars[0].next("BYE", 2*time.Second)
	if !ok || !strings.Contains(hdr(bye, "To"), "tag=ct2") || hdr(bye, "From") != hdr(inv, "From") {
		t.Fatalf("the fork was not hung up: %q", bye)
	}
	cars[0].send(sw, resp(bye, 200, "OK", "", ""))
	cars[0].send(sw, fork)
	if again, ok := cars[0].next("ACK", 2*time.Second); !ok || again != fack {
		t.Fatalf("the fork's 2xx again got %q, want its ACK again", again)
	}
	if m, ok := cars[0].next("BYE", 300*time.Millisecond); ok {
		t.Fatalf("a second BYE for the fork: %s", firstLine(m))
	}
	if m, ok := cust.next("", 300*time.Millisecond); ok {
		t.Fatalf("the customer got: %s", firstLine(m))
	}
}

// An attempt the switch gave up on is forgotten 64·T1 later even when the
// carrier starts ringing after that (no Timer C for it).
func TestAbandonedAttemptForgotten(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 1)
	inv := forwarded(t, sw, cust, cars[0], invite(cust, "ab1", ";branch=z9hG4bKab1"))
	if _, ok := cust.next("SIP/2.0 408", 3*time.Second); !ok {
		t.Fatal("no 408 after the invite timeout")
	}
	cars[0].send(sw, resp(inv, 180, "Ringing", "ct1", ""))
	if _, ok := cars[0].next("CANCEL", 2*time.Second); !ok {
		t.Fatal("no CANCEL once the carrier responded")
	}
	waitEmpty(t, s, 64*s.t1+2*time.Second)
}

// A CANCEL of a re-INVITE is answered 200 and goes on to the carrier once
// it has responded; the carrier's 487 reaches the customer and the call
// stays up.
func TestReinviteCancelled(t *testing.T) {
	s, sw, cust, cars, _ := setup(t, 1)
	_, r200 := answer(t, sw, cust, cars[0], invite(cust, "rc1", ";branch=z9hG4bKrc1"))
	reinv := inDialog(cust, "INVITE", "rc1", "z9hG4bKrc2", 2, r200, cars[0].addr())
	cust.send(sw, reinv)
	ri, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("re-INVITE not forwarded")
	}
	cust.send(sw, strings.Replace(strings.Replace(reinv, "INVITE sip:", "CANCEL sip:", 1), "CSeq: 2 INVITE", "CSeq: 2 CANCEL", 1))
	if m, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok || hdr(m, "CSeq") != "CSeq: 2 CANCEL\r\n" {
		t.Fatalf("the CANCEL was not answered 200: %q", m)
	}
	if m, ok := cars[0].next("CANCEL", 300*time.Millisecond); ok {
		t.Fatalf("CANCEL sent before the carrier responded: %s", firstLine(m))
	}
	cars[0].send(sw, resp(ri, 100, "Trying", "", ""))
	cancel, ok := cars[0].next("CANCEL", 2*time.Second)
	if !ok || vias(cancel) != hdr(ri, "Via") || hdr(cancel, "CSeq") != "CSeq: 2 CANCEL\r\n" {
		t.Fatalf("no CANCEL of the re-INVITE at the carrier, or not its transaction:\n%s", cancel)
	}
	cars[0].send(sw, resp(cancel, 200, "OK", "", ""))
	cars[0].send(sw, resp(ri, 487, "Request Terminated", "", ""))
	if _, ok := cust.next("SIP/2.0 487", 2*time.Second); !ok {
		t.Fatal("the re-INVITE's 487 did not reach the customer")
	}
	if byCallID(s, "rc1") == nil {
		t.Fatal("a cancelled re-INVITE ended the call")
	}
}

// A datagram whose Content-Length promises more than it holds is refused
// (400, or dropped when the parser cannot read it at all), one larger than
// the switch takes 513; neither reaches a carrier.
func TestFramingRefused(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	tests := []struct {
		name, msg, want string // want "" also takes no answer
	}{
		{"Content-Length past the body", strings.Replace(invite(cust, "fr1", ";branch=z9hG4bKfr1"), "Content-Length: 0", "Content-Length: 40", 1), ""},
		{"too large", strings.Replace(invite(cust, "fr2", ";branch=z9hG4bKfr2"), "Max-Forwards: 70\r\n",
			"Max-Forwards: 70\r\nX-Pad: "+strings.Repeat("a", maxRequest)+"\r\n", 1), "SIP/2.0 513 Message Too Large"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cust.send(sw, tt.msg)
			m, ok := cust.next("SIP/2.0", 500*time.Millisecond)
			if tt.want != "" && firstLine(m) != tt.want || tt.want == "" && ok && !strings.HasPrefix(m, "SIP/2.0 400") {
				t.Fatalf("answer %q, want %q", firstLine(m), tt.want)
			}
			if m, ok := cars[0].next("INVITE", 200*time.Millisecond); ok {
				t.Fatalf("forwarded: %s", firstLine(m))
			}
		})
	}
}

// Responses are taken only from the address their request went to, and
// branches give nothing away: a forged 486 with the right branch from
// another address changes nothing; the carrier's own answer goes through.
func TestForgedResponseIgnored(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	stranger := newPeerAt(t, net.IPv4(127, 0, 0, 5))
	inv := forwarded(t, sw, cust, cars[0], invite(cust, "fg1", ";branch=z9hG4bKfg1"))
	cars[0].send(sw, resp(inv, 180, "Ringing", "ct1", cars[0].addr())) // ringing: the ring timeout, not the invite timeout
	stranger.send(sw, resp(inv, 486, "Busy Here", "evil", ""))
	if m, ok := cust.next("SIP/2.0 486", 300*time.Millisecond); ok {
		t.Fatalf("a forged response reached the customer: %s", firstLine(m))
	}
	cars[0].send(sw, resp(inv, 200, "OK", "ct1", cars[0].addr()))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("the carrier's answer did not reach the customer")
	}
	b1, b2 := newBranches().next(), newBranches().next()
	if b1 == b2 || !strings.HasPrefix(b1, magicCookie) || len(b1) < len(magicCookie)+16 {
		t.Fatalf("branches %q, %q", b1, b2)
	}
}

// The customer gets standard reason phrases, never the carrier's own (which
// may name its hosts); the CDR keeps the carrier's.
func TestReasonPhraseReplaced(t *testing.T) {
	_, sw, cust, cars, sink := setup(t, 1)
	inv := forwarded(t, sw, cust, cars[0], invite(cust, "rp1", ";branch=z9hG4bKrp1"))
	cars[0].send(sw, resp(inv, 486, "Busy trunk7 sbc2.carrier.example", "ct1", ""))
	m, ok := cust.next("SIP/2.0 486", 2*time.Second)
	if !ok || firstLine(m) != "SIP/2.0 486 Busy Here" {
		t.Fatalf("customer got %q", firstLine(m))
	}
	deadline := time.Now().Add(2 * time.Second)
	for {
		sink.mu.Lock()
		n := len(sink.rs)
		sink.mu.Unlock()
		if n > 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	if r := onlyCDR(t, sink); r.Reason != "Busy trunk7 sbc2.carrier.example" {
		t.Fatalf("CDR reason %q", r.Reason)
	}
}

// A single-value header twice (here Session-Expires, long and compact)
// is malformed: refused, nothing forwarded.
func TestDuplicateHeaderRefused(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	cust.send(sw, strings.Replace(invite(cust, "dh1", ";branch=z9hG4bKdh1"), "Max-Forwards: 70\r\n",
		"Max-Forwards: 70\r\nSession-Expires: 1800\r\nx: 90\r\n", 1))
	if m, ok := cust.next("SIP/2.0 400", 2*time.Second); !ok || firstLine(m) != "SIP/2.0 400 Duplicate Session-Expires" {
		t.Fatalf("answer %q", firstLine(m))
	}
	if m, ok := cars[0].next("INVITE", 200*time.Millisecond); ok {
		t.Fatalf("forwarded: %s", firstLine(m))
	}
}

// A call ended before the customer's ACK still acknowledges the carrier's
// 2xx before hanging it up (RFC 3261 §13.2.2.4).
func TestByeBeforeAckAcknowledgesCarrier(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1)
	_, r200 := answer(t, sw, cust, cars[0], invite(cust, "ba1", ";branch=z9hG4bKba1"))
	cust.send(sw, inDialog(cust, "BYE", "ba1", "z9hG4bKbyeba1", 2, r200, cars[0].addr()))
	var m string
	for ok := true; ok && (m == "" || strings.HasPrefix(m, "INVITE ")); { // skip INVITE retransmissions
		m, ok = cars[0].next("", 2*time.Second)
	}
	if !strings.HasPrefix(m, "ACK ") {
		t.Fatalf("the carrier got %q before any ACK", firstLine(m))
	}
	if _, ok := cars[0].next("BYE", 2*time.Second); !ok {
		t.Fatal("no BYE after the ACK")
	}
}
