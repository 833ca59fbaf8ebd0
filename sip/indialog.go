package sip

import (
	"net/netip"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/border"
)

// admit is the first step of every request but ACK and CANCEL: count it,
// validate it (answering what fails), and relay it when it belongs to a
// dialog (To tag). It reports whether the request has been dealt with.
func (s *Server) admit(req *gosip.Request, tx *serverTx) bool {
	s.metrics.requests.WithLabelValues(methodLabel(req.Method)).Inc()
	if !s.validate(req, tx) {
		return true
	}
	if _, ok := req.To().Params.Get("tag"); ok {
		s.inDialog(req, tx)
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
	inv, done, found := s.servers.find(k)
	if !found {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	from := done.to.addr
	if inv != nil {
		from = inv.from.addr
	}
	if !sameIP(from, req.Source()) {
		s.metrics.dropped.WithLabelValues("stranger").Inc()
		s.reply(tx, req, 403, "Not A Party To This Call") // a CANCEL comes from where its INVITE came
		return
	}
	s.reply(tx, req, 200, "OK")
	if inv == nil {
		return // answered already: nothing left to cancel
	}
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

const allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE"

// onOther handles every method without its own handler: in-dialog requests
// are relayed, anything else is refused.
func (s *Server) onOther(req *gosip.Request, tx *serverTx) {
	if !s.admit(req, tx) {
		s.reply(tx, req, 405, "Method Not Allowed", gosip.NewHeader("Allow", allow))
	}
}

// sameIP reports whether two host:port addresses have the same IP.
func sameIP(a, b string) bool {
	x, err1 := netip.ParseAddrPort(a)
	y, err2 := netip.ParseAddrPort(b)
	return err1 == nil && err2 == nil && x.Addr().Unmap() == y.Addr().Unmap()
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

// relayed reports the methods the switch carries from one leg to the other
// inside a dialog. Others (REFER, SUBSCRIBE, PRACK, …) would need what never
// crosses (Refer-To, RAck) and are refused.
func relayed(m gosip.RequestMethod) bool {
	switch m {
	case gosip.INVITE, gosip.UPDATE, gosip.INFO, gosip.OPTIONS, gosip.BYE:
		return true
	}
	return false
}

// match finds the leg an in-dialog request belongs to and checks that it
// may be taken: the Call-ID and the switch's tag name a leg of a live call,
// the sender's tag is that leg's, and the request comes from the leg's
// party. It answers and returns nil otherwise. On success c.mu is held.
func (s *Server) match(req *gosip.Request, tx *serverTx) (c *call, from, to *side) {
	toTag, _ := req.To().Params.Get("tag")
	fromTag, _ := req.From().Params.Get("tag")
	e, ok := s.calls.dialog(req.CallID().Value(), toTag)
	if !ok {
		s.metrics.dropped.WithLabelValues("no-dialog").Inc()
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return nil, nil, nil
	}
	c = e.c
	c.mu.Lock()
	from, to = c.sides(e.leg)
	if c.ended || from == nil {
		c.mu.Unlock()
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return nil, nil, nil
	}
	code, reason, why := from.admits(fromTag, sourceAddr(req), req.CSeq().SeqNo, func(a netip.Addr) bool { return s.sameParty(c, from, a) })
	if code == 0 {
		from.remoteSeq = req.CSeq().SeqNo
		return c, from, to
	}
	c.mu.Unlock()
	s.metrics.dropped.WithLabelValues(why).Inc()
	if why == "stranger" {
		s.log.Warn("in-dialog request from a stranger", "call", c.id, "source", req.Source(), "method", req.Method)
	}
	s.reply(tx, req, code, reason)
	return nil, nil, nil
}

// admits checks a request on leg sd, found by its Call-ID and the switch's
// tag: the sender's tag must be the party's, the source one of the party's
// addresses (those the leg has seen, or any that also reports as the same
// party: another address of the same customer or carrier), the CSeq above
// the party's last. It returns 0 when the request is taken, else the status
// to answer, its reason and a metric label.
func (sd *side) admits(fromTag string, src netip.Addr, cseq uint32, also func(netip.Addr) bool) (code int, reason, why string) {
	switch {
	case sd.remoteTag != "" && fromTag != sd.remoteTag:
		return 481, "Call/Transaction Does Not Exist", "dialog-mismatch"
	case !sd.from(src) && (also == nil || !also(src)):
		return 403, "Not A Party To This Call", "stranger"
	case sd.remoteSeq != 0 && cseq <= sd.remoteSeq:
		return 403, "CSeq Out Of Order", "cseq-order"
	}
	return 0, "", ""
}

// carrierSet tells carriers' addresses (routing.Router does).
type carrierSet interface{ IsCarrier(netip.Addr) bool }

// sameParty reports whether a is another address of sd's party: an address
// the same customer authenticates from (an SBC pair fails over), or any
// carrier endpoint's for a carrier leg. c.mu is held.
func (s *Server) sameParty(c *call, sd *side, a netip.Addr) bool {
	if sd.carrier {
		cs, ok := s.router.(carrierSet)
		return ok && cs.IsCarrier(a)
	}
	ident, err := s.auth.Lookup(a, c.dialled)
	return err == nil && ident.CustomerID == c.ident.CustomerID && c.ident.Method == "ip"
}

// sides returns the leg a request came on (the customer's when l is nil)
// and the leg it goes to; from is nil for an attempt no longer in play, to
// is nil while the carrier has no dialog yet. c.mu is held.
func (c *call) sides(l *leg) (from, to *side) {
	if l != nil {
		if l != c.answeredLeg && l != c.leg {
			return nil, nil
		}
		return &l.b, &c.a
	}
	return &c.a, c.carrierSide()
}

// carrierSide is the carrier leg in dialog with the customer: the one that
// answered, else the attempt in progress once it has an early dialog.
func (c *call) carrierSide() *side {
	if c.answeredLeg != nil {
		return &c.answeredLeg.b
	}
	if c.leg != nil && c.leg.b.remoteTag != "" {
		return &c.leg.b
	}
	return nil
}

// policyFrom is the header policy for what sd's party sends across.
func (s *Server) policyFrom(c *call, sd *side) *border.Policy {
	if sd.carrier {
		return s.carrierPolicy(sd.headers)
	}
	return s.customerPolicy(c)
}

// inDialog takes a request inside a call's dialog: a BYE ends the call at
// once (the billing clock stops here) and goes on to the other leg; other
// requests are carried to the other leg as that leg's own, through the
// route set stored at set-up, never a Route the sender supplies.
func (s *Server) inDialog(req *gosip.Request, tx *serverTx) {
	c, from, to := s.match(req, tx)
	if c == nil {
		return
	}
	defer c.mu.Unlock()
	side := "customer"
	if from.carrier {
		side = "carrier"
	}
	if req.Method == gosip.BYE {
		s.reply(tx, req, 200, "OK")
		if to != nil && c.answeredLeg != nil {
			s.ackPending(c)
			s.sendBye(to)
		}
		s.finish(c, nil, outcome{code: 200, reason: "BYE", answered: !c.answered.IsZero()}, side)
		s.log.Debug("call ended", "call", c.id, "by", side)
		return
	}
	if !relayed(req.Method) {
		s.reply(tx, req, 405, "Method Not Allowed", gosip.NewHeader("Allow", allow))
		return
	}
	if to == nil {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	lines, body, r := crossing(req, from.direction(), s.policyFrom(c, from))
	if r != nil {
		s.reply(tx, req, r.code, r.reason)
		return
	}
	body, offer, err := s.relayOffer(c, sideOf(from), lines, body)
	if err != nil {
		s.reply(tx, req, 488, "Not Acceptable Here")
		return
	}
	if req.Method == gosip.INVITE {
		s.reply(tx, req, 100, "Trying") // stops retransmissions
	}
	if targetRefresh(req.Method) {
		if ct := req.Contact(); ct != nil && ct.Address.Host != "" && border.CheckUser(ct.Address.User) == nil {
			from.target = ct.Address
			if !from.pinned {
				from.next = uriHop(ct.Address)
			}
			if c.up {
				s.callUp(c) // the register's BYE after a crash goes to the new target
			}
		}
	}
	maxFwd := 70
	if mf := req.MaxForwards(); mf != nil {
		maxFwd = min(int(mf.Val())-1, 70)
	}
	to.localSeq++
	seq := to.localSeq
	data, branch, next := s.legRequest(to, req.Method, seq, maxFwd, lines, body)
	out := &clientTx{key: txKey{branch: branch, method: req.Method}, to: next, data: data}
	xSeq := req.CSeq().SeqNo
	out.handle = func(res *response) {
		if res.code == 100 {
			return
		}
		c.mu.Lock()
		defer c.mu.Unlock()
		lines, body, _ := crossingResponse(res, to.direction(), s.policyFrom(c, to))
		if offer != nil && res.success() && c.relayed() {
			c.media.commit(sideOf(from), *offer) // accepted
		}
		if b, err := s.relayBody(c, sideOf(to), lines, body); err == nil {
			body = b
		} else {
			lines, body = withoutBody(lines), nil
		}
		refresh := res.success() && (req.Method == gosip.INVITE || req.Method == gosip.UPDATE)
		if refresh && c.answeredLeg != nil && !c.ended {
			s.refreshed(c, res) // both parties are alive
		}
		if c.se == seSwitch && !from.carrier {
			// The switch keeps the customer's timer: the carrier's stays on
			// its leg.
			if refresh {
				lines = s.timerLines(c, lines)
			} else {
				lines = withoutHeaders(lines, "Session-Expires:", "Require:", "Min-SE:")
			}
		}
		contact := ""
		if res.success() && targetRefresh(req.Method) {
			contact = s.contactLine(from.next.transport)
			if u, ok := res.contactURI(); ok && !to.pinned {
				to.target, to.next = u, uriHop(u)
			}
		}
		buf := getBuf()
		defer putBuf(buf)
		renderResponse(buf, res.code, safeReason(res), responseHead(req, ""), contact, lines, body)
		b := append([]byte(nil), buf.Bytes()...)
		if req.Method == gosip.INVITE && res.success() && !c.ended {
			s.answer2xx(c, tx, from, to, xSeq, seq, out.key.branch, b)
			return
		}
		s.respondBytes(tx, res.code, b)
	}
	if req.Method == gosip.INVITE {
		// A CANCEL of the re-INVITE goes on to the other leg; the
		// re-INVITE then ends with its answer (487), the call stays up.
		cancel := derive(data, gosip.CANCEL, "")
		tx.mu.Lock()
		tx.onCancel = func() { s.cancelINVITE(out, cancel) }
		tx.mu.Unlock()
		out.ackFor = func(res *response) []byte { return derive(data, gosip.ACK, res.to) }
	}
	out.failed = func() { s.reply(tx, req, 408, "Request Timeout") }
	if err := s.request(out, req.Method == gosip.INVITE); err != nil {
		s.log.Warn("relaying in-dialog request failed", "method", req.Method, "error", err)
		s.reply(tx, req, 503, "Next Hop Unreachable")
	}
}

// sendBye sends a BYE on leg sd statefully (retransmitted over UDP until
// answered); its answer changes nothing. c.mu is held.
func (s *Server) sendBye(sd *side) {
	sd.localSeq++
	data, branch, next := s.legRequest(sd, gosip.BYE, sd.localSeq, 70, nil, nil)
	if err := s.request(&clientTx{key: txKey{branch: branch, method: gosip.BYE}, to: next, data: data}, false); err != nil {
		s.log.Debug("BYE failed", "to", next.addr, "error", err)
	}
}

// byeBoth ends an answered call from the switch: a BYE on each leg. c.mu is
// held.
func (s *Server) byeBoth(c *call) {
	s.ackPending(c)
	if c.answeredLeg != nil {
		s.sendBye(&c.answeredLeg.b)
	}
	s.sendBye(&c.a)
}
