package sip

import (
	"bytes"
	"strconv"
	"sync/atomic"

	gosip "github.com/emiago/sipgo/sip"
)

// writeMessage renders msg as it goes on the wire (sipgo's StringWrite
// copies the body into a string first).
func writeMessage(buf *bytes.Buffer, msg gosip.Message) {
	var hdrs []gosip.Header
	switch m := msg.(type) {
	case *gosip.Request:
		m.StartLineWrite(buf)
		hdrs = m.Headers()
	case *gosip.Response:
		m.StartLineWrite(buf)
		hdrs = m.Headers()
	}
	buf.WriteString("\r\n")
	for _, h := range hdrs {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
	buf.Write(msg.Body())
}

// forward is how the switch rewrites a request it relays: a new
// Request-URI (nil keeps the request's), its own Via and Record-Route on
// top, its own Route entries at the top removed, Max-Forwards one less.
type forward struct {
	ruri   *gosip.Uri
	via    string   // the whole Via line, CRLF included
	rr     []string // Record-Route lines, CRLF included
	popped int      // Route headers at the top to leave out
}

func (f *forward) write(buf *bytes.Buffer, req *gosip.Request) {
	f.start(buf, req.Method, req)
	for _, r := range f.rr {
		buf.WriteString(r)
	}
	skip, maxFwd := f.popped, false
	for _, h := range req.Headers() {
		switch h := h.(type) {
		case *gosip.RouteHeader:
			if skip > 0 {
				skip--
				continue
			}
		case *gosip.ContentLengthHeader:
			continue // written below, from the body
		case *gosip.MaxForwardsHeader:
			if maxFwd {
				continue
			}
			maxFwd = true
			n := int(*h) - 1
			buf.WriteString("Max-Forwards: ")
			buf.WriteString(strconv.Itoa(max(n, 0)))
			buf.WriteString("\r\n")
			continue
		}
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if !maxFwd {
		buf.WriteString("Max-Forwards: 70\r\n")
	}
	buf.WriteString("Content-Length: ")
	buf.WriteString(strconv.Itoa(len(req.Body())))
	buf.WriteString("\r\n\r\n")
	buf.Write(req.Body())
}

// start writes the request line of method for req as forwarded, and the
// switch's Via line.
func (f *forward) start(buf *bytes.Buffer, method gosip.RequestMethod, req *gosip.Request) {
	ruri := f.ruri
	if ruri == nil {
		ruri = &req.Recipient
	}
	writeStart(buf, method, ruri, f.via)
}

// writeStart writes a request line and the switch's Via line.
func writeStart(buf *bytes.Buffer, method gosip.RequestMethod, ruri *gosip.Uri, via string) {
	buf.WriteString(string(method))
	buf.WriteByte(' ')
	ruri.StringWrite(buf)
	buf.WriteString(" SIP/2.0\r\n")
	buf.WriteString(via)
}

// branches makes unique RFC 3261 branch parameters: a random part per
// process and a counter.
type branches struct {
	prefix string
	n      atomic.Uint64
}

func newBranches() *branches {
	return &branches{prefix: "z9hG4bK" + gosip.GenerateTagN(10) + "."}
}

func (b *branches) next() string {
	return b.prefix + strconv.FormatUint(b.n.Add(1), 36)
}

// viaLine is the switch's Via header line for a request sent over
// transport with branch.
func (s *Server) viaLine(transport, branch string) string {
	return "Via: SIP/2.0/" + transport + " " + s.hostport + ";branch=" + branch + "\r\n"
}

// writeCancelOrAck renders the CANCEL of a forwarded INVITE, or the ACK of a
// non-2xx answer to it (RFC 3261 §9.1, §17.1.1.3): the same Request-URI,
// Via, From, Call-ID, CSeq number and Route set; To from the answer for an
// ACK (to, a To header value; "" keeps the INVITE's).
func writeCancelOrAck(buf *bytes.Buffer, method gosip.RequestMethod, inv *gosip.Request, f *forward, to string) {
	f.start(buf, method, inv)
	skip := f.popped
	for _, h := range inv.Headers() {
		switch h := h.(type) {
		case *gosip.RouteHeader:
			if skip > 0 {
				skip--
				continue
			}
		case *gosip.FromHeader, *gosip.CallIDHeader:
		case *gosip.ToHeader:
			if to != "" {
				buf.WriteString("To: ")
				buf.WriteString(to)
				buf.WriteString("\r\n")
				continue
			}
		case *gosip.CSeqHeader:
			buf.WriteString("CSeq: ")
			buf.WriteString(strconv.FormatUint(uint64(h.SeqNo), 10))
			buf.WriteByte(' ')
			buf.WriteString(string(method))
			buf.WriteString("\r\n")
			continue
		default:
			continue
		}
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	buf.WriteString("Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
}
