package sip

import (
	"bytes"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/border"
)

const ok200 = "SIP/2.0 200 OK\r\n" +
	"Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bKsw.1\r\n" +
	"Via: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bKcust;received=10.0.0.2;rport=5060\r\n" +
	"Record-Route: <sip:10.0.0.1:5060;lr>\r\n" +
	"From: <sip:a@b>;tag=1\r\n" +
	"To: <sip:123@c>;tag=2\r\n" +
	"Call-ID: c1\r\n" +
	"CSeq: 1 INVITE\r\n" +
	"Contact: <sip:123@10.0.0.3:5070>\r\n" +
	"Content-Length: 4\r\n\r\nv=0\n"

func TestScanResponse(t *testing.T) {
	tests := []struct {
		name, in string
		ok       bool
		branch   string
		method   gosip.RequestMethod
	}{
		{"two Via lines", ok200, true, "z9hG4bKsw.1", gosip.INVITE},
		{"two Vias on one line, compact", strings.Replace(strings.Replace(ok200, "z9hG4bKsw.1\r\nVia: ", "z9hG4bKsw.1 , ", 1), "Via:", "v:", 1), true, "z9hG4bKsw.1", gosip.INVITE},
		{"lower-case CSeq method", strings.Replace(ok200, "1 INVITE", "1 invite", 1), true, "z9hG4bKsw.1", gosip.INVITE},
		{"folded header", strings.Replace(ok200, "Call-ID: c1\r\n", "Call-ID:\r\n c1\r\n", 1), false, "", ""},
		{"quoted Via parameter", strings.Replace(ok200, ";branch=z9hG4bKsw.1", ";x=\"a,b\";branch=z9hG4bKsw.1", 1), false, "", ""},
		{"no CSeq", strings.Replace(ok200, "CSeq: 1 INVITE\r\n", "", 1), false, "", ""},
		{"a request", "INVITE sip:a@b SIP/2.0\r\n\r\n", false, "", ""},
		{"body shorter than Content-Length", strings.Replace(ok200, "Content-Length: 4", "Content-Length: 400", 1), false, "", ""},
		{"no Content-Length", strings.Replace(ok200, "Content-Length: 4\r\n", "", 1), false, "", ""},
		{"bare CR hiding a header", strings.Replace(ok200, "Call-ID: c1\r\n", "Call-ID: c1\rVia: SIP/2.0/UDP evil;branch=z9hG4bKe\r\n", 1), false, "", ""},
		{"bare CR in the status line", strings.Replace(ok200, "200 OK\r\n", "200 OK\rX: y\r\n", 1), false, "", ""},
		{"CSeq beyond 32 bits", strings.Replace(ok200, "CSeq: 1 INVITE", "CSeq: 9999999999 INVITE", 1), false, "", ""},
		{"signed Content-Length", strings.Replace(ok200, "Content-Length: 4", "Content-Length: +4", 1), false, "", ""},
		{"two branches", strings.Replace(ok200, ";branch=z9hG4bKsw.1", ";branch=z9hG4bKsw.1;branch=z9hG4bKother", 1), false, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, ok := scanResponse([]byte(tt.in))
			if ok != tt.ok {
				t.Fatalf("ok = %v", ok)
			}
			if !ok {
				return
			}
			if r.code != 200 || r.reason != "OK" || r.branch != tt.branch || r.method != tt.method || r.to != "<sip:123@c>;tag=2" {
				t.Fatalf("got %+v", r)
			}
			if u, ok := r.contactURI(); !ok || uriHop(u) != (hop{addr: "10.0.0.3:5070", transport: "UDP"}) {
				t.Fatalf("contact %v %v", u, ok)
			}
			if len(r.rr) != 1 || r.rr[0] != "<sip:10.0.0.1:5060;lr>" {
				t.Fatalf("Record-Route %q", r.rr)
			}
			if string(r.body()) != "v=0\n" || len(r.fields()) != 0 {
				t.Fatalf("body %q, other headers %q", r.body(), r.fields())
			}
		})
	}
}

// FuzzScanResponse checks the scanner against sipgo's parser: whatever both
// read must agree on status, top branch, CSeq method, the headers that may
// cross and the body.
func FuzzScanResponse(f *testing.F) {
	f.Add([]byte(ok200))
	f.Add([]byte(strings.Replace(ok200, "z9hG4bKsw.1\r\nVia: ", "z9hG4bKsw.1,", 1)))
	f.Add([]byte("SIP/2.0 180 Ringing\r\nv: SIP/2.0/TCP h;branch=z9hG4bK1\r\nt: <sip:x@y>\r\nCSeq: 2 BYE\r\nl: 0\r\n\r\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		r, ok := scanResponse(in)
		if !ok {
			return
		}
		m, err := gosip.NewParser().ParseSIP(in)
		if err != nil {
			return // the next hop's parser judges what sipgo cannot read
		}
		res, isRes := m.(*gosip.Response)
		if !isRes {
			t.Fatalf("scanned a request as a response")
		}
		via, cseq := res.Via(), res.CSeq()
		if via == nil || cseq == nil {
			return
		}
		branch, _ := via.Params.Get("branch")
		branch = strings.TrimSpace(branch) // sipgo keeps blanks before a line's end
		if res.StatusCode != r.code || branch != r.branch ||
			strings.ToUpper(string(cseq.MethodName)) != string(r.method) {
			t.Fatalf("scanner %d %q %q, sipgo %d %q %q", r.code, r.branch, r.method, res.StatusCode, branch, cseq.MethodName)
		}
		// The route set a 2xx sets up, the body and the headers that may
		// cross read the same either way.
		if full, ok := fromMessage(res); ok {
			if !bytes.Equal(r.body(), full.body()) {
				t.Fatalf("body scanned %q, parsed %q", r.body(), full.body())
			}
			p := border.Default()
			l1, _, _ := crossingResponse(r, border.ToCustomer, p)
			l2, _, _ := crossingResponse(full, border.ToCustomer, p)
			if strings.Join(l1, "|") != strings.Join(l2, "|") {
				t.Fatalf("crossing headers scanned %q, parsed %q", l1, l2)
			}
			sw := &Server{advertise: "10.0.0.1", port: 5060}
			if got, want := uriStrings(sw.downstreamRoutes(r.rr)), uriStrings(sw.downstreamRoutes(full.rr)); got != want {
				t.Fatalf("Record-Route scanned %q, parsed %q", got, want)
			}
		}
	})
}

func uriStrings(us []gosip.Uri) string {
	var b strings.Builder
	for _, u := range us {
		b.WriteString(u.String() + " ")
	}
	return b.String()
}
