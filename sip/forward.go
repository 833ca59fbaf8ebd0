package sip

import (
	"net"
	"strconv"
	"strings"
	"sync"

	gosip "github.com/emiago/sipgo/sip"
)

// ownURI reports whether u names this switch (a Record-Route it inserted).
func (s *Server) ownURI(u gosip.Uri) bool {
	return strings.EqualFold(strings.Trim(u.Host, "[]"), s.advertise) && (u.Port == s.port || (u.Port == 0 && s.port == 5060))
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
	return uriHop(ct.Address)
}

// uriHop is the host:port and transport a SIP URI names (port 5060 and UDP
// when absent).
func uriHop(u gosip.Uri) hop {
	h := hop{transport: transportUDP}
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		h.transport = transportUpper(t)
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	h.addr = joinHost(u.Host, port)
	return h
}

// strayAnswers returns what a 2xx to attempt l gets when the customer will
// never see it (it crossed a CANCEL or a timeout, or came after another
// final answer): an ACK and a BYE, so the carrier does not bill a call
// nobody is on (RFC 3261 §16.7); a retransmission of a 2xx gets its ACK
// again. It keeps what it needs of the call, not the call. c.mu is held.
func (s *Server) strayAnswers(c *call, l *leg) func(*response) {
	from, seq, id, carrier := c.req.From().Value(), c.req.CSeq().SeqNo, c.id, l.at.CarrierID
	var mu sync.Mutex
	acks := map[string]func(){} // by the 2xx's To: one dialog each
	return func(res *response) {
		mu.Lock()
		defer mu.Unlock()
		if again, ok := acks[res.to]; ok {
			again() // the carrier did not get the ACK
			return
		}
		target, ok := res.contactURI()
		if !ok {
			return
		}
		ruri, routes, to := s.downstreamRoutes(res.rr).request(target, uriHop(target))
		ack, _ := s.dialogRequest(gosip.ACK, ruri, routes, from, res.to, id, seq, to.transport)
		acks[res.to] = func() { _ = s.send(ack, to, nil, nil) }
		if err := s.send(ack, to, nil, nil); err != nil {
			s.log.Debug("ACK to carrier failed", "error", err)
		}
		s.bye(ruri, routes, from, res.to, id, seq+1, to)
		s.log.Info("hung up a carrier answer the customer will not get", "call", id, "carrier", carrier)
	}
}

// byeBoth ends an answered call from the switch: BYE to the carrier as if
// from the customer, and to the customer as if from the carrier, each with
// the next CSeq of its side. c.mu is held.
func (s *Server) byeBoth(c *call) {
	custFrom := c.req.From().Value()
	ruri, routes, h := s.downstreamRoutes(c.carrierRR).request(c.carrierURI, c.carrierTarget)
	s.bye(ruri, routes, custFrom, c.carrierTo, c.id, c.cseq[0]+1, h)
	custURI := gosip.Uri{Scheme: "sip", Host: c.source}
	if ct := c.req.Contact(); ct != nil {
		custURI = ct.Address
	}
	ruri, routes, h = upstreamRoutes(c.req).request(custURI, c.customerTarget)
	s.bye(ruri, routes, c.carrierTo, custFrom, c.id, c.cseq[1]+1, h)
}

// bye sends a BYE statefully (retransmitted over UDP until answered).
func (s *Server) bye(ruri gosip.Uri, routes []string, from, to, callID string, cseq uint32, h hop) {
	data, branch := s.dialogRequest(gosip.BYE, ruri, routes, from, to, callID, cseq, h.transport)
	if err := s.request(&clientTx{key: txKey{branch: branch, method: gosip.BYE}, to: h, data: data}, false); err != nil {
		s.log.Debug("BYE failed", "to", h.addr, "error", err)
	}
}

// dialogRequest renders a request without a body that the switch itself
// sends inside a dialog, with a new branch and the Route values routes.
func (s *Server) dialogRequest(method gosip.RequestMethod, ruri gosip.Uri, routes []string, from, to, callID string, cseq uint32, transport string) ([]byte, string) {
	branch := s.branches.next()
	buf := getBuf()
	defer putBuf(buf)
	writeStart(buf, method, &ruri, s.viaLine(transportUpper(transport), branch))
	for _, r := range routes {
		buf.WriteString("Route: " + r + "\r\n")
	}
	for _, h := range [][2]string{{"From: ", from}, {"To: ", to}, {"Call-ID: ", callID}} {
		buf.WriteString(h[0])
		buf.WriteString(h[1])
		buf.WriteString("\r\n")
	}
	buf.WriteString("CSeq: " + strconv.FormatUint(uint64(cseq), 10) + " " + string(method) + "\r\n")
	buf.WriteString("Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
	return append([]byte(nil), buf.Bytes()...), branch
}

func joinHost(host string, port int) string {
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}
