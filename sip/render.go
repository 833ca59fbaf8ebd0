package sip

import (
	"bytes"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// The switch writes every message it sends on a leg itself, from that leg's
// identifiers: nothing of the other leg reaches it but the header lines and
// the body the border lets cross (see package border).

// legRequest renders a request the switch sends on leg sd: its Request-URI
// and Route from the leg's route set and target, a Via and Contact of the
// switch, the leg's From, To and Call-ID, CSeq cseq, then the header lines
// and the body. It returns the bytes, the Via branch and the next hop.
func (s *Server) legRequest(sd *side, method gosip.RequestMethod, cseq uint32, maxFwd int, headers []string, body []byte) ([]byte, string, hop) {
	ruri, routes, next := sd.routes.request(sd.target, sd.next)
	if sd.pinned {
		next = sd.next
	}
	branch := s.branches.next()
	buf := getBuf()
	defer putBuf(buf)
	writeStart(buf, method, &ruri, s.viaLine(next.transport, branch))
	for _, r := range routes {
		buf.WriteString("Route: " + r + "\r\n")
	}
	buf.WriteString("Max-Forwards: ")
	buf.WriteString(strconv.Itoa(maxFwd))
	buf.WriteString("\r\nFrom: ")
	buf.WriteString(sd.local)
	buf.WriteString("\r\nTo: ")
	buf.WriteString(sd.remote)
	buf.WriteString("\r\nCall-ID: ")
	buf.WriteString(sd.callID)
	buf.WriteString("\r\nCSeq: ")
	buf.WriteString(strconv.FormatUint(uint64(cseq), 10))
	buf.WriteByte(' ')
	buf.WriteString(string(method))
	buf.WriteString("\r\n")
	if targetRefresh(method) {
		buf.WriteString(s.contactLine(next.transport))
	}
	writeTail(buf, headers, body)
	return append([]byte(nil), buf.Bytes()...), branch, next
}

// targetRefresh reports the methods whose requests and 2xx answers carry a
// Contact (RFC 3261 §12.2, RFC 3311, RFC 3515).
func targetRefresh(m gosip.RequestMethod) bool {
	return m == gosip.INVITE || m == gosip.UPDATE || m == gosip.SUBSCRIBE || m == gosip.NOTIFY || m == gosip.REFER
}

// writeTail writes header lines, Content-Length and the body.
func writeTail(buf *bytes.Buffer, headers []string, body []byte) {
	for _, h := range headers {
		buf.WriteString(h)
		buf.WriteString("\r\n")
	}
	buf.WriteString("Content-Length: ")
	buf.WriteString(strconv.Itoa(len(body)))
	buf.WriteString("\r\n\r\n")
	buf.Write(body)
}

// contactLine is the switch's Contact on a leg over transport.
func (s *Server) contactLine(transport string) string {
	if transport == transportTCP {
		return "Contact: <sip:" + s.hostport + ";transport=tcp>\r\n"
	}
	return "Contact: <sip:" + s.hostport + ">\r\n"
}

// responseHead renders what a response to req repeats of it (RFC 3261
// §8.2.6.2): its Via lines, From, To (with toTag added when it has none),
// Call-ID and CSeq, each line ending in CRLF.
func responseHead(req *gosip.Request, toTag string) []byte {
	buf := getBuf()
	defer putBuf(buf)
	for _, h := range req.Headers() {
		switch h := h.(type) {
		case *gosip.ViaHeader, *gosip.FromHeader, *gosip.CallIDHeader, *gosip.CSeqHeader:
			h.StringWrite(buf)
			buf.WriteString("\r\n")
		case *gosip.ToHeader:
			h.StringWrite(buf)
			if _, ok := h.Params.Get("tag"); !ok && toTag != "" {
				buf.WriteString(";tag=")
				buf.WriteString(toTag)
			}
			buf.WriteString("\r\n")
		}
	}
	return append([]byte(nil), buf.Bytes()...)
}

// recordRoutes renders the Record-Route lines of req, which a 1xx or 2xx
// answer that sets up a dialog repeats (RFC 3261 §12.1.1): the customer's
// own proxies, so that its requests come back through them.
func recordRoutes(req *gosip.Request) []byte {
	buf := getBuf()
	defer putBuf(buf)
	for _, h := range req.GetHeaders("Record-Route") {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	if buf.Len() == 0 {
		return nil
	}
	return append([]byte(nil), buf.Bytes()...)
}

// renderResponse writes a response: status line, head (see responseHead),
// contact (a whole line, or ""), header lines and body.
func renderResponse(buf *bytes.Buffer, code int, reason string, head []byte, contact string, headers []string, body []byte) {
	buf.WriteString("SIP/2.0 ")
	buf.WriteString(strconv.Itoa(code))
	buf.WriteByte(' ')
	buf.WriteString(reason)
	buf.WriteString("\r\n")
	buf.Write(head)
	buf.WriteString(contact)
	writeTail(buf, headers, body)
}

// derive renders the CANCEL of an INVITE the switch sent (inv, as sent), or
// the ACK of a non-2xx answer to it (RFC 3261 §9.1, §17.1.1.3): the same
// Request-URI, Via, Route, From, Call-ID and CSeq number; To from the answer
// for an ACK (to, a To value; "" keeps the INVITE's).
func derive(inv []byte, method gosip.RequestMethod, to string) []byte {
	head, _, _ := bytes.Cut(inv, []byte("\r\n\r\n"))
	lines := strings.Split(string(head), "\r\n")
	var b strings.Builder
	_, rest, _ := strings.Cut(lines[0], " ")
	b.WriteString(string(method) + " " + rest + "\r\n")
	for _, l := range lines[1:] {
		name, value, _ := strings.Cut(l, ": ")
		switch name {
		case "Via", "Route", "From", "Call-ID":
			b.WriteString(l + "\r\n")
		case "To":
			if to != "" {
				l = "To: " + to
			}
			b.WriteString(l + "\r\n")
		case "CSeq":
			num, _, _ := strings.Cut(value, " ")
			b.WriteString("CSeq: " + num + " " + string(method) + "\r\n")
		}
	}
	b.WriteString("Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	return []byte(b.String())
}
