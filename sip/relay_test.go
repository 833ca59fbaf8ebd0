package sip

// Tests of the media relay in the call path, from a hostile review: each
// test's relay has 40 ports of 30600-30999 on 127.0.0.1 (the media
// package's tests take 31000 and up; the switch's e2e tests 30100-30599).

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/media"
	"github.com/trunkline/trunkline/routing"
)

var relayPortBase = 30600

// testRelay is a relay of 40 ports of its own for one test.
func testRelay(t *testing.T) (Option, *media.Ports) {
	t.Helper()
	lo := relayPortBase
	relayPortBase += 40
	ports, err := media.NewPorts(netip.MustParseAddr("127.0.0.1"), lo, lo+39)
	if err != nil {
		t.Fatal(err)
	}
	return WithMediaRelay(MediaRelay{Ports: ports, Advertise: netip.MustParseAddr("127.0.0.1"), Timeout: 5 * time.Second}), ports
}

func relayOpt(t *testing.T) Option { o, _ := testRelay(t); return o }

type modeRouter struct {
	rvRouter
	modes []string
}

func (r modeRouter) Route(ctx context.Context, c routing.Call) (*routing.Plan, error) {
	p, err := r.rvRouter.Route(ctx, c)
	if err != nil {
		return nil, err
	}
	for i := range p.Attempts {
		if i < len(r.modes) {
			p.Attempts[i].MediaRelay = r.modes[i]
		}
	}
	return p, nil
}

func withModes(modes ...string) func(rvRouter) Router {
	return func(r rvRouter) Router { return modeRouter{r, modes} }
}

func inviteSDP(cust *peer, callID, branch, sdp string) string {
	return "INVITE sip:15551234567@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + cust.addr() + ";branch=" + branch + "\r\n" +
		"From: <sip:a@127.0.0.1>;tag=ft1\r\n" +
		"To: <sip:15551234567@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\n" +
		"CSeq: 1 INVITE\r\n" +
		"Contact: <sip:a@" + cust.addr() + ">\r\n" +
		"Max-Forwards: 70\r\n" +
		"Content-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
}

func withSDP(m, sdp string) string {
	m = strings.Replace(m, "Content-Length: 0\r\n\r\n", "Content-Type: application/sdp\r\nContent-Length: "+strconv.Itoa(len(sdp))+"\r\n\r\n"+sdp, 1)
	return m
}

func sdpAt(ip string, port int, extra string) string {
	return fmt.Sprintf("v=0\r\no=x 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n%s", ip, ip, port, extra)
}

var audioRE = regexp.MustCompile(`(?m)^m=audio ([0-9]+) `)

func sdpPort(t *testing.T, m string) int {
	t.Helper()
	s := audioRE.FindStringSubmatch(m)
	if s == nil {
		t.Fatalf("no m=audio in %q", m)
	}
	p, _ := strconv.Atoi(s[1])
	return p
}

// rtpSock is a raw UDP socket that counts RTP by SSRC.
type rtpSock struct {
	c   *net.UDPConn
	mu  sync.Mutex
	got map[uint32]int
}

