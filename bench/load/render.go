package load

import (
	"bytes"
	"strconv"
)

// The messages are those of sipp with bench/scenarios/uac.xml and uas.xml,
// byte for byte but for the identifiers: the same headers in the same
// order, the same SDP, Content-Length padded as sipp pads it. The parts
// that do not change from call to call are rendered once; a message is
// appended to the sender's batch buffer from them and the call's own
// numbers and bytes.

// sdp is the body of the INVITE and of the 200 (sipp's, media port 6000).
func sdp(ip string) string {
	return "v=0\r\no=user1 53655765 2353687637 IN IP4 " + ip + "\r\ns=-\r\nc=IN IP4 " + ip +
		"\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n"
}

// sdpHead is the Content-Type and Content-Length lines and the blank line
// before body (length right-aligned in 5 columns, as sipp writes [len]).
func sdpHead(body string) string {
	n := strconv.Itoa(len(body))
	for len(n) < 5 {
		n = " " + n
	}
	return "Content-Type: application/sdp\r\nContent-Length: " + n + "\r\n\r\n"
}

// Branch suffixes: sipp's message index of each request in uac.xml.
const (
	kInvite = "0"
	kAck    = "5"
	kBye    = "7"
)

// uacText holds what the UAC's requests share.
type uacText struct {
	remote     string // target host:port, the host part of the dialled URI
	viaHead    string // "Via: SIP/2.0/UDP local;branch=z9hG4bK-base-"
	fromHead   string // "From: sipp <sip:sipp@local>;tag=baseSIPpTag00"
	cidSuffix  string // "-base@ip": the Call-ID after the call number
	invTail    string // Contact to the end of the INVITE's body
	dlgTail    string // Contact to the end of an ACK or BYE
	answerTail string // Contact to the end of a 200 with SDP (to a re-INVITE)
}

func newUACText(local, ip, remote, base string) *uacText {
	body := sdp(ip)
	contact := "Contact: sip:sipp@" + local + "\r\nMax-Forwards: 70\r\n"
	return &uacText{
		remote:     remote,
		viaHead:    "Via: SIP/2.0/UDP " + local + ";branch=z9hG4bK-" + base + "-",
		fromHead:   "From: sipp <sip:sipp@" + local + ">;tag=" + base + "SIPpTag00",
		cidSuffix:  "-" + base + "@" + ip,
		invTail:    contact + "Subject: Performance Test\r\n" + sdpHead(body) + body,
		dlgTail:    contact + "Content-Length: 0\r\n\r\n",
		answerTail: "Contact: sip:sipp@" + local + "\r\n" + sdpHead(body) + body,
	}
}

// invite appends call n's INVITE to number.
func (t *uacText) invite(b []byte, n uint64, number string) []byte {
	b = append(b, "INVITE sip:"...)
	b = append(b, number...)
	b = append(b, '@')
	b = append(b, t.remote...)
	b = append(b, " SIP/2.0\r\n"...)
	b = t.common(b, n, kInvite, number, nil)
	b = append(b, "CSeq: 1 INVITE\r\n"...)
	return append(b, t.invTail...)
}

// inDialog appends call n's ACK (cseq "1 ACK") or BYE ("2 BYE") in dialog d.
func (t *uacText) inDialog(b []byte, method, k, cseq string, n uint64, number string, d *dialog) []byte {
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, d.requestURI()...)
	b = append(b, " SIP/2.0\r\n"...)
	b = t.common(b, n, k, number, d)
	b = append(b, "CSeq: "...)
	b = append(b, cseq...)
	b = append(b, "\r\n"...)
	return append(b, t.dlgTail...)
}

// common appends Via, the Route line (in a dialog), From, To and Call-ID.
func (t *uacText) common(b []byte, n uint64, k, number string, d *dialog) []byte {
	b = append(b, t.viaHead...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, '-')
	b = append(b, k...)
	b = append(b, "\r\n"...)
	if d != nil {
		b = append(b, d.routeLine()...)
	}
	b = append(b, t.fromHead...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, "\r\nTo: <sip:"...)
	b = append(b, number...)
	b = append(b, '@')
	b = append(b, t.remote...)
	b = append(b, '>')
	if d != nil {
		b = append(b, ";tag="...)
		b = append(b, d.remoteTag()...)
	}
	b = append(b, "\r\nCall-ID: "...)
	b = strconv.AppendUint(b, n, 10)
	b = append(b, t.cidSuffix...)
	return append(b, "\r\n"...)
}

// callNumber returns the call number of one of this UAC's Call-IDs.
func (t *uacText) callNumber(callID []byte) (uint64, bool) {
	i := 0
	var n uint64
	for i < len(callID) && i < 19 && callID[i] >= '0' && callID[i] <= '9' {
		n = n*10 + uint64(callID[i]-'0')
		i++
	}
	return n, i > 0 && string(callID[i:]) == t.cidSuffix
}

// appendAckNon2xx appends the ACK of a non-2xx final response m to an
// INVITE (RFC 3261 §17.1.1.3): the INVITE's Request-URI (the UAC's
// INVITEs have their To URI as Request-URI), its Via, From and Call-ID, the
// response's To. It needs nothing of the call, so a retransmitted response
// is acknowledged after the call is gone.
func appendAckNon2xx(b []byte, m *Msg) []byte {
	b = append(b, "ACK "...)
	b = append(b, uriOf(m.To)...)
	b = append(b, " SIP/2.0\r\nVia: "...)
	b = append(b, m.via[0]...)
	b = append(b, "\r\nFrom: "...)
	b = append(b, m.From...)
	b = append(b, "\r\nTo: "...)
	b = append(b, m.To...)
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, m.CallID...)
	b = append(b, "\r\nCSeq: "...)
	b = strconv.AppendUint(b, uint64(m.CSeq), 10)
	return append(b, " ACK\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"...)
}

// appendResponseHead appends the status line and the headers a response
// repeats from its request m (RFC 3261 §8.2.6.2): all Via lines, the
// Record-Route lines when rr (a 1xx or 2xx that sets up a dialog), From,
// To, Call-ID and CSeq. When tag is not empty and m's To has no tag, To gets
// ";tag=" tag.
func appendResponseHead(b []byte, status string, m *Msg, rr bool, tag []byte) []byte {
	b = append(b, "SIP/2.0 "...)
	b = append(b, status...)
	b = append(b, "\r\n"...)
	for _, v := range m.Vias() {
		b = append(b, "Via: "...)
		b = append(b, v...)
		b = append(b, "\r\n"...)
	}
	if rr {
		for _, v := range m.RecordRoutes() {
			b = append(b, "Record-Route: "...)
			b = append(b, v...)
			b = append(b, "\r\n"...)
		}
	}
	b = append(b, "From: "...)
	b = append(b, m.From...)
	b = append(b, "\r\nTo: "...)
	b = append(b, m.To...)
	if len(tag) > 0 && m.ToTag == nil {
		b = append(b, ";tag="...)
		b = append(b, tag...)
	}
	b = append(b, "\r\nCall-ID: "...)
	b = append(b, m.CallID...)
	b = append(b, "\r\nCSeq: "...)
	b = append(b, m.CSeqValue...)
	return append(b, "\r\n"...)
}

// appendEmpty ends a response head without a body.
func appendEmpty(b []byte) []byte { return append(b, "Content-Length: 0\r\n\r\n"...) }

// isMethod reports whether a method or CSeq method is want.
func isMethod(m []byte, want string) bool { return bytes.Equal(m, []byte(want)) }
