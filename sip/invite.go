package sip

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/routing"
)

// outcome is how one carrier attempt ended.
type outcome struct {
	code      int // final SIP code; 0 when the carrier never answered
	reason    string
	answered  bool
	cancelled bool
	relayed   bool // the final response already went to the customer
	final     bool // no other carrier may be tried (the callee did not answer)
}

// leg is one carrier attempt: the INVITE as forwarded and its transaction.
type leg struct {
	at   routing.Attempt
	ruri gosip.Uri
	fwd  forward
	tx   *clientTx
}

// onInvite takes a new call: it authenticates and routes it and sends it to
// the first carrier of the plan. Everything after happens in response to
// events (carrier responses, CANCEL, timers), under the call's lock.
func (s *Server) onInvite(req *gosip.Request, tx *serverTx) {
	if s.admit(req, tx) {
		return
	}
	setup := s.now()
	src := sourceAddr(req)
	ident, ok := s.authenticate(req, tx, src)
	if !ok {
		s.metrics.calls.WithLabelValues("rejected").Inc()
		return
	}
	fromTag, _ := req.From().Params.Get("tag")
	c := &call{
		id: req.CallID().Value(), fromTag: fromTag, branch: tx.key.branch, ident: ident,
		source: src.String(), caller: req.From().Address.User, dialled: req.Recipient.User, setup: setup,
		customerTarget: contactHop(req.Contact(), hop{addr: req.Source(), transport: transportUpper(req.Transport())}),
		req:            req, inv: tx,
	}
	if tx.conn != nil {
		// A customer on TCP is reached on its own connection, whatever its
		// Contact says (it may be behind NAT, or leave out transport=tcp).
		c.customerTarget = hop{addr: tx.conn.key, transport: transportTCP}
	}
	if !s.calls.add(c) {
		if old := s.calls.get(c.id); old != nil && old.branch == c.branch {
			s.servers.remove(tx.key, tx)
			return // a retransmission of a call in progress
		}
		s.reply(tx, req, 482, "Loop Detected")
		return
	}
	// Taken: stop the customer's retransmissions now.
	s.reply(tx, req, 100, "Trying")
	s.metrics.active.Inc()
	plan, err := s.router.Route(context.Background(), routing.Call{
		CustomerID: ident.CustomerID, TechPrefix: ident.TechPrefix, Dialled: req.Recipient.User, At: setup,
	})
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended {
		return // ended while it was routed
	}
	if err != nil {
		code, reason := routing.Status(err)
		s.log.Info("call rejected", "customer", ident.CustomerID, "code", code, "reason", reason, "error", err)
		s.reply(tx, req, code, reason)
		s.finish(c, nil, outcome{code: code, reason: reason}, "switch")
		return
	}
	c.plan = plan
	tx.mu.Lock()
	tx.onCancel = func() { s.customerCancelled(c) }
	cancelled := tx.cancelled
	tx.mu.Unlock()
	if cancelled {
		s.reply(tx, req, 487, "Request Terminated")
		s.finish(c, nil, outcome{code: 487, reason: "Request Terminated", cancelled: true, relayed: true}, "customer")
		return
	}
	s.nextAttempt(c)
}

// nextAttempt sends the INVITE to the next carrier of the plan; a carrier
// the switch cannot send to counts as one that did not answer. c.mu is held.
func (s *Server) nextAttempt(c *call) {
	for c.attempt < len(c.plan.Attempts) {
		at := c.plan.Attempts[c.attempt]
		c.attempt++
		c.carrier, c.tried, c.provisional = at, s.now(), false
		l, err := s.sendInvite(c, at)
		if err == nil {
			c.leg = l
			c.legDeadline = s.now().Add(s.inviteTimeout)
			c.legTimer = time.AfterFunc(s.inviteTimeout, func() { s.legTimeout(c, l) })
			return
		}
		s.log.Warn("carrier attempt failed", "carrier", at.CarrierID, "addr", at.Addr, "error", err)
		if !s.legEnded(c, outcome{reason: "Transport Error"}) {
			return
		}
	}
}