func newRTPSock(t *testing.T, ip string) *rtpSock {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	s := &rtpSock{c: c, got: map[uint32]int{}}
	go func() {
		b := make([]byte, 2048)
		for {
			n, err := c.Read(b)
			if err != nil {
				return
			}
			if n >= 12 {
				s.mu.Lock()
				s.got[binary.BigEndian.Uint32(b[8:12])]++
				s.mu.Unlock()
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return s
}

func (s *rtpSock) port() int { return s.c.LocalAddr().(*net.UDPAddr).Port }
func (s *rtpSock) count(ssrc uint32) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.got[ssrc]
}

func (s *rtpSock) send(t *testing.T, port int, ssrc uint32, from, n int) {
	for i := from; i < from+n; i++ {
		b := make([]byte, 172)
		b[0], b[1] = 0x80, 0
		binary.BigEndian.PutUint16(b[2:], uint16(i))
		binary.BigEndian.PutUint32(b[4:], uint32(i*160))
		binary.BigEndian.PutUint32(b[8:], ssrc)
		if _, err := s.c.WriteToUDP(b, &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1), Port: port}); err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

const natOffer = "v=0\r\no=alice 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"

// relayedNATCall: NAT customer (auto), answered; returns the customer's 200,
// the relay port facing the customer (A) and the one facing the carrier (B).
func relayedNATCall(t *testing.T, sw net.Addr, cust, car *peer, carRTP *rtpSock, callID string) (r200 string, portA, portB int) {
	t.Helper()
	cust.send(sw, inviteSDP(cust, callID, "z9hG4bK"+callID, natOffer))
	inv, ok := car.next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	portB = sdpPort(t, inv)
	car.send(sw, withSDP(resp(inv, 200, "OK", "ct1", car.addr()), sdpAt("127.0.0.1", carRTP.port(), "")))
	r200, ok = cust.next("SIP/2.0 200", 2*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	portA = sdpPort(t, r200)
	cust.send(sw, inDialog(cust, "ACK", callID, "z9hG4bKack"+callID, 1, r200, car.addr()))
	return r200, portA, portB
}

// a stranger who sends three in-sequence packets to the customer-facing
// port before the NAT customer does is latched as the customer for good: it
// hears the callee and talks to it; the real customer is dropped. Ports are
// sequential, so the stranger can predict them from its own call.
func TestRelayStrangerCannotTakeNATCustomer(t *testing.T) {
	_, sw, cust, cars, _ := setupRouter(t, withModes(), 1, relayOpt(t))
	carRTP := newRTPSock(t, "127.0.0.1")
	custRTP := newRTPSock(t, "127.0.0.1") // the customer's NAT: where it signals from
	stranger := newRTPSock(t, "127.0.0.3")

	r1, a1, b1 := relayedNATCall(t, sw, cust, cars[0], carRTP, "hj0")
	hangUp(t, sw, cust, cars[0], "hj0", r1)
	_, a2, b2 := relayedNATCall(t, sw, cust, cars[0], carRTP, "hj1")
	t.Logf("call 1 ports A=%d B=%d; call 2 ports A=%d B=%d", a1, b1, a2, b2)
	if b1 == a1+2 && a2 == b1+2 || a2 == a1 && b2 == b1 {
		t.Errorf("PREDICTABLE: the next call's relay ports follow from the last call's")
	}

	stranger.send(t, a2, 0xBAD, 0, 5) // before the customer's first packet
	carRTP.send(t, b2, 0xCA, 0, 20)
	custRTP.send(t, a2, 0xC0, 0, 20) // the real customer, from its NAT mapping
	stranger.send(t, a2, 0xBAD, 5, 20)
	time.Sleep(200 * time.Millisecond)
	t.Logf("stranger got %d of the carrier's packets; customer got %d; carrier got %d from customer, %d from stranger",
		stranger.count(0xCA), custRTP.count(0xCA), carRTP.count(0xC0), carRTP.count(0xBAD))
	if stranger.count(0xCA) > 0 || carRTP.count(0xBAD) > 0 || carRTP.count(0xC0) == 0 {
		t.Errorf("HIJACK: the stranger took the customer's stream")
	}
}

// a NAT customer whose mapping changes (same IP, new port: NAT rebinding
// after a silent hold, mobile) is never re-latched: its RTP is dropped for the
// rest of the call, although the SSRC and sequence continue.
func TestRelayNATRebindingRelatches(t *testing.T) {
	_, sw, cust, cars, _ := setupRouter(t, withModes(), 1, relayOpt(t))
	carRTP := newRTPSock(t, "127.0.0.1")
	custOld := newRTPSock(t, "127.0.0.1") // the customer's NAT: where it signals from
	custNew := newRTPSock(t, "127.0.0.1")
	_, a, _ := relayedNATCall(t, sw, cust, cars[0], carRTP, "rb1")
	custOld.send(t, a, 0xC0, 0, 10)
	time.Sleep(50 * time.Millisecond)
	before := carRTP.count(0xC0)
	custNew.send(t, a, 0xC0, 10, 100)
	time.Sleep(200 * time.Millisecond)
	after := carRTP.count(0xC0)
	t.Logf("carrier got %d packets from the old mapping, %d of 100 from the new", before, after-before)
	if after-before == 0 {
		t.Errorf("NO RELATCH: the customer's stream from its new NAT mapping is dropped for good")
	}
}

// a re-INVITE from a relayed (NAT) customer may point the relay at any
// address that is not private: here a third host (127.0.0.9, a victim that is
// neither party nor the signalling source); the carrier's audio goes there.
func TestRelayWillNotSendWhereAPartyPoints(t *testing.T) {
	_, sw, cust, cars, _ := setupRouter(t, withModes(), 1, relayOpt(t))
	carRTP := newRTPSock(t, "127.0.0.1")
	victim := newRTPSock(t, "127.0.0.9")
	r200, _, b := relayedNATCall(t, sw, cust, cars[0], carRTP, "rd1")
	re := withSDP(inDialog(cust, "INVITE", "rd1", "z9hG4bKrd1re", 2, r200, cars[0].addr()), sdpAt("127.0.0.9", victim.port(), ""))
	cust.send(sw, re)
	ri, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("re-INVITE not forwarded")
	}
	cars[0].send(sw, withSDP(resp(ri, 200, "OK", "", cars[0].addr()), sdpAt("127.0.0.1", carRTP.port(), "")))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 for the re-INVITE")
	}
	carRTP.send(t, b, 0xCA, 0, 20)
	time.Sleep(100 * time.Millisecond)
	t.Logf("victim got %d packets", victim.count(0xCA))
	if victim.count(0xCA) > 0 {
		t.Errorf("REDIRECT: the relay sent the carrier's RTP to a third address the customer named")
	}
}

// a re-INVITE offer the other party rejects still changes the session
// (RFC 3264: a rejected offer changes nothing).
func TestRelayRejectedOfferChangesNothing(t *testing.T) {
	s, sw, cust, cars, _ := setupRouter(t, withModes(), 1, relayOpt(t))
	carRTP := newRTPSock(t, "127.0.0.1")
	r200, _, _ := relayedNATCall(t, sw, cust, cars[0], carRTP, "rj1")
	re := withSDP(inDialog(cust, "INVITE", "rj1", "z9hG4bKrj1re", 2, r200, cars[0].addr()), strings.Replace(natOffer, "a=rtpmap:0 PCMU/8000\r\n", "a=rtpmap:0 PCMU/8000\r\na=inactive\r\n", 1))
	cust.send(sw, re)
	ri, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("re-INVITE not forwarded")
	}
	cars[0].send(sw, resp(ri, 488, "Not Acceptable Here", "", ""))
	if _, ok := cust.next("SIP/2.0 488", 2*time.Second); !ok {
		t.Fatal("no 488")
	}
	c := byCallID(s, "rj1")
	c.mu.Lock()
	hold := c.media.hold
	c.mu.Unlock()
	if hold[0] {
		t.Errorf("REJECTED OFFER APPLIED: the session thinks the customer holds (hold timeout %v instead of the media timeout)", DefaultHoldTimeout)
	}
}

