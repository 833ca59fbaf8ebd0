package main

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/pion/rtcp"
	"github.com/pion/rtp"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/sip/siptest"
)

// rtpPeer is a party's RTP socket: it sends streams made with pion/rtp and
// records what it receives (sequence numbers by SSRC, in arrival order).
type rtpPeer struct {
	t    *testing.T
	conn *net.UDPConn

	mu   sync.Mutex
	got  map[uint32][]uint16
	sent map[uint32]map[uint16]time.Time // when each packet of a stream went
}

func newRTPPeer(t *testing.T, ip string) *rtpPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rtpPeer{t: t, conn: c, got: map[uint32][]uint16{}, sent: map[uint32]map[uint16]time.Time{}}
	go func() {
		b := make([]byte, 2048)
		for {
			n, err := c.Read(b)
			if err != nil {
				return
			}
			var pkt rtp.Packet
			if pkt.Unmarshal(b[:n]) != nil {
				continue
			}
			p.mu.Lock()
			p.got[pkt.SSRC] = append(p.got[pkt.SSRC], pkt.SequenceNumber)
			p.mu.Unlock()
		}
	}()
	t.Cleanup(func() { c.Close() })
	return p
}

func (p *rtpPeer) port() int { return p.conn.LocalAddr().(*net.UDPAddr).Port }

// received returns the sequence numbers of ssrc received so far.
func (p *rtpPeer) received(ssrc uint32) []uint16 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint16(nil), p.got[ssrc]...)
}

// stream sends packets 0..n-1 of ssrc (PCMU, 160 bytes of payload) to to,
// one every `every`, their timestamps `step` apart; the numbers skip
// names are never sent (lost on the way), their time passes all the same.
func (p *rtpPeer) stream(to *net.UDPAddr, ssrc uint32, n int, skip func(int) bool, every time.Duration, step uint32) {
	start := time.Now()
	sent := map[uint16]time.Time{}
	for i := range n {
		time.Sleep(time.Until(start.Add(time.Duration(i) * every)))
		if skip != nil && skip(i) {
			continue
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(i), Timestamp: uint32(i) * step, SSRC: ssrc},
			Payload: make([]byte, 160)}
		b, err := pkt.Marshal()
		if err != nil {
			p.t.Error(err)
			return
		}
		sent[uint16(i)] = time.Now()
		if _, err := p.conn.WriteToUDP(b, to); err != nil {
			p.t.Error(err)
			return
		}
	}
	p.mu.Lock()
	p.sent[ssrc] = sent
	p.mu.Unlock()
}

// expected is what RFC 3550 makes of the packets of ssrc that to
// received, arriving when p sent them (the relay's arrival, give or take
// the hop): the packets, those lost between the first and the highest,
// and the interarrival jitter (A.8), for timestamps step apart at clock
// 8000.
func (p *rtpPeer) expected(ssrc uint32, to *rtpPeer, step uint32) (packets, lost int64, jitter time.Duration) {
	p.mu.Lock()
	sent := p.sent[ssrc]
	p.mu.Unlock()
	seqs := to.received(ssrc)
	if len(seqs) == 0 {
		return 0, 0, 0
	}
	lo, hi := seqs[0], seqs[0]
	var j, prev float64
	for i, s := range seqs {
		lo, hi = min(lo, s), max(hi, s)
		transit := sent[s].Sub(sent[seqs[0]]).Seconds()*8000 - float64(uint32(s)*step)
		if i > 0 {
			j += (math.Abs(transit-prev) - j) / 16
		}
		prev = transit
	}
	return int64(len(seqs)), int64(hi-lo+1) - int64(len(seqs)), time.Duration(j / 8000 * float64(time.Second))
}

var (
	sdpConnRE  = regexp.MustCompile(`(?m)^c=IN IP4 ([0-9.]+)\r$`)
	sdpAudioRE = regexp.MustCompile(`(?m)^m=audio ([0-9]+) `)
)

// sdpMedia returns the audio address an SDP message body names.
func sdpMedia(t *testing.T, m string) *net.UDPAddr {
	t.Helper()
	_, body, _ := strings.Cut(m, "\r\n\r\n")
	c, a := sdpConnRE.FindStringSubmatch(body), sdpAudioRE.FindStringSubmatch(body)
	if c == nil || a == nil {
		t.Fatalf("no audio address in %q", body)
	}
	port, _ := strconv.Atoi(a[1])
	return &net.UDPAddr{IP: net.ParseIP(c[1]), Port: port}
}