// sendInvite forwards the customer's INVITE to one carrier endpoint.
func (s *Server) sendInvite(c *call, at routing.Attempt) (*leg, error) {
	req := c.req
	host, port := splitHostPort(at.Addr)
	l := &leg{at: at, ruri: gosip.Uri{Scheme: "sip", User: c.plan.Number, Host: host, Port: port}}
	out := transportUpper(at.Transport)
	if out == transportTCP {
		l.ruri.UriParams = gosip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	branch := s.branches.next()
	l.fwd = forward{ruri: &l.ruri, via: s.viaLine(out, branch), rr: s.recordRoute(req.Transport(), out), popped: s.ownRoutes(req)}
	buf := getBuf()
	defer putBuf(buf)
	l.fwd.write(buf, req)
	l.tx = &clientTx{
		key:  txKey{branch: branch, method: gosip.INVITE},
		to:   hop{addr: at.Addr, transport: out},
		data: append([]byte(nil), buf.Bytes()...),
	}
	l.tx.handle = func(res *response) { s.legResponse(c, l, res) }
	l.tx.failed = func() { s.legFailed(c, l) }
	l.tx.ackFor = func(res *response) []byte {
		b := getBuf()
		defer putBuf(b)
		writeCancelOrAck(b, gosip.ACK, req, &l.fwd, res.to)
		return append([]byte(nil), b.Bytes()...)
	}
	return l, s.request(l.tx, true)
}

// legResponse handles a carrier's response to the INVITE of attempt l.
func (s *Server) legResponse(c *call, l *leg, res *response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if res.code >= 300 {
		// A 2xx may still come from another branch behind the carrier;
		// the customer has its final answer by then.
		l.tx.setAgain(s.strayAnswers(c, l))
	}
	if c.leg != l || c.ended {
		// An attempt the switch gave up on (CANCEL, timeout, the call
		// ended; its transaction sends the CANCEL): a 2xx that crossed
		// the CANCEL is acknowledged and hung up.
		if res.success() {
			stray := s.strayAnswers(c, l)
			l.tx.setAgain(stray)
			stray(res)
		}
		return
	}
	switch {
	case res.code == 100:
		if !c.provisional {
			c.legDeadline = s.now().Add(s.ringTimeout)
			c.legTimer.Reset(s.ringTimeout)
		}
	case res.provisional():
		if !c.provisional {
			c.provisional = true
			s.markRinging(c)
			c.legDeadline = s.now().Add(s.ringTimeout)
			c.legTimer.Reset(s.ringTimeout)
		}
		s.relayResponse(c.inv, res)
	case res.success():
		c.legTimer.Stop()
		c.answeredLeg, c.leg = l, nil
		s.markAnswered(c)
		c.carrierTo, c.carrierRR = res.to, res.rr
		c.carrierURI, c.carrierTarget = l.ruri, hop{addr: l.at.Addr, transport: transportUpper(l.at.Transport)}
		if u, ok := res.contactURI(); ok {
			c.carrierURI, c.carrierTarget = u, uriHop(u)
		}
		c.cseq[0] = max(c.cseq[0], c.req.CSeq().SeqNo) // early-dialog requests may have used more
		c.maxTimer = time.AfterFunc(s.maxCall, func() { s.maxDurationReached(c) })
		inv := c.inv
		l.tx.setAgain(func(res *response) { s.relayResponse(inv, res) }) // retransmissions go on to the customer
		s.relayResponse(c.inv, res)
		s.metrics.attempts.WithLabelValues("answered").Inc()
	default:
		out := outcome{code: res.code, reason: res.reason}
		switch last := c.attempt >= len(c.plan.Attempts); {
		case last && res.code == 503:
			// RFC 3261 §16.7 step 6: a carrier's 503 is not passed on (the
			// customer would take the switch itself for unavailable); the
			// CDR keeps the carrier's answer.
			s.reply(c.inv, c.req, 500, "Carrier Unavailable")
			out.relayed = true
		case last || !failover(res.code):
			s.relayResponse(c.inv, res)
			out.relayed = true
		}
		s.legEnded(c, out)
	}
}

// legEnded closes the current attempt with out: it fails over to the next
// carrier when there is one and the outcome allows it, else it answers the
// customer and ends the call. It reports whether the caller should try the
// next attempt (nextAttempt's loop); it starts it itself otherwise. c.mu is
// held.
func (s *Server) legEnded(c *call, out outcome) (tryNext bool) {
	at := c.carrier
	if c.legTimer != nil {
		c.legTimer.Stop()
	}
	inLoop := c.leg == nil
	c.leg = nil
	if c.attempt < len(c.plan.Attempts) && failover(out.code) && !out.final {
		s.metrics.attempts.WithLabelValues("failover").Inc()
		s.emit(s.record(c, &at, out, "carrier", false))
		if inLoop {
			return true
		}
		s.nextAttempt(c)
		return false
	}
	s.metrics.attempts.WithLabelValues("final").Inc()
	if !out.relayed {
		if out.code == 0 {
			out.code, out.reason = 408, "Request Timeout"
		}
		s.reply(c.inv, c.req, out.code, out.reason)
	}
	s.finish(c, &at, out, "carrier")
	return false
}

// legTimeout ends an attempt that got no answer in time (no response within
// the invite timeout, or ringing past the ring timeout): the carrier gets a
// CANCEL.
func (s *Server) legTimeout(c *call, l *leg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg != l || c.ended || s.now().Before(c.legDeadline) {
		return // moved on, or a response re-armed the timer as it fired
	}
	s.cancelLeg(c, l)
	out := outcome{reason: "No Response"}
	if c.provisional {
		// It rang and nobody answered: another carrier would ring the
		// same callee again.
		out = outcome{code: 408, reason: "No Answer", final: true}
	}
	s.log.Info("carrier did not answer", "carrier", l.at.CarrierID, "addr", l.at.Addr, "ringing", c.provisional)
	s.legEnded(c, out)
}

// legFailed ends an attempt whose INVITE could not be delivered.
func (s *Server) legFailed(c *call, l *leg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg != l || c.ended {
		return
	}
	s.log.Warn("carrier attempt failed: no response in time or transport error", "carrier", l.at.CarrierID, "addr", l.at.Addr)
	s.cancelLeg(c, l)
	s.legEnded(c, outcome{reason: "No Response"})
}

// customerCancelled ends a call the customer cancelled before it was
// answered: 487 to the INVITE, CANCEL to the carrier.
func (s *Server) customerCancelled(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || !c.answered.IsZero() {
		return
	}
	s.reply(c.inv, c.req, 487, "Request Terminated")
	var at *routing.Attempt
	if l := c.leg; l != nil {
		at = &l.at
	}
	s.metrics.attempts.WithLabelValues("cancelled").Inc()
	s.finish(c, at, outcome{code: 487, reason: "Request Terminated", cancelled: true, relayed: true}, "customer")
}

// cancelLeg gives up on attempt l: it stops retransmitting its INVITE and
// sends CANCEL once the carrier has responded at all (RFC 3261 §9.1). Its
// INVITE transaction stays to acknowledge the 487; a 2xx that crossed the
// CANCEL is hung up. c.mu is held.
func (s *Server) cancelLeg(c *call, l *leg) {
	s.abandon(l.tx)
	s.cancelINVITE(l.tx, cancelFor(c.req, &l.fwd))
}

// cancelFor renders the CANCEL of req as forwarded with f.
func cancelFor(req *gosip.Request, f *forward) []byte {
	buf := getBuf()
	defer putBuf(buf)
	writeCancelOrAck(buf, gosip.CANCEL, req, f, "")
	return append([]byte(nil), buf.Bytes()...)
}

func (s *Server) markRinging(c *call) {
	if c.ringing.IsZero() {
		c.ringing = s.now()
		s.metrics.pdd.Observe(c.ringing.Sub(c.setup).Seconds())
	}
}

func (s *Server) markAnswered(c *call) {
	c.answered = s.now()
	if c.ringing.IsZero() {
		c.ringing = c.answered
		s.metrics.pdd.Observe(c.ringing.Sub(c.setup).Seconds())
	}
}

// relayResponse sends a response back on tx without the Via the switch
// added.
func (s *Server) relayResponse(tx *serverTx, res *response) {
	buf := getBuf()
	defer putBuf(buf)
	res.writeRelay(buf)
	s.respondBytes(tx, res.code, buf.Bytes())
}

func sourceAddr(req *gosip.Request) netip.Addr {
	ap, err := netip.ParseAddrPort(req.Source())
	if err == nil {
		return ap.Addr().Unmap()
	}
	host, _, _ := net.SplitHostPort(req.Source())
	a, _ := netip.ParseAddr(host)
	return a.Unmap()
}

func splitHostPort(addr string) (string, int) {
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return addr, 0
	}
	port, _ := strconv.Atoi(p)
	return host, port
}

func transportUpper(t string) string {
	if strings.EqualFold(t, "tcp") {
		return transportTCP
	}
	return transportUDP
}