// a carrier that answers with an SDP the relay cannot take (IPv6 here)
// is ACKed and hung up after it answered, and the call fails over: the
// callee is answered and hung up on, and another carrier rings again.
func TestRelayUnrelayableAnswerIsFinal(t *testing.T) {
	_, sw, cust, cars, _ := setupRouter(t, withModes("always", "always"), 2, relayOpt(t))
	pub := sdpAt("127.0.0.1", 4000, "")
	cust.send(sw, inviteSDP(cust, "v6", "z9hG4bKv6", pub))
	inv, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE")
	}
	v6 := "v=0\r\no=x 1 1 IN IP6 2001:db8::1\r\ns=-\r\nc=IN IP6 2001:db8::1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	cars[0].send(sw, withSDP(resp(inv, 200, "OK", "ct1", cars[0].addr()), v6))
	_, acked := cars[0].next("ACK", 2*time.Second)
	_, byed := cars[0].next("BYE", 2*time.Second)
	_, second := cars[1].next("INVITE", 2*time.Second)
	t.Logf("carrier 1 answered: ACK %v, BYE %v; carrier 2 INVITEd %v", acked, byed, second)
	if byed && second {
		t.Errorf("ANSWERED THEN HUNG UP: an IPv6 answer is torn down after the callee picked up, and the next carrier rings again")
	}
}

