package load

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// FuzzScan checks the scanner on any input: it never panics; what it takes
// has a consistent start line; a response written from a scanned request
// scans back to the same identifiers; and where sipgo's parser also takes
// the message, both read the same status, Call-ID and CSeq. Seeds: sipp's
// messages in testdata/sipp and, where the shared corpus is checked out
// beside the repository, the RFC 4475 torture messages.
func FuzzScan(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/sipp/*.sip")
	torture, _ := filepath.Glob("../../../shared/testdata/rfc4475/*.dat")
	for _, p := range append(seeds, torture...) {
		if b, err := os.ReadFile(p); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("SIP/2.0 180 Ringing\nv: SIP/2.0/UDP a;branch=z9hG4bKx\nf: <sip:a@b>;tag=1\nt: <sip:b@c>;tag=2\ni: x\nCSeq: 1 INVITE\nl: 0\n\n"))
	f.Add([]byte("BYE sip:b@c SIP/2.0\r\nVia: SIP/2.0/UDP a;branch=z9hG4bKy\r\nRecord-Route: <sip:p;lr>, <sip:q;lr>\r\nFrom: a;tag=1\r\nTo: b\r\nCall-ID: y\r\nCSeq: 2 BYE\r\n\r\n"))
	parser := gosip.NewParser()
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Msg
		if err := Scan(data, &m); err != nil {
			return
		}
		if m.IsRequest() == (m.Code != 0) || (!m.IsRequest() && (m.Code < 100 || m.Code > 699)) {
			t.Fatalf("method %q with code %d", m.Method, m.Code)
		}
		if len(m.Vias()) == 0 || len(m.CallID) == 0 || len(m.CSeqMethod) == 0 {
			t.Fatalf("taken without Via, Call-ID or CSeq method: %+v", m)
		}

		resp := appendEmpty(appendResponseHead(nil, "200 OK", &m, true, []byte("t1")))
		var r Msg
		if err := Scan(resp, &r); err != nil {
			t.Fatalf("a response written from a scanned message does not scan: %v\n%q\nfrom %q", err, resp, data)
		}
		if !bytes.Equal(r.CallID, m.CallID) || !bytes.Equal(r.CSeqValue, m.CSeqValue) || !bytes.Equal(r.From, m.From) ||
			!bytes.Equal(r.Branch, m.Branch) || len(r.Vias()) != len(m.Vias()) || len(r.RecordRoutes()) != len(m.RecordRoutes()) {
			t.Fatalf("response identifiers differ:\n%+v\n%+v", r, m)
		}
		if m.ToTag == nil && string(r.ToTag) != "t1" || m.ToTag != nil && !bytes.Equal(r.ToTag, m.ToTag) {
			t.Fatalf("response To tag %q, request's %q", r.ToTag, m.ToTag)
		}
		_ = newDialog(m.RecordRoutes(), uriOf(m.Contact), m.ToTag)

		msg, err := parser.ParseSIP(data)
		if err != nil {
			return
		}
		if res, ok := msg.(*gosip.Response); ok && res.StatusCode != m.Code {
			t.Fatalf("status %d, sipgo %d", m.Code, res.StatusCode)
		}
		if id := msg.CallID(); id != nil && id.Value() != string(m.CallID) {
			t.Fatalf("Call-ID %q, sipgo %q", m.CallID, id.Value())
		}
		if cs := msg.CSeq(); cs != nil && (cs.SeqNo != m.CSeq || !strings.EqualFold(strings.TrimSpace(string(cs.MethodName)), string(m.CSeqMethod))) {
			t.Fatalf("CSeq %d %q, sipgo %s", m.CSeq, m.CSeqMethod, strconv.Quote(cs.Value()))
		}
	})
}
