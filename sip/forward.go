package sip

import (
	"net"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// ownURI reports whether u names this switch (a Record-Route it inserted).
func (s *Server) ownURI(u gosip.Uri) bool {
	return u.Host == s.advertise && (u.Port == s.port || (u.Port == 0 && s.port == 5060))
}

// recordRoute returns the switch's Record-Route lines for a call between an
// inbound and an outbound transport: one entry, or two (RFC 5658) when they
// differ.
func (s *Server) recordRoute(inbound, outbound string) []string {
	in, out := transportUpper(inbound), transportUpper(outbound)
	if in == out {
		return s.rr[out][:1]
	}
	return s.rr[out+in]
}

// rrLine is a Record-Route line naming this switch on transport.
func (s *Server) rrLine(transport string) string {
	t := ""
	if transport == transportTCP {
		t = ";transport=tcp"
	}
	return "Record-Route: <sip:" + s.hostport + t + ";lr>\r\n"
}

// ownRoutes counts the Route entries at the top of req that name this
// switch.
func (s *Server) ownRoutes(req *gosip.Request) int {
	n := 0
	for _, h := range req.Headers() {
		r, ok := h.(*gosip.RouteHeader)
		if !ok {
			continue
		}
		if !s.ownURI(r.Address) {
			return n
		}
		n++
	}
	return n
}

// contactHop is where requests to the holder of a Contact go; fallback when
// the message has none.
func contactHop(ct *gosip.ContactHeader, fallback hop) hop {
	if ct == nil || ct.Address.Host == "" {
		return fallback
	}
	addr, tr := uriHop(ct.Address)
	return hop{addr: addr, transport: tr}
}

// uriHop is the host:port and transport a SIP URI names (port 5060 and UDP
// when absent).
func uriHop(u gosip.Uri) (dest, transport string) {
	transport = transportUDP
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		transport = transportUpper(t)
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return joinHost(u.Host, port), transport
}

// hangupLeg acknowledges a 2xx the customer will never see (it crossed a
// CANCEL or a timeout) and sends BYE, so the carrier does not bill a call
// nobody is on. c.mu is held.
func (s *Server) hangupLeg(c *call, l *leg, res *response) {
	if l.hungUp != nil {
		_ = s.send(l.hungUp, l.tx.to, nil, nil) // the carrier did not get the ACK
		return
	}
	target, ok := res.contactURI()
	if !ok {
		return
	}
	addr, tr := uriHop(target)
	to := hop{addr: addr, transport: tr}
	for _, m := range []gosip.RequestMethod{gosip.ACK, gosip.BYE} {
		r := gosip.NewRequest(m, target)
		r.AppendHeader(gosip.HeaderClone(c.req.From()))
		r.AppendHeader(gosip.NewHeader("To", res.to))
		r.AppendHeader(gosip.HeaderClone(c.req.CallID()))
		cseq := *c.req.CSeq()
		cseq.MethodName = m
		if m == gosip.BYE {
			cseq.SeqNo++
		}
		r.AppendHeader(&cseq)
		mf := gosip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		r.SetBody(nil)
		branch := s.branches.next()
		f := forward{via: s.viaLine(tr, branch)}
		buf := getBuf()
		f.write(buf, r)
		data := append([]byte(nil), buf.Bytes()...)
		putBuf(buf)
		if m == gosip.ACK {
			l.hungUp = data
			if err := s.send(data, to, nil, nil); err != nil {
				s.log.Debug("ACK to carrier failed", "error", err)
			}
			continue
		}
		if err := s.request(&clientTx{key: txKey{branch: branch, method: m}, to: to, data: data}, false); err != nil {
			s.log.Debug("BYE to carrier failed", "error", err)
		}
	}
	s.log.Info("hung up a carrier answer the customer will not get", "call", c.id, "carrier", l.at.CarrierID)
}

func joinHost(host string, port int) string {
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}