// mediaCarrier answers INVITEs (and re-INVITEs) with 200 and an SDP
// naming its RTP socket, BYE with 200.
func mediaCarrier(media *rtpPeer) func(p *rawPeer, m string, from *net.UDPAddr) {
	return func(p *rawPeer, m string, from *net.UDPAddr) {
		method, _, _ := strings.Cut(m, " ")
		contact := "Contact: <sip:carrier@" + p.addr() + ">\r\n"
		switch method {
		case "INVITE":
			sdp := fmt.Sprintf("v=0\r\no=carrier 7 7 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n"+
				"m=audio %d RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=rtcp:%d\r\n", media.port(), media.port()+1)
			p.send(from, rawResponse(m, 200, "OK", "carrier-tag", contact+"Content-Type: application/sdp\r\n", sdp))
		case "BYE":
			p.send(from, rawResponse(m, 200, "OK", "", "", ""))
		}
	}
}

// natSDP is the offer of a customer behind NAT: a private address, its
// RTP port, RTCP and ICE attributes the carrier must not see.
func natSDP(port int, direction string) string {
	return fmt.Sprintf("v=0\r\no=alice 1 1 IN IP4 10.0.0.7\r\ns=-\r\nc=IN IP4 10.0.0.7\r\nt=0 0\r\n"+
		"m=audio %d RTP/AVP 0 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=rtcp:%d\r\n"+
		"a=candidate:1 1 UDP 2130706431 10.0.0.7 %d typ host\r\na=ice-ufrag:abcd\r\na=%s\r\n", port, port+1, port, direction)
}

// relayedCall sets up an answered call whose media the switch relays and
// returns the 200 the customer got and the relay's address on each side.
func relayedCall(t *testing.T, b *borderSetup, callID, sdp string) (r200 string, toA, toB *net.UDPAddr) {
	t.Helper()
	r200, inv := b.answeredBy(t, callID, b.customerInviteSDP(callID, "z9hG4bK"+callID, numAnswer, "", sdp))
	return r200, sdpMedia(t, r200), sdpMedia(t, inv)
}