// a call whose first carrier does not relay is refused 488 when its
// offer cannot be relayed (no audio: a T.38-only offer; or IPv6), though the
// first attempt would carry it as it is.
func TestRelayUnrelayableOfferGoesDirect(t *testing.T) {
	_, sw, cust, cars, _ := setupRouter(t, withModes("never", "always"), 2, relayOpt(t))
	t38 := "v=0\r\no=x 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=image 4000 udptl t38\r\n"
	cust.send(sw, inviteSDP(cust, "t38", "z9hG4bKt38", t38))
	inv, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok || !strings.Contains(inv, "m=image 4000 udptl t38") {
		t.Fatalf("carrier 1 (media_relay never) did not get the offer as it is: %q", inv)
	}
	cars[0].send(sw, resp(inv, 503, "Service Unavailable", "ct1", ""))
	if m, ok := cust.next("SIP/2.0 488", 2*time.Second); !ok || !strings.Contains(m, "Media Not Relayable") {
		t.Errorf("after carrier 1 the call ends with %q, want 488 Media Not Relayable (carrier 2 must relay)", firstLine(m))
	}
	if inv, ok := cars[1].next("INVITE", 200*time.Millisecond); ok {
		t.Errorf("carrier 2 (media_relay always) got an offer the relay cannot take:\n%s", inv)
	}
}

// Every end path gives the relay's ports back.
func TestRelayPortsGivenBack(t *testing.T) {
	g0 := runtime.NumGoroutine()
	opt, ports := testRelay(t)
	s, sw, cust, cars, _ := setupRouter(t, withModes("always", "never"), 2, opt, WithSessionTimer(60*time.Second, time.Second))
	carRTP := newRTPSock(t, "127.0.0.1")
	// 1: CANCEL while ringing.
	in := inviteSDP(cust, "lk1", "z9hG4bKlk1", natOffer)
	cust.send(sw, in)
	inv, _ := cars[0].next("INVITE", 2*time.Second)
	cars[0].send(sw, withSDP(resp(inv, 183, "Session Progress", "ct1", cars[0].addr()), sdpAt("127.0.0.1", carRTP.port(), "")))
	cust.next("SIP/2.0 183", 2*time.Second)
	cust.send(sw, strings.Replace(strings.Replace(in, "INVITE sip:", "CANCEL sip:", 1), "CSeq: 1 INVITE", "CSeq: 1 CANCEL", 1))
	cust.next("SIP/2.0 200", 2*time.Second) // the CANCEL's
	cust.next("SIP/2.0 487", 2*time.Second)
	if c, ok := cars[0].next("CANCEL", 2*time.Second); ok {
		cars[0].send(sw, resp(c, 200, "OK", "", ""))
		cars[0].send(sw, resp(inv, 487, "Request Terminated", "ct1", ""))
	}
	time.Sleep(200 * time.Millisecond)
	t.Logf("after CANCEL: %d lent", ports.InUse())
	// 2: failover from the relayed carrier to the direct one, which answers.
	cust.send(sw, inviteSDP(cust, "lk2", "z9hG4bKlk2", natOffer))
	inv, _ = cars[0].next("INVITE", 2*time.Second)
	cars[0].send(sw, resp(inv, 503, "Service Unavailable", "ct1", ""))
	inv2, ok := cars[1].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no failover")
	}
	if strings.Contains(inv2, "127.0.0.1\r\nt=") && !strings.Contains(inv2, "10.0.0.7") {
		t.Errorf("direct carrier got the relayed offer")
	}
	cars[1].send(sw, withSDP(resp(inv2, 200, "OK", "ct2", cars[1].addr()), sdpAt("127.0.0.1", carRTP.port(), "")))
	r200, ok := cust.next("SIP/2.0 200", 2*time.Second)
	t.Logf("200 at customer: %v %q", ok, firstLine(r200))
	if n := ports.InUse(); n != 0 {
		t.Errorf("answer on a direct leg: %d pairs still lent", n)
	}
	hangUp(t, sw, cust, cars[1], "lk2", r200)
	// 3: 422 from the relayed carrier, then answer, then BYE.
	cust.send(sw, inviteSDP(cust, "lk3", "z9hG4bKlk3", natOffer))
	inv, _ = cars[0].next("INVITE", 2*time.Second)
	cars[0].send(sw, withHeaders(resp(inv, 422, "Session Interval Too Small", "ct1", ""), "Min-SE: 120\r\n"))
	again, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no retry after 422")
	}
	cars[0].send(sw, withSDP(resp(again, 200, "OK", "ct3", cars[0].addr()), sdpAt("127.0.0.1", carRTP.port(), "")))
	r200, _ = cust.next("SIP/2.0 200", 2*time.Second)
	hangUp(t, sw, cust, cars[0], "lk3", r200)
	waitEmpty(t, s, 5*time.Second)
	if n := ports.InUse(); n != 0 {
		t.Errorf("LEAK: %d pairs lent after every call ended", n)
	}
	time.Sleep(100 * time.Millisecond)
	t.Logf("goroutines: %d at start, %d at end", g0, runtime.NumGoroutine())
}

