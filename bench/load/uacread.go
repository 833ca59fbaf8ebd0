package load

import (
	"net/netip"
	"strconv"
)

// What the UAC does with what it reads: responses move its calls on,
// requests from the far end are answered.

// receive handles a datagram read at now.
func (u *UAC) receive(data []byte, from netip.AddrPort, now int64, out *outbox) {
	m := u.scan(data)
	if m == nil {
		return
	}
	var c *uacCall
	if n, ok := u.text.callNumber(m.CallID); ok {
		c = u.calls[n]
	}
	if m.IsRequest() {
		u.request(c, m, from, out)
		return
	}
	u.codes.add(m.Code, m.CSeqMethod)
	invite := isMethod(m.CSeqMethod, "INVITE")
	switch {
	case c != nil && invite:
		u.inviteResponse(c, m, now, out)
	case c != nil && isMethod(m.CSeqMethod, "BYE") && c.state == hangingUp:
		u.byeResponse(c, m)
	default:
		u.st.Stray++
		if invite && m.Code >= 300 {
			out.buf = appendAckNon2xx(out.buf, m)
			out.push(u.target)
		}
	}
}

func (u *UAC) inviteResponse(c *uacCall, m *Msg, now int64, out *outbox) {
	switch {
	case m.Code < 200:
		if c.state == calling {
			c.state, c.seq = proceeding, c.seq+1 // no more retransmissions
			u.inv1xx.Record(micros(now - c.sentAt))
		}
	case m.Code < 300:
		switch c.state {
		case calling, proceeding:
			u.inv200.Record(micros(now - c.sentAt))
			target := uriOf(m.Contact)
			if len(target) == 0 {
				target = []byte("sip:" + c.number + "@" + u.text.remote)
			}
			c.dlg = newDialog(m.RecordRoutes(), target, m.ToTag)
			c.state, c.seq = confirmed, c.seq+1
			out.buf = u.text.inDialog(out.buf, "ACK", kAck, "1 ACK", c.n, c.number, &c.dlg)
			out.push(u.target)
			if u.cfg.hold == 0 {
				u.bye(c, now, out)
			} else {
				u.tm.set(now, int64(u.cfg.hold), c, c.seq)
			}
		case confirmed, hangingUp: // the 2xx again: our ACK was lost
			out.buf = u.text.inDialog(out.buf, "ACK", kAck, "1 ACK", c.n, c.number, &c.dlg)
			out.push(u.target)
			u.st.AckRetransmissions++
		}
	default:
		out.buf = appendAckNon2xx(out.buf, m)
		out.push(u.target)
		if c.state == calling || c.state == proceeding {
			u.end(c, "invite_"+strconv.Itoa(m.Code))
		}
	}
}

func (u *UAC) byeResponse(c *uacCall, m *Msg) {
	switch {
	case m.Code < 200:
		c.delay = int64(u.cfg.t2) // RFC 3261 §17.1.2.2: retransmit at T2 from now on
	case m.Code < 300:
		u.end(c, "")
	default:
		u.end(c, "bye_"+strconv.Itoa(m.Code))
	}
}

// request answers a request from the far end: 200 in a call in progress (a
// BYE ends it as failed, as sipp fails a call on an unexpected message),
// 481 outside one; an ACK is absorbed.
func (u *UAC) request(c *uacCall, m *Msg, from netip.AddrPort, out *outbox) {
	if isMethod(m.Method, "ACK") {
		return
	}
	if c == nil {
		u.st.Stray++
		out.buf = appendEmpty(appendResponseHead(out.buf, "481 Call/Transaction Does Not Exist", m, false, nil))
		out.push(from)
		return
	}
	u.st.RequestsAnswered++
	out.buf = appendResponseHead(out.buf, "200 OK", m, false, nil)
	if isMethod(m.Method, "INVITE") {
		out.buf = append(out.buf, u.text.answerTail...)
	} else {
		out.buf = appendEmpty(out.buf)
	}
	out.push(from)
	if isMethod(m.Method, "BYE") {
		u.end(c, "remote_bye")
	}
}
