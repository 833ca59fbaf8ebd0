package sip

import (
	gosip "github.com/emiago/sipgo/sip"
)

// onAck forwards the ACK of a 2xx (an ACK of a non-2xx matched its INVITE
// transaction before reaching here). ACK is never answered; one for an
// unknown call is dropped.
func (s *Server) onAck(req *gosip.Request) {
	s.metrics.requests.WithLabelValues("ACK").Inc()
	if req.CallID() == nil || req.From() == nil || req.Via() == nil {
		return
	}
	symmetric(req)
	c := s.calls.get(req.CallID().Value())
	if c == nil {
		return
	}
	f, next, ok := s.inDialogRequest(c, req)
	if !ok {
		return
	}
	buf := getBuf()
	defer putBuf(buf)
	f.write(buf, req)
	if err := s.send(buf.Bytes(), next, nil, nil); err != nil {
		s.log.Debug("forwarding ACK failed", "error", err)
	}
}

// admit is the first step of every request but ACK and CANCEL: count it,
// validate it (answering what fails), and forward it when it belongs to a
// dialog (To tag). It reports whether the request has been dealt with.
func (s *Server) admit(req *gosip.Request, tx *serverTx) bool {
	s.metrics.requests.WithLabelValues(methodLabel(req.Method)).Inc()
	if !s.validate(req, tx) {
		return true
	}
	if _, ok := req.To().Params.Get("tag"); ok {
		s.forwardInDialog(req, tx)
		return true
	}
	return false
}

func (s *Server) onBye(req *gosip.Request, tx *serverTx) {
	if !s.admit(req, tx) {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist") // a BYE outside any dialog
	}
}

// onCancel answers a CANCEL and cancels the INVITE transaction it matches
// (RFC 3261 §9.2): 200 to the CANCEL, then the call ends with 487.
func (s *Server) onCancel(req *gosip.Request, tx *serverTx) {
	s.metrics.requests.WithLabelValues("CANCEL").Inc()
	symmetric(req)
	k := tx.key
	k.method = gosip.INVITE
	inv := s.servers.get(k)
	if inv == nil {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	s.reply(tx, req, 200, "OK")
	inv.mu.Lock()
	run := inv.final == 0 && !inv.cancelled
	inv.cancelled = true
	f := inv.onCancel
	inv.mu.Unlock()
	if run && f != nil {
		f()
	}
}

func (s *Server) onOptions(req *gosip.Request, tx *serverTx) {
	if !s.admit(req, tx) {
		s.reply(tx, req, 200, "OK", gosip.NewHeader("Allow", allow))
	}
}

const allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK, NOTIFY, REFER"

// onOther handles every method without its own handler: in-dialog requests
// are forwarded, anything else is refused.
func (s *Server) onOther(req *gosip.Request, tx *serverTx) {
	if !s.admit(req, tx) {
		s.reply(tx, req, 405, "Method Not Allowed", gosip.NewHeader("Allow", allow))
	}
}

// methodLabel keeps the metric's label set bounded.
func methodLabel(m gosip.RequestMethod) string {
	switch m {
	case gosip.INVITE, gosip.ACK, gosip.BYE, gosip.CANCEL, gosip.OPTIONS, gosip.REGISTER,
		gosip.INFO, gosip.UPDATE, gosip.PRACK, gosip.NOTIFY, gosip.REFER, gosip.SUBSCRIBE, gosip.MESSAGE:
		return string(m)
	}
	return "other"
}

// forwardInDialog relays a request inside a call the switch record-routed,
// statefully, and ends the call when a BYE is answered (or not, in time).
func (s *Server) forwardInDialog(req *gosip.Request, tx *serverTx) {
	c := s.calls.get(req.CallID().Value())
	if c == nil {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	f, next, ok := s.inDialogRequest(c, req)
	if !ok {
		s.reply(tx, req, 403, "Not A Party To This Call")
		return
	}
	side, from := "carrier", 1
	if fromCustomer(c, req) {
		side, from = "customer", 0
	}
	c.mu.Lock()
	c.cseq[from] = max(c.cseq[from], req.CSeq().SeqNo)
	c.mu.Unlock()
	if req.Method == gosip.INVITE {
		s.reply(tx, req, 100, "Trying") // a re-INVITE; stops retransmissions
	}
	buf := getBuf()
	defer putBuf(buf)
	f.write(buf, req)
	ended := func(code int, reason string) {
		if req.Method != gosip.BYE {
			return
		}
		c.mu.Lock()
		s.finish(c, nil, outcome{code: 200, reason: "BYE", answered: !c.answered.IsZero()}, side)
		c.mu.Unlock()
		s.log.Debug("call ended", "call", c.id, "by", side, "bye_status", code, "bye_reason", reason)
	}
	out := &clientTx{key: txKey{branch: f.branch, method: req.Method}, to: next, data: append([]byte(nil), buf.Bytes()...)}
	out.handle = func(res *response) {
		if res.code == 100 {
			return
		}
		s.relayResponse(tx, res)
		if res.code >= 200 {
			ended(res.code, res.reason)
		}
	}
	if req.Method == gosip.INVITE {
		// A CANCEL of the re-INVITE goes on to the next hop; the re-INVITE
		// then ends with its answer (487), the call stays up.
		cancel := cancelFor(req, &f.forward)
		tx.mu.Lock()
		tx.onCancel = func() { s.cancelINVITE(out, cancel) }
		tx.mu.Unlock()
		out.again = func(res *response) { s.relayResponse(tx, res) }
		out.ackFor = func(res *response) []byte {
			b := getBuf()
			defer putBuf(b)
			writeCancelOrAck(b, gosip.ACK, req, &f.forward, res.to)
			return append([]byte(nil), b.Bytes()...)
		}
	}
	out.failed = func() {
		s.reply(tx, req, 408, "Request Timeout")
		ended(408, "Request Timeout")
	}
	if err := s.request(out, req.Method == gosip.INVITE); err != nil {
		s.log.Warn("forwarding in-dialog request failed", "method", req.Method, "error", err)
		s.reply(tx, req, 503, "Next Hop Unreachable")
		ended(503, "Next Hop Unreachable")
	}
}

func fromCustomer(c *call, req *gosip.Request) bool {
	tag, _ := req.From().Params.Get("tag")
	return tag == c.fromTag
}

// inDialogForward is how an in-dialog request is relayed.
type inDialogForward struct {
	forward
	branch string
}

// inDialogRequest prepares a request inside call c for forwarding: the
// switch's own Route entries go, the next hop is the remaining route set or
// else the other party's recorded target (never a host taken from the
// Request-URI alone, so the switch relays only between a call's parties).
// Requests that claim to come from the customer must come from its address.
func (s *Server) inDialogRequest(c *call, req *gosip.Request) (*inDialogForward, hop, bool) {
	byCustomer := fromCustomer(c, req)
	if byCustomer && sourceAddr(req).String() != c.source {
		s.log.Warn("in-dialog request from a stranger", "call", c.id, "source", req.Source())
		return nil, hop{}, false
	}
	popped := s.ownRoutes(req)
	var next hop
	if routes := req.GetHeaders("Route"); len(routes) > popped {
		next = uriHop(routes[popped].(*gosip.RouteHeader).Address)
	} else {
		c.mu.Lock()
		next = c.peer(byCustomer)
		c.mu.Unlock()
	}
	f := &inDialogForward{branch: s.branches.next()}
	f.via = s.viaLine(next.transport, f.branch)
	f.popped = popped
	return f, next, true
}
