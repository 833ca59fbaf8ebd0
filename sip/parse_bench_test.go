package sip

import (
	"bytes"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip/border"
)

// benchInvite is a typical customer INVITE as sipp sends it, with SDP.
var benchInvite = []byte("INVITE sip:442071234567@192.0.2.10:5060 SIP/2.0\r\n" +
	"Via: SIP/2.0/UDP 198.51.100.7:5070;branch=z9hG4bK-13979-208-0\r\n" +
	"From: sipp <sip:sipp@198.51.100.7:5070>;tag=13979SIPpTag00208\r\n" +
	"To: <sip:442071234567@192.0.2.10:5060>\r\n" +
	"Call-ID: 208-13979@198.51.100.7\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: sip:sipp@198.51.100.7:5070\r\n" +
	"Max-Forwards: 70\r\n" +
	"Subject: Performance Test\r\n" +
	"Content-Type: application/sdp\r\n" +
	"Content-Length: 129\r\n" +
	"\r\n" +
	"v=0\r\n" +
	"o=user1 53655765 2353687637 IN IP4 198.51.100.7\r\n" +
	"s=-\r\n" +
	"c=IN IP4 198.51.100.7\r\n" +
	"t=0 0\r\n" +
	"m=audio 6000 RTP/AVP 0\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n")

// BenchmarkParseInvite measures sipgo's parser on a typical INVITE, the
// first step of every call.
func BenchmarkParseInvite(b *testing.B) {
	p := gosip.NewParser()
	b.ReportAllocs()
	b.SetBytes(int64(len(benchInvite)))
	for b.Loop() {
		if _, err := p.ParseSIP(benchInvite); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCarrierInvite measures building the INVITE the switch sends to
// a carrier from the customer's parsed INVITE: the checks of what crosses,
// the caller identity and the new leg's own identifiers.
func BenchmarkCarrierInvite(b *testing.B) {
	m, err := gosip.NewParser().ParseSIP(benchInvite)
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*gosip.Request)
	s := &Server{policy: border.Default(), branches: newBranches(), advertise: "192.0.2.10", hostport: "192.0.2.10:5060"}
	c := &call{id: "x", plan: &routing.Plan{Number: "442071234567"}}
	b.ReportAllocs()
	for b.Loop() {
		if r := s.prepareOutbound(c, req); r != nil {
			b.Fatal(r.reason)
		}
		sd := side{callID: c.id, localTag: "t", local: c.out.from + ";tag=t", remote: "<sip:442071234567@203.0.113.5>",
			target: gosip.Uri{Scheme: "sip", User: "442071234567", Host: "203.0.113.5", Port: 5060}, next: hop{"203.0.113.5:5060", transportUDP}}
		_, _, _ = s.legRequest(&sd, gosip.INVITE, 1, c.out.maxFwd, c.out.headers, c.out.body)
	}
}

// BenchmarkScanResponse measures reading a carrier's 200 and writing the
// customer leg's own answer from it, the path of every response.
func BenchmarkScanResponse(b *testing.B) {
	var buf bytes.Buffer
	head := []byte("Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bKx;received=198.51.100.7\r\nFrom: <sip:a@198.51.100.7>;tag=1\r\nTo: <sip:b@192.0.2.10>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n")
	p := border.Default()
	b.ReportAllocs()
	b.SetBytes(int64(len(ok200)))
	for b.Loop() {
		r, ok := scanResponse([]byte(ok200))
		if !ok {
			b.Fatal("not scanned")
		}
		lines, body, _ := crossingResponse(r, border.ToCustomer, p)
		buf.Reset()
		renderResponse(&buf, r.code, r.reason, head, "Contact: <sip:192.0.2.10:5060>\r\n", lines, body)
	}
}

// BenchmarkCloneInvite measures copying a parsed INVITE, as the proxy does
// for each carrier attempt.
func BenchmarkCloneInvite(b *testing.B) {
	m, err := gosip.NewParser().ParseSIP(benchInvite)
	if err != nil {
		b.Fatal(err)
	}
	req := m.(*gosip.Request)
	b.ReportAllocs()
	for b.Loop() {
		_ = req.Clone()
	}
}

// BenchmarkRenderInvite measures serialising an INVITE for the wire.
func BenchmarkRenderInvite(b *testing.B) {
	m, err := gosip.NewParser().ParseSIP(benchInvite)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		_ = m.String()
	}
}
