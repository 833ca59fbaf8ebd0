package sip

import (
	"context"
	"net"
	"strconv"
	"strings"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
)

// client returns the sipgo client for a transport: UDP requests leave from
// the listener socket so carriers see the switch's SIP port.
func (s *Server) client(transport string) *sipgo.Client {
	if strings.EqualFold(transport, "tcp") {
		return s.tcpClient
	}
	return s.udpClient
}

// addVia is the request option that pushes the switch's Via and binds UDP
// requests to the listener socket.
func (s *Server) addVia(c *sipgo.Client, req *gosip.Request) error {
	if err := sipgo.ClientRequestAddVia(c, req); err != nil {
		return err
	}
	return s.sameVia(c, req)
}

// sameVia keeps the request's Via (CANCEL, stray ACK) and only binds UDP
// requests to the listener socket.
func (s *Server) sameVia(_ *sipgo.Client, req *gosip.Request) error {
	if !strings.EqualFold(req.Transport(), "tcp") && s.udpLaddr.Port != 0 {
		s.udpLaddr.Copy(&req.Laddr)
	}
	return nil
}

// ownURI reports whether u names this switch (a Record-Route it inserted).
func (s *Server) ownURI(u gosip.Uri) bool {
	return u.Host == s.advertise && (u.Port == s.port || (u.Port == 0 && s.port == 5060))
}

// recordRoute returns the request option adding the switch's Record-Route:
// one entry, or two (RFC 5658) when the customer and carrier legs use
// different transports.
func (s *Server) recordRoute(inbound, outbound string) sipgo.ClientRequestOption {
	in, out := strings.ToLower(inbound), strings.ToLower(outbound)
	return func(_ *sipgo.Client, req *gosip.Request) error {
		if in != out {
			req.PrependHeader(s.rrHeader(in))
		}
		req.PrependHeader(s.rrHeader(out))
		return nil
	}
}

func (s *Server) rrHeader(transport string) *gosip.RecordRouteHeader {
	u := gosip.Uri{Scheme: "sip", Host: s.advertise, Port: s.port, UriParams: gosip.HeaderParams{}}
	if transport == "tcp" {
		u.UriParams.Add("transport", "tcp")
	}
	u.UriParams.Add("lr", "")
	return &gosip.RecordRouteHeader{Address: u}
}

// popOwnRoutes removes the Route entries at the top that name this switch
// and reports whether there were any.
func (s *Server) popOwnRoutes(req *gosip.Request) bool {
	popped := false
	for {
		r := req.Route()
		if r == nil || !s.ownURI(r.Address) {
			return popped
		}
		req.RemoveHeader("Route")
		popped = true
	}
}

// nextHop is where a request goes by its own routing: the top Route, else
// the Request-URI.
func nextHop(req *gosip.Request) (dest, transport string) {
	u := req.Recipient
	if r := req.Route(); r != nil {
		u = r.Address
	}
	return uriHop(u)
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

func transportUpper(t string) string {
	if strings.EqualFold(t, "tcp") {
		return "TCP"
	}
	return "UDP"
}

// uriHop is the host:port and transport a SIP URI names (port 5060 and UDP
// when absent).
func uriHop(u gosip.Uri) (dest, transport string) {
	transport = "UDP"
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		transport = strings.ToUpper(t)
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	return joinHost(u.Host, port), transport
}

// newCancel builds the CANCEL for a forwarded INVITE: same Request-URI, top
// Via, From, To, Call-ID, CSeq number and Route (RFC 3261 §9.1).
func newCancel(inv *gosip.Request) *gosip.Request {
	r := gosip.NewRequest(gosip.CANCEL, inv.Recipient)
	r.AppendHeader(gosip.HeaderClone(inv.Via()))
	r.AppendHeader(gosip.HeaderClone(inv.From()))
	r.AppendHeader(gosip.HeaderClone(inv.To()))
	r.AppendHeader(gosip.HeaderClone(inv.CallID()))
	cseq := *inv.CSeq()
	cseq.MethodName = gosip.CANCEL
	r.AppendHeader(&cseq)
	gosip.CopyHeaders("Route", inv, r)
	mf := gosip.MaxForwardsHeader(70)
	r.AppendHeader(&mf)
	r.SetTransport(inv.Transport())
	r.SetDestination(inv.Destination())
	r.SetBody(nil)
	return r
}

// hangupLeg acknowledges a 2xx the customer will never see (it crossed a
// CANCEL or a timeout) and sends BYE, so the carrier does not bill a call
// nobody is on.
func (s *Server) hangupLeg(inv *gosip.Request, res *gosip.Response) {
	contact := res.Contact()
	if contact == nil {
		return
	}
	for _, m := range []gosip.RequestMethod{gosip.ACK, gosip.BYE} {
		r := gosip.NewRequest(m, contact.Address)
		r.AppendHeader(gosip.HeaderClone(inv.From()))
		r.AppendHeader(gosip.HeaderClone(res.To()))
		r.AppendHeader(gosip.HeaderClone(inv.CallID()))
		cseq := *inv.CSeq()
		cseq.MethodName = m
		if m == gosip.BYE {
			cseq.SeqNo++
		}
		r.AppendHeader(&cseq)
		mf := gosip.MaxForwardsHeader(70)
		r.AppendHeader(&mf)
		r.SetBody(nil)
		dest, tr := nextHop(r)
		r.SetDestination(dest)
		r.SetTransport(tr)
		c := s.client(tr)
		if m == gosip.ACK {
			if err := c.WriteRequest(r, s.addVia); err != nil {
				s.log.Debug("ACK to carrier failed", "error", err)
			}
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), DefaultCancelWait)
		if _, err := c.Do(ctx, r, s.addVia); err != nil {
			s.log.Debug("BYE to carrier failed", "error", err)
		}
		cancel()
	}
}

// onStrayResponse forwards responses that match no client transaction:
// retransmitted 2xx to INVITE, which a proxy relays statelessly upstream.
func (s *Server) onStrayResponse(res *gosip.Response) {
	via := res.Via()
	if via == nil || via.Host != s.advertise || !res.IsSuccess() {
		return
	}
	out := res.Clone()
	out.RemoveHeader("Via")
	next := out.Via()
	if next == nil {
		return
	}
	host, port := next.Host, next.Port
	if v, ok := next.Params.Get("received"); ok && v != "" {
		host = v
	}
	if v, ok := next.Params.Get("rport"); ok && v != "" {
		port, _ = strconv.Atoi(v)
	}
	if port == 0 {
		port = 5060
	}
	out.SetDestination(joinHost(host, port))
	if err := s.srv.WriteResponse(out); err != nil {
		s.log.Debug("relaying stray response failed", "error", err)
	}
}

func joinHost(host string, port int) string {
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}