// Reset on failover while the carrier-side reader is busy; then a second
// carrier. Run with -race.
func TestRelayFailoverReset(t *testing.T) {
	opt, ports := testRelay(t)
	s, sw, cust, cars, _ := setupRouter(t, withModes("always", "always"), 2, opt)
	car1RTP := newRTPSock(t, "127.0.0.1")
	car2RTP := newRTPSock(t, "127.0.0.1")
	custRTP := newRTPSock(t, "127.0.0.1")
	pub := sdpAt("127.0.0.1", custRTP.port(), "")
	cust.send(sw, inviteSDP(cust, "fr1", "z9hG4bKfr1", pub))
	inv, _ := cars[0].next("INVITE", 2*time.Second)
	b := sdpPort(t, inv)
	cars[0].send(sw, withSDP(resp(inv, 183, "Session Progress", "ct1", cars[0].addr()), sdpAt("127.0.0.1", car1RTP.port(), "")))
	cust.next("SIP/2.0 183", 2*time.Second)
	done := make(chan struct{})
	go func() { defer close(done); car1RTP.send(t, b, 0xA1, 0, 200) }()
	time.Sleep(50 * time.Millisecond)
	cars[0].send(sw, resp(inv, 503, "Service Unavailable", "ct1", ""))
	inv2, ok := cars[1].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no failover")
	}
	if b2 := sdpPort(t, inv2); b2 != b {
		t.Logf("carrier side port changed %d -> %d", b, b2)
	}
	cars[1].send(sw, withSDP(resp(inv2, 200, "OK", "ct2", cars[1].addr()), sdpAt("127.0.0.1", car2RTP.port(), "")))
	r200, _ := cust.next("SIP/2.0 200", 2*time.Second)
	<-done
	car2RTP.send(t, b, 0xA2, 0, 20)
	time.Sleep(100 * time.Millisecond)
	t.Logf("customer got %d from carrier 1 (after failover too), %d from carrier 2", custRTP.count(0xA1), custRTP.count(0xA2))
	if custRTP.count(0xA2) < 15 {
		t.Errorf("the customer got %d of the answering carrier's 20 packets after the failover", custRTP.count(0xA2))
	}
	c := byCallID(s, "fr1")
	c.mu.Lock()
	st := c.media.sess.Stats(1)
	c.mu.Unlock()
	t.Logf("carrier stats in CDR-to-be: %d packets", st.Packets)
	if st.Packets > 60 {
		t.Errorf("the carrier side counts %d packets: the first carrier's stream after the failover is in it", st.Packets)
	}
	hangUp(t, sw, cust, cars[1], "fr1", r200)
	waitEmpty(t, s, 5*time.Second)
	if ports.InUse() != 0 {
		t.Error("leak")
	}
}