// A customer behind NAT (its SDP names 10.0.0.7) and a carrier exchange
// RTP made with pion/rtp through the relay: each side's SDP names the
// switch, never the other party; each side gets the other's stream; a
// stranger's packets reach nobody; the CDR holds the packets each side
// sent, the loss of the stream that skipped numbers and the jitter of
// each stream as computed by hand from the send times; the ports are
// given back.
func TestMediaRelayNATCustomer(t *testing.T) {
	t.Parallel()
	carrierRTP := newRTPPeer(t, "127.0.0.1")
	b := newBorderWith(t, "media:\n  port_min: 30100\n  port_max: 30199\n", mediaCarrier(carrierRTP))
	customerRTP := newRTPPeer(t, "127.0.0.2")
	stranger := newRTPPeer(t, "127.0.0.3")

	const callID = "media-nat-1"
	b.customer.send(b.swAddr, b.customerInviteSDP(callID, "z9hG4bK"+callID, numAnswer, "", natSDP(customerRTP.port(), "sendrecv")))
	inv, ok := b.carrier.next("INVITE", 3*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	toB := sdpMedia(t, inv)
	_, invBody, _ := strings.Cut(inv, "\r\n\r\n")
	if !toB.IP.Equal(net.IPv4(127, 0, 0, 1)) || toB.Port < 30100 || toB.Port > 30199 {
		t.Fatalf("carrier's SDP names %v, not the relay", toB)
	}
	for _, leak := range []string{"10.0.0.7", "candidate", "ice-", "a=rtcp:", "alice", strconv.Itoa(customerRTP.port())} {
		if strings.Contains(invBody, leak) {
			t.Errorf("carrier's SDP carries %q:\n%s", leak, invBody)
		}
	}
	r200, ok := b.customer.next("SIP/2.0 200", 3*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	toA := sdpMedia(t, r200)
	_, ansBody, _ := strings.Cut(r200, "\r\n\r\n")
	if !toA.IP.Equal(net.IPv4(127, 0, 0, 1)) || toA.Port < 30100 || toA.Port > 30199 || toA.Port == toB.Port {
		t.Fatalf("customer's SDP names %v, not the relay (carrier side %v)", toA, toB)
	}
	for _, leak := range []string{strconv.Itoa(carrierRTP.port()), "carrier", "a=rtcp:"} {
		if strings.Contains(ansBody, leak) {
			t.Errorf("customer's SDP carries %q:\n%s", leak, ansBody)
		}
	}
	b.customer.send(b.swAddr, b.inDialog("ACK", callID, "z9hG4bKack"+callID, 1, r200, ""))

	const (
		custSSRC, carrSSRC, strangerSSRC = 0x1111, 0x2222, 0x3333
		every                            = 10 * time.Millisecond
		custStep, carrStep               = 160, 80 // 20 ms of timestamp every 10 ms: 10 ms of jitter; 10 ms: none
	)
	lostOnTheWay := func(i int) bool { return (i >= 50 && i < 55) || (i >= 80 && i < 85) }
	var wg sync.WaitGroup
	wg.Add(3)
	go func() { defer wg.Done(); customerRTP.stream(toA, custSSRC, 110, lostOnTheWay, every, custStep) }()
	go func() { defer wg.Done(); carrierRTP.stream(toB, carrSSRC, 100, nil, every, carrStep) }()
	go func() {
		defer wg.Done()
		time.Sleep(300 * time.Millisecond) // both latched: a stranger in sequence on both sides
		stranger.stream(toA, strangerSSRC, 20, nil, time.Millisecond, 160)
		stranger.stream(toB, strangerSSRC, 20, nil, time.Millisecond, 160)
	}()
	wg.Wait()
	// The carrier's RTCP receiver report on what it got of the customer's
	// stream, to the relay's RTCP port (RTP's plus one).
	rr, err := (&rtcp.ReceiverReport{SSRC: carrSSRC, Reports: []rtcp.ReceptionReport{{SSRC: custSSRC, TotalLost: 7, Jitter: 160}}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := carrierRTP.conn.WriteToUDP(rr, &net.UDPAddr{IP: toB.IP, Port: toB.Port + 1}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(200 * time.Millisecond)

	atCarrier, atCustomer := carrierRTP.received(custSSRC), customerRTP.received(carrSSRC)
	t.Logf("relayed %v dropped %v", metricValue(t, b.sw.api.base, `trunkline_media_packets_total{result="relayed"}`), metricValue(t, b.sw.api.base, `trunkline_media_packets_total{result="dropped"}`))
	// The customer, behind NAT, is latched by its first packet from the
	// host it signals from: the carrier gets every one; the customer
	// misses at most what the carrier sent before that.
	if len(atCarrier) != 100 || len(atCustomer) < 95 {
		t.Fatalf("carrier got %d of the customer's 100 packets, customer %d of the carrier's 100", len(atCarrier), len(atCustomer))
	}
	if n, m := len(carrierRTP.received(strangerSSRC)), len(customerRTP.received(strangerSSRC)); n+m > 0 {
		t.Errorf("a stranger's packets were relayed: %d to the carrier, %d to the customer", n, m)
	}
	hangUp(t, b, callID, r200, 2)
	recs := b.sw.api.cdrs(callID, 1)
	if len(recs) != 1 || !recs[0].MediaRelayed {
		t.Fatalf("CDRs %+v: want one with media_relayed", recs)
	}
	r := recs[0]
	for _, c := range []struct {
		name       string
		from, to   *rtpPeer
		ssrc, step uint32
		got        cdr.RTPStats
	}{
		{"customer", customerRTP, carrierRTP, custSSRC, custStep, r.CustomerRTP},
		{"carrier", carrierRTP, customerRTP, carrSSRC, carrStep, r.CarrierRTP},
	} {
		packets, lost, jitter := c.from.expected(c.ssrc, c.to, c.step)
		t.Logf("%s sent: CDR %+v; by hand %d packets, %d lost, jitter %v", c.name, c.got, packets, lost, jitter)
		if c.got.Packets != packets || c.got.Bytes != packets*172 || c.got.Lost != lost || c.got.PayloadTypes != "0" {
			t.Errorf("%s's stream in the CDR: %+v, want %d packets of 172 bytes, %d lost, payload type 0", c.name, c.got, packets, lost)
		}
		if d := time.Duration(c.got.JitterUs)*time.Microsecond - jitter; d < -2*time.Millisecond || d > 2*time.Millisecond {
			t.Errorf("%s's jitter in the CDR: %d µs, by hand %v", c.name, c.got.JitterUs, jitter)
		}
	}
	if r.CarrierRTP.ReportedLost != 7 || r.CarrierRTP.ReportedJitterUs != 20000 || r.CustomerRTP.ReportedLost != 0 {
		t.Errorf("RTCP reports in the CDR: carrier reported lost %d, jitter %d µs (sent 7 and 160 units at 8 kHz); customer reported lost %d (sent none)",
			r.CarrierRTP.ReportedLost, r.CarrierRTP.ReportedJitterUs, r.CustomerRTP.ReportedLost)
	}
	if r.CustomerRTP.Lost != 10 {
		t.Errorf("customer's stream lost %d, want the 10 numbers it skipped", r.CustomerRTP.Lost)
	}
	if r.CustomerRTP.JitterUs < 7000 || r.CarrierRTP.JitterUs > 3000 {
		t.Errorf("jitter: customer %d µs (sent 10 ms off its timestamps), carrier %d µs (sent on time)", r.CustomerRTP.JitterUs, r.CarrierRTP.JitterUs)
	}
	if !(r.CarrierRTP.MOS > r.CustomerRTP.MOS && r.CustomerRTP.MOS >= 1 && r.CarrierRTP.MOS <= 4.5) {
		t.Errorf("MOS: customer %v (lossy), carrier %v (clean)", r.CustomerRTP.MOS, r.CarrierRTP.MOS)
	}
	waitMetric(t, b.sw.api.base, "trunkline_media_port_pairs", 0)
	if d := metricValue(t, b.sw.api.base, `trunkline_media_packets_total{result="dropped"}`); d < 40 {
		t.Errorf("media packets dropped: %v, want the stranger's 40 at least", d)
	}
}

// waitMetric waits up to 3 s for a series of /metrics to read want.
func waitMetric(t *testing.T, base, series string, want float64) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := metricValue(t, base, series)
		if got == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s = %v, want %v", series, got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// hangUp ends a call from the customer: its BYE reaches the carrier and
// is answered.
func hangUp(t *testing.T, b *borderSetup, callID, r200 string, cseq int) {
	t.Helper()
	b.customer.send(b.swAddr, b.inDialog("BYE", callID, "z9hG4bKbye"+callID, cseq, r200, ""))
	if _, ok := b.carrier.next("BYE", 3*time.Second); !ok {
		t.Fatal("no BYE at the carrier")
	}
	if _, ok := b.customer.next("SIP/2.0 200", 3*time.Second); !ok {
		t.Fatal("no 200 to the BYE")
	}
}

// A relayed call whose media stops is ended by the switch after the media
// timeout: a BYE to each side, the CDR's reason Media Timeout; a call on
// hold (sendonly) lasts until the longer hold timeout.
func TestMediaTimeoutEndsCall(t *testing.T) {
	t.Parallel()
	carrierRTP := newRTPPeer(t, "127.0.0.1")
	b := newBorderWith(t, "media:\n  port_min: 30200\n  port_max: 30299\n  timeout: 1s\n  hold_timeout: 3s\n", mediaCarrier(carrierRTP))
	customerRTP := newRTPPeer(t, "127.0.0.2")
	for _, c := range []struct {
		direction string
		least     time.Duration // the call lasts at least this long after its media stopped
	}{{"sendrecv", time.Second}, {"sendonly", 3 * time.Second}} {
		callID := "media-timeout-" + c.direction
		_, toA, toB := relayedCall(t, b, callID, natSDP(customerRTP.port(), c.direction))
		customerRTP.stream(toA, 0x51, 5, nil, 10*time.Millisecond, 80)
		carrierRTP.stream(toB, 0x52, 5, nil, 10*time.Millisecond, 80)
		stopped := time.Now()
		if _, ok := b.carrier.next("BYE", c.least+3*time.Second); !ok {
			t.Fatalf("%s: no BYE at the carrier", c.direction)
		}
		if waited := time.Since(stopped); waited < c.least-100*time.Millisecond {
			t.Errorf("%s: ended %v after the media stopped, before its timeout %v", c.direction, waited, c.least)
		}
		if _, ok := b.customer.next("BYE", 3*time.Second); !ok {
			t.Fatalf("%s: no BYE at the customer", c.direction)
		}
		recs := b.sw.api.cdrs(callID, 1)
		if len(recs) != 1 || recs[0].Reason != "Media Timeout" || recs[0].HangupSide != "switch" || recs[0].AnswerMs == 0 {
			t.Fatalf("%s: CDRs %+v: want one answered, ended by the switch for Media Timeout", c.direction, recs)
		}
		if p := recs[0].CustomerRTP.Packets + recs[0].CarrierRTP.Packets; p == 0 {
			t.Errorf("%s: no packets in the CDR", c.direction)
		}
	}
	waitMetric(t, b.sw.api.base, "trunkline_media_port_pairs", 0)
	waitMetric(t, b.sw.api.base, "trunkline_media_timeouts_total", 2)
}

// Which calls are relayed: a customer's setting (auto: when behind NAT)
// unless its carrier's says otherwise.
func TestMediaRelayModes(t *testing.T) {
	t.Parallel()
	carrierRTP := newRTPPeer(t, "127.0.0.1")
	b := newBorderWith(t, "media:\n  port_min: 30300\n  port_max: 30399\n", mediaCarrier(carrierRTP))
	carriers := struct {
		Carriers []struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"carriers"`
	}{}
	b.sw.api.do("GET", "/api/v1/carriers", nil, http.StatusOK, &carriers)
	publicSDP := "v=0\r\no=- 1 1 IN IP4 127.0.0.2\r\ns=-\r\nc=IN IP4 127.0.0.2\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
	for i, c := range []struct {
		customer, carrier string
		sdp               string
		relayed           bool
	}{
		{"", "", publicSDP, false},
		{"auto", "", natSDP(40000, "sendrecv"), true},
		{"never", "", natSDP(40000, "sendrecv"), false},
		{"always", "", publicSDP, true},
		{"", "always", publicSDP, true},
		{"always", "never", natSDP(40000, "sendrecv"), false},
	} {
		b.sw.api.do("PUT", "/api/v1/customers/"+b.customerID, map[string]any{"name": "Acme Telecom", "currency": "USD", "media_relay": c.customer}, http.StatusOK, nil)
		for _, k := range carriers.Carriers {
			b.sw.api.do("PUT", "/api/v1/carriers/"+k.ID, map[string]any{"name": k.Name, "currency": "USD", "media_relay": c.carrier}, http.StatusOK, nil)
		}
		callID := fmt.Sprintf("media-mode-%d", i)
		r200, _, toB := relayedCall(t, b, callID, c.sdp)
		if relayed := toB.Port != 40000; relayed != c.relayed {
			t.Errorf("customer %q, carrier %q, SDP %v: the carrier was sent %v (relayed %v, want %v)", c.customer, c.carrier, sdpMedia(t, "\r\n\r\n"+c.sdp), toB, relayed, c.relayed)
		}
		if toA := sdpMedia(t, r200); (toA.Port != carrierRTP.port()) != c.relayed {
			t.Errorf("customer %q, carrier %q: the customer was sent %v", c.customer, c.carrier, toA)
		}
		hangUp(t, b, callID, r200, 2)
		if recs := b.sw.api.cdrs(callID, 1); len(recs) != 1 || recs[0].MediaRelayed != c.relayed {
			t.Errorf("customer %q, carrier %q: CDRs %+v, want media_relayed %v", c.customer, c.carrier, recs, c.relayed)
		}
	}
	b.sw.api.do("PUT", "/api/v1/customers/"+b.customerID, map[string]any{"name": "Acme Telecom", "currency": "USD", "media_relay": "sometimes"}, http.StatusBadRequest, nil)
	waitMetric(t, b.sw.api.base, "trunkline_media_port_pairs", 0)
}

// The relay's ports come back on every end, a crash included: with a range
// of four pairs (two calls), a third relayed call is refused with 503; the
// switch SIGKILLed with both up and restarted ends them (BYE on each leg)
// and relays two calls again on the same range.
func TestMediaPortsAfterSIGKILL(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cfg := procConfig(t, dir, "media:\n  port_min: 30400\n  port_max: 30407\n")
	bin := testBinary(t)
	p := startProc(t, bin, cfg)
	sw := &testSwitch{api: &apiClient{t: t, base: "http://" + p.admin, token: p.token}}
	carrier := siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	idle := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, sw, carrier, idle)
	sw.api.do("PUT", "/api/v1/customers/"+customerID, map[string]any{"name": "Acme Telecom", "currency": "USD", "media_relay": "always"}, http.StatusOK, nil)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	calls, ids := holdCalls(t, ctx, customer, carrier, p.sip, 2)
	for _, inv := range carrier.Invites() {
		if !strings.Contains(string(inv.Body()), "m=audio 304") {
			t.Fatalf("call not relayed: the carrier was offered\n%s", inv.Body())
		}
	}
	if _, err := customer.Dial(ctx, p.sip, numAnswer); siptest.Status(err) != 503 {
		t.Fatalf("a third relayed call with the range used up: %v, want 503", err)
	}
	time.Sleep(1500 * time.Millisecond) // a heartbeat of the live-call register past the answers
	p.kill(t)

	p2 := startProc(t, bin, cfg)
	for i, id := range ids {
		if err := carrier.WaitBye(ctx, id); err != nil {
			t.Fatalf("carrier leg %d got no BYE after the restart: %v", i, err)
		}
		if err := calls[i].WaitBye(ctx); err != nil {
			t.Fatalf("customer leg %d got no BYE after the restart: %v", i, err)
		}
	}
	for i := range 2 {
		c, err := customer.Dial(ctx, p2.sip, numAnswer)
		if err != nil {
			t.Fatalf("relayed call %d after the restart: %v", i, err)
		}
		defer c.Hangup(ctx)
	}
	invs := carrier.Invites()
	for _, inv := range invs[len(invs)-2:] {
		if !strings.Contains(string(inv.Body()), "m=audio 304") {
			t.Fatalf("call not relayed after the restart: the carrier was offered\n%s", inv.Body())
		}
	}
}

// inDialogSDP is a request from the customer in the dialog its 2xx r200
// set up, carrying an SDP body.
func (b *borderSetup) inDialogSDP(method, callID, branch string, cseq int, r200, sdp string) string {
	return method + " sip:x@" + b.swAddr.String() + " SIP/2.0\r\n" +
		"Via: SIP/2.0/UDP " + b.customer.addr() + ";branch=" + branch + "\r\n" +
		"From: \"Alice\" <sip:+15550001111@127.0.0.2>;tag=cust-tag-1\r\n" + hdrOf(r200, "To") +
		"Call-ID: " + callID + "\r\nCSeq: " + strconv.Itoa(cseq) + " " + method + "\r\nMax-Forwards: 70\r\n" +
		"Contact: <sip:alice@" + b.customer.addr() + ">\r\nContent-Type: application/sdp\r\n" +
		"Content-Length: " + strconv.Itoa(len(sdp)) + "\r\n\r\n" + sdp
}

// A customer that moves its media with a re-INVITE is relayed at its new
// port (the carrier's SDP names the same relay port, the old port gets
// nothing more); an INVITE without SDP (late offer: the carrier's 200
// offers, the customer's ACK answers) is relayed both ways too.
func TestMediaReinviteAndLateOffer(t *testing.T) {
	t.Parallel()
	carrierRTP := newRTPPeer(t, "127.0.0.1")
	b := newBorderWith(t, "media:\n  port_min: 30500\n  port_max: 30599\n", mediaCarrier(carrierRTP))
	oldRTP, newRTP := newRTPPeer(t, "127.0.0.2"), newRTPPeer(t, "127.0.0.2")

	const callID = "media-reinvite"
	r200, toA, toB := relayedCall(t, b, callID, natSDP(oldRTP.port(), "sendrecv"))
	oldRTP.stream(toA, 0x61, 5, nil, 5*time.Millisecond, 40)
	carrierRTP.stream(toB, 0x62, 5, nil, 5*time.Millisecond, 40)
	time.Sleep(50 * time.Millisecond)
	if len(oldRTP.received(0x62)) == 0 {
		t.Fatal("the customer got none of the carrier's packets before moving")
	}
	moved := strings.Replace(natSDP(newRTP.port(), "sendrecv"), "o=alice 1 1", "o=alice 1 2", 1)
	b.customer.send(b.swAddr, b.inDialogSDP("INVITE", callID, "z9hG4bKre"+callID, 2, r200, moved))
	re, ok := b.carrier.next("INVITE", 3*time.Second)
	if !ok {
		t.Fatal("no re-INVITE at the carrier")
	}
	if got := sdpMedia(t, re); got.String() != toB.String() || strings.Contains(re, "10.0.0.7") || strings.Contains(re, strconv.Itoa(newRTP.port())) {
		t.Fatalf("the carrier's re-INVITE names %v (the relay's port is %v):\n%s", got, toB, re)
	}
	re200, ok := b.customer.next("SIP/2.0 200", 3*time.Second)
	if !ok || !strings.Contains(re200, "CSeq: 2 INVITE") {
		t.Fatalf("no 200 to the re-INVITE: %q", re200)
	}
	if got := sdpMedia(t, re200); got.String() != toA.String() {
		t.Fatalf("the customer's 200 names %v, not the relay's %v", got, toA)
	}
	b.customer.send(b.swAddr, b.inDialog("ACK", callID, "z9hG4bKreack"+callID, 2, r200, ""))
	newRTP.stream(toA, 0x63, 10, nil, 5*time.Millisecond, 40)
	carrierRTP.stream(toB, 0x64, 10, nil, 5*time.Millisecond, 40)
	time.Sleep(50 * time.Millisecond)
	if n, old := len(newRTP.received(0x64)), len(oldRTP.received(0x64)); n < 5 || old != 0 {
		t.Errorf("after the move the carrier's packets reached the new port %d times and the old %d times", n, old)
	}
	if n := len(carrierRTP.received(0x63)); n < 5 {
		t.Errorf("the carrier got %d of the moved customer's 10 packets", n)
	}
	hangUp(t, b, callID, r200, 3)

	// Late offer: the customer behind NAT (its Contact names 10.0.0.7)
	// sends no SDP.
	const late = "media-late-offer"
	inv := b.customerInvite(late, "z9hG4bK"+late, numAnswer, "")
	inv, _, _ = strings.Cut(inv, "Content-Type:")
	inv = strings.Replace(inv, "Contact: <sip:alice@"+b.customer.addr()+">", "Contact: <sip:alice@10.0.0.7:5060>", 1) + "Content-Length: 0\r\n\r\n"
	b.customer.send(b.swAddr, inv)
	cinv, ok := b.carrier.next("INVITE", 3*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	if _, body, _ := strings.Cut(cinv, "\r\n\r\n"); body != "" {
		t.Fatalf("a late offer reached the carrier with a body: %q", body)
	}
	lr200, ok := b.customer.next("SIP/2.0 200", 3*time.Second)
	if !ok {
		t.Fatal("no 200 at the customer")
	}
	lateA := sdpMedia(t, lr200)
	if lateA.Port < 30500 || lateA.Port > 30599 {
		t.Fatalf("the carrier's offer reached the customer naming %v, not the relay", lateA)
	}
	b.customer.send(b.swAddr, b.inDialogSDP("ACK", late, "z9hG4bKack"+late, 1, lr200, natSDP(newRTP.port(), "sendrecv")))
	ack, ok := b.carrier.next("ACK", 3*time.Second)
	if !ok {
		t.Fatal("no ACK at the carrier")
	}
	lateB := sdpMedia(t, ack)
	if lateB.Port < 30500 || lateB.Port > 30599 || lateB.Port == lateA.Port || strings.Contains(ack, "10.0.0.7") {
		t.Fatalf("the customer's answer reached the carrier naming %v:\n%s", lateB, ack)
	}
	newRTP.stream(lateA, 0x71, 10, nil, 5*time.Millisecond, 40)
	carrierRTP.stream(lateB, 0x72, 10, nil, 5*time.Millisecond, 40)
	time.Sleep(50 * time.Millisecond)
	if a, c := len(carrierRTP.received(0x71)), len(newRTP.received(0x72)); a < 5 || c < 5 {
		t.Errorf("late offer: the carrier got %d of 10, the customer %d of 10", a, c)
	}
	hangUp(t, b, late, lr200, 2)
	waitMetric(t, b.sw.api.base, "trunkline_media_port_pairs", 0)
}
