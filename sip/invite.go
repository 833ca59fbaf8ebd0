package sip

import (
	"bytes"
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip/border"
)

// outcome is how one carrier attempt ended.
type outcome struct {
	code      int // final SIP code; 0 when the carrier never answered
	reason    string
	answered  bool
	cancelled bool
	relayed   bool // the final response already went to the customer
	final     bool // no other carrier may be tried (the callee did not answer)
	limit     bool // not sent: the carrier or its endpoint was at a limit
}

// leg is one carrier attempt: its dialog and its INVITE transaction.
type leg struct {
	at    routing.Attempt
	b     side
	tx    *clientTx
	inv   []byte    // the INVITE as sent
	rang  time.Time // its first provisional response other than 100, for PDD
	ring  bool      // it sent 180 Ringing (183 alone may be an announcement)
	relay bool      // its media goes through the switch's relay
}

// onInvite takes a new call: it authenticates and routes it and sends it to
// the first carrier of the plan. Everything after happens in response to
// events (carrier responses, CANCEL, timers), under the call's lock.
func (s *Server) onInvite(req *gosip.Request, tx *serverTx) {
	if s.admit(req, tx) {
		return
	}
	if s.draining.Load() {
		s.reply(tx, req, 503, "Service Unavailable", gosip.NewHeader("Retry-After", "30"))
		s.metrics.calls.WithLabelValues("rejected").Inc()
		return
	}
	if s.recovering.Load() {
		s.reply(tx, req, 503, "Service Unavailable", gosip.NewHeader("Retry-After", "2"))
		s.metrics.calls.WithLabelValues("rejected").Inc()
		return
	}
	setup := s.now()
	src := sourceAddr(req)
	ident, ok := s.authenticate(req, tx, src)
	if !ok {
		s.metrics.calls.WithLabelValues("rejected").Inc()
		return
	}
	c := s.newCall(req, tx, src)
	c.ident, c.setup = ident, setup
	if !s.calls.add(c) {
		s.servers.remove(tx.key, tx)
		return // a retransmission of a call in progress
	}
	if tx.conn != nil {
		tx.conn.hold()
	}
	// Taken: stop the customer's retransmissions now.
	s.answerInvite(c, 100, "Trying")
	s.metrics.active.Inc()
	s.taken.Add(1)
	// The customer's limits come first: a customer over its calls per
	// second costs no routing, whatever it dials.
	var leases *routing.Leases
	var err error
	limited := false
	if s.limits != nil {
		entry := routing.Entry{ID: ident.Entry, Channels: ident.EntryChannels, CPS: ident.EntryCPS}
		ctx, cancel := s.setupContext()
		leases, err = s.limits.Admit(ctx, ident.CustomerID, entry, c.id)
		cancel()
		if err != nil {
			_, reason := routing.Status(err)
			s.metrics.limitRefusals.WithLabelValues(limitLabel(reason)).Inc()
			limited = true
		}
	}
	var plan *routing.Plan
	if err == nil {
		plan, err = s.router.Route(context.Background(), routing.Call{
			CustomerID: ident.CustomerID, TechPrefix: ident.TechPrefix, Dialled: req.Recipient.User, Caller: fromUser(req), At: setup,
		})
	}
	var grant *routing.Grant
	if err == nil && s.credit != nil {
		ctx, cancel := s.setupContext()
		grant, err = s.credit.Open(ctx, plan, c.id)
		cancel()
		if err != nil {
			code, _ := routing.Status(err)
			s.metrics.creditRefusals.WithLabelValues(strconv.Itoa(code)).Inc()
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.grant, c.leases = grant, leases
	if c.ended {
		s.endCredit(c, false)
		s.endLimits(c)
		return // ended while it was routed
	}
	s.armLimits(c)
	if err != nil {
		code, reason := routing.Status(err)
		s.log.Info("call rejected", "customer", ident.CustomerID, "code", code, "reason", reason, "error", err)
		var lines []string
		if limited {
			lines = append(lines, reasonLine(code, reason))
		}
		s.metrics.refusals.WithLabelValues(strconv.Itoa(code), reason).Inc()
		s.answerInvite(c, code, reason, lines...)
		s.finish(c, nil, outcome{code: code, reason: reason}, "switch")
		return
	}
	c.plan = plan
	if r := s.prepareOutbound(c, req); r != nil {
		s.log.Info("call refused: malformed", "customer", ident.CustomerID, "code", r.code, "reason", r.reason)
		s.metrics.refusals.WithLabelValues(strconv.Itoa(r.code), r.reason).Inc()
		s.answerInvite(c, r.code, r.reason, r.lines...)
		s.finish(c, nil, outcome{code: r.code, reason: r.reason}, "switch")
		return
	}
	tx.mu.Lock()
	tx.onCancel = func() { s.customerCancelled(c) }
	cancelled := tx.cancelled
	tx.mu.Unlock()
	if cancelled {
		s.answerInvite(c, 487, "Request Terminated")
		s.finish(c, nil, outcome{code: 487, reason: "Request Terminated", cancelled: true, relayed: true}, "customer")
		return
	}
	s.nextAttempt(c)
}

// newCall builds the call of a customer's INVITE and its customer leg.
func (s *Server) newCall(req *gosip.Request, tx *serverTx, src netip.Addr) *call {
	id, tags := newIDs(1)
	fromTag, _ := req.From().Params.Get("tag")
	c := &call{
		id: id, source: src.String(), caller: fromUser(req), dialled: req.Recipient.User,
		invKey: tx.key, invSeq: req.CSeq().SeqNo, inv: tx, aHead: responseHead(req, tags[0]), aRR: recordRoutes(req),
	}
	to := req.To()
	c.a = side{
		callID: req.CallID().Value(), localTag: tags[0], remoteTag: fromTag,
		local: to.Value() + ";tag=" + tags[0], remote: req.From().Value(),
		target: gosip.Uri{Scheme: "sip", Host: src.String()},
		next:   hop{addr: req.Source(), transport: transportUpper(req.Transport())},
		routes: upstreamRoutes(req), peers: []netip.Addr{src}, remoteSeq: req.CSeq().SeqNo,
		pinned: true, conn: tx.conn,
	}
	if ct := req.Contact(); ct != nil && ct.Address.Host != "" {
		c.a.target = ct.Address
	}
	return c
}

// prepareOutbound checks what of the customer's INVITE crosses to carriers
// and keeps it on c. c.mu is held.
func (s *Server) prepareOutbound(c *call, req *gosip.Request) *refusal {
	p := s.customerPolicy(c)
	lines, body, r := crossing(req, border.ToCarrier, p)
	if r != nil {
		return r
	}
	from := req.From()
	name := border.Unescape(from.DisplayName)
	if border.CheckDisplayName(name) != nil {
		return refuse(400, "Malformed From Display Name")
	}
	user := fromUser(req)
	if border.CheckUser(user) != nil {
		return refuse(400, "Malformed From User")
	}
	c.out = outbound{from: border.Address(name, "sip", user, s.advertiseHost()), name: name, headers: lines, body: body, maxFwd: 70}
	if mf := req.MaxForwards(); mf != nil {
		c.out.maxFwd = min(int(mf.Val())-1, 70)
	}
	if c.plan.Customer.Trusted {
		for _, name := range []string{"P-Asserted-Identity", "Remote-Party-ID"} {
			for _, h := range req.GetHeaders(name) {
				v, err := border.Identity(h.Value(), s.advertiseHost())
				if err != nil {
					return refuse(400, "Malformed "+name)
				}
				c.out.headers = append(c.out.headers, "P-Asserted-Identity: "+v)
				break
			}
		}
	}
	if s.relay != nil {
		host := ""
		if ct := req.Contact(); ct != nil {
			host = ct.Address.Host
		}
		c.relayWanted = wantsRelay(c.plan.Customer.MediaRelay, sourceAddr(req), body, host)
		if r := s.openMedia(c, lines, body); r != nil {
			return r
		}
	}
	return s.offerTimer(c, req)
}

// fromUser is the caller of a request: its From URI's user, or a tel URI's
// number (which sipgo keeps apart).
func fromUser(req *gosip.Request) string {
	a := req.From().Address
	if strings.EqualFold(a.Scheme, "tel") {
		n, _, _ := strings.Cut(a.Raw(), ";")
		return n
	}
	return a.User
}

// customerPolicy is the header policy from c's customer to carriers.
func (s *Server) customerPolicy(c *call) *border.Policy {
	if c.plan == nil || len(c.plan.Customer.SIPHeaders) == 0 {
		return s.policy
	}
	p, err := s.policy.With(border.ToCarrier, c.plan.Customer.SIPHeaders)
	if err != nil {
		return s.policy
	}
	return p
}

// carrierPolicy is the header policy from a carrier whose own additions
// are headers to customers.
func (s *Server) carrierPolicy(headers []string) *border.Policy {
	if len(headers) == 0 {
		return s.policy
	}
	p, err := s.policy.With(border.ToCustomer, headers)
	if err != nil {
		return s.policy
	}
	return p
}

// nextAttempt sends the INVITE to the next carrier of the plan; a carrier
// the switch cannot send to counts as one that did not answer. c.mu is held.
func (s *Server) nextAttempt(c *call) {
	for c.attempt < len(c.plan.Attempts) {
		at := c.plan.Attempts[c.attempt]
		c.attempt++
		c.carrier, c.tried, c.provisional = at, s.now(), false
		if c.unrelayable && s.relays(c, &at) {
			// Its media must go through the relay, which cannot take
			// the customer's offer: not sent.
			if !s.legEnded(c, outcome{code: 488, reason: "Media Not Relayable", limit: true}) {
				return
			}
			continue
		}
		if why := s.attemptLimit(c, at); why != "" {
			// At its limit: an attempt that ends before it is sent.
			if !s.legEnded(c, outcome{code: 503, reason: why, limit: true}) {
				return
			}
			continue
		}
		s.refreshAttempt(c)
		if s.sendAttempt(c, at) || !s.legEnded(c, outcome{reason: "Transport Error"}) {
			return
		}
	}
}

// sendAttempt sends c to carrier endpoint at on a new leg and arms the
// first reply's timeout, or the carrier's post-dial delay when that comes
// first. It reports false when the INVITE could not be sent. c.mu is held.
func (s *Server) sendAttempt(c *call, at routing.Attempt) bool {
	l, err := s.sendInvite(c, at)
	if err != nil {
		s.log.Warn("carrier attempt failed", "carrier", at.CarrierID, "addr", at.Addr, "error", err)
		return false
	}
	d := orDefault(at.FirstReplyTimeout, s.inviteTimeout)
	if at.PDD > 0 {
		d = min(d, at.PDD)
	}
	c.leg = l
	c.legDeadline = s.now().Add(d)
	c.legTimer = time.AfterFunc(d, func() { s.legTimeout(c, l) })
	return true
}

// sendInvite sends the call to one carrier endpoint on a new leg: the
// switch's Call-ID, tag, Via and Contact, the caller as the switch presents
// it, and what crosses of the customer's INVITE. c.mu is held.
func (s *Server) sendInvite(c *call, at routing.Attempt) (*leg, error) {
	host, port := splitHostPort(at.Addr)
	out := transportUpper(at.Transport)
	called, from := c.plan.Number, c.out.from
	if at.Called != "" { // the carrier's outbound translation
		called = numberUser(at.Called)
	}
	if at.Calling != "" {
		from = border.Address(c.out.name, "sip", numberUser(at.Calling), s.advertiseHost())
	}
	ruri := gosip.Uri{Scheme: "sip", User: called, Host: host, Port: port}
	if out == transportTCP {
		ruri.UriParams = gosip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	tag := newTag()
	l := &leg{at: at, b: side{
		callID: c.id, localTag: tag, local: from + ";tag=" + tag,
		remote: "<sip:" + called + "@" + uriHost(host) + ">",
		target: ruri, next: hop{addr: at.Addr, transport: out}, localSeq: 1, carrier: true, headers: at.Headers,
		allowsUpdate: true, // until its Allow says otherwise
	}}
	if ap, ok := s.tp.lookup(at.Addr); ok {
		l.b.peers = append(l.b.peers, ap.Addr())
	}
	data, branch, next := s.legRequest(&l.b, gosip.INVITE, 1, c.out.maxFwd, c.out.headers, s.attemptMedia(c, l))
	l.inv = data
	l.tx = &clientTx{key: txKey{branch: branch, method: gosip.INVITE}, to: next, data: data}
	l.tx.handle = func(res *response) { s.legResponse(c, l, res) }
	l.tx.failed = func() { s.legFailed(c, l) }
	l.tx.ackFor = func(res *response) []byte { return derive(data, gosip.ACK, res.to) }
	l.tx.leg = legIDs{local: l.b.local, call: c.id, carrier: at.CarrierID}
	s.calls.addLeg(c, l)
	c.legs = append(c.legs, l)
	return l, s.request(l.tx, true)
}

// numberUser is a translated number (digits, "#", "*", "+") as the user
// part of a SIP URI. It goes as it is: RFC 3261 §25.1 would escape "#" as
// "%23", but carriers that ask for a tech prefix such as "1234#" match the
// raw characters (as Kamailio and FreeSWITCH send them).
func numberUser(n string) string { return n }

// legResponse handles a carrier's response to the INVITE of attempt l.
func (s *Server) legResponse(c *call, l *leg, res *response) {
	c.mu.Lock()
	defer c.mu.Unlock()
	// A 2xx may still come from another branch behind the carrier after a
	// final answer: the transaction's record has it hung up (answeredDone).
	if c.leg != l || c.ended {
		// An attempt the switch gave up on (CANCEL, timeout, the call
		// ended; its transaction sends the CANCEL): a 2xx that crossed
		// the CANCEL is acknowledged and hung up.
		if res.success() {
			s.hangUpStray(l.tx.key.branch, l.tx.leg, l.tx.to, res)
		}
		return
	}
	switch {
	case res.code == 100:
		if !c.provisional {
			// Trying: the carrier's post-dial delay (from the INVITE)
			// runs on, else the ring timeout.
			d := orDefault(l.at.RingTimeout, s.ringTimeout)
			if l.at.PDD > 0 {
				d = c.tried.Add(l.at.PDD).Sub(s.now())
			}
			c.legDeadline = s.now().Add(d)
			c.legTimer.Reset(d)
		}
	case res.provisional():
		if !c.provisional {
			c.provisional, l.rang = true, s.now()
			s.markRinging(c)
			d := orDefault(l.at.RingTimeout, s.ringTimeout)
			c.legDeadline = s.now().Add(d)
			c.legTimer.Reset(d)
		}
		l.ring = l.ring || res.code == 180
		s.learnDialog(&l.b, res, false)
		if vs := responseValues(res, "allow"); len(vs) > 0 {
			l.b.allowsUpdate = allowsUpdate(vs)
		}
		s.toCustomer(c, l, res)
	case res.success():
		lines, body, ok := crossingResponse(res, border.ToCustomer, s.carrierPolicy(l.at.Headers))
		final := false // the callee answered: another carrier would ring it again
		if ok && l.relay {
			var err error
			body, err = s.relayBody(c, carrierSide, lines, body)
			ok, final = err == nil, err != nil
		}
		if !ok {
			s.metrics.dropped.WithLabelValues("malformed-answer").Inc()
			s.log.Warn("carrier answer refused: malformed body", "call", c.id, "carrier", l.at.CarrierID)
			s.hangUpStray(l.tx.key.branch, l.tx.leg, l.tx.to, res)
			s.cancelTimer(c)
			s.legEnded(c, outcome{code: 502, reason: "Bad Gateway", final: final})
			return
		}
		c.legTimer.Stop()
		c.answeredLeg, c.leg = l, nil
		s.markAnswered(c)
		s.mediaAnswered(c, l)
		s.attemptEnded(c, l, res.code)
		s.learnDialog(&l.b, res, true)
		c.maxTimer = time.AfterFunc(s.maxCallOf(c), func() { s.maxDurationReached(c) })
		lines = s.answerTimer(c, l, res, lines)
		s.startCredit(c)
		buf := getBuf()
		s.inviteResponse(buf, c, res.code, safeReason(res), true, lines, body)
		s.answer2xx(c, c.inv, &c.a, &l.b, c.invSeq, 1, l.tx.key.branch, append([]byte(nil), buf.Bytes()...))
		putBuf(buf)
		// What only further attempts need goes now: an answered call is
		// held for hours, thousands at a time.
		c.out, l.inv = outbound{}, nil
		if _, _, nh := l.b.routes.request(l.b.target, l.b.next); nh.transport == transportTCP {
			// The connection to the dialog's next hop (its Contact, or the
			// first proxy of its route set) carries the call's requests.
			if ap, ok := s.tp.lookup(nh.addr); ok {
				if conn := s.tp.conn(ap.String()); conn != nil {
					conn.hold() // the connection the switch dialled carries the call
					l.b.conn = conn
				}
			}
		}
		s.metrics.attempts.WithLabelValues("answered").Inc()
		s.callUp(c)
	case res.code == 422 && s.retryTimer(c, res):
		// The carrier wants a longer session interval than the switch
		// offered: the same attempt, asked again.
		c.legTimer.Stop()
		c.leg = nil
		if !s.sendAttempt(c, c.carrier) && s.legEnded(c, outcome{reason: "Transport Error"}) {
			s.nextAttempt(c)
		}
	default:
		out := outcome{code: res.code, reason: cdrReason(res)}
		switch last := c.attempt >= len(c.plan.Attempts); {
		case (last || !failoverAt(&l.at, res.code)) && (res.code == 503 || carrierOnly(res.code)):
			// RFC 3261 §16.7 step 6: a carrier's 503 is not passed on (the
			// customer would take the switch itself for unavailable), nor
			// is a redirect or a challenge meant for the switch; the CDR
			// keeps the carrier's answer.
			s.answerInvite(c, 500, "Carrier Unavailable")
			out.relayed = true
		case last || !failoverAt(&l.at, res.code):
			s.toCustomer(c, l, res)
			out.relayed = true
		}
		s.legEnded(c, out)
	}
}

// cancelTimer stops the current attempt's timer. c.mu is held.
func (s *Server) cancelTimer(c *call) {
	if c.legTimer != nil {
		c.legTimer.Stop()
	}
}

// learnDialog takes the carrier's side of leg b's dialog from a response
// to its INVITE: its tag and To, its Contact and, for a 2xx, the route set
// (RFC 3261 §12.1.2). c.mu is held.
func (s *Server) learnDialog(b *side, res *response, confirmed bool) {
	tag := res.toTag()
	if tag == "" {
		return
	}
	if b.remoteTag != "" && b.remoteTag != tag && !confirmed {
		return // another early dialog behind the carrier: the first one stays
	}
	b.remoteTag, b.remote = tag, res.to
	if u, ok := res.contactURI(); ok {
		b.target, b.next = u, uriHop(u)
		if ap, ok := s.tp.lookup(b.next.addr); ok {
			b.peers = appendAddr(b.peers, ap.Addr())
		}
	}
	if confirmed {
		b.routes = s.downstreamRoutes(res.rr)
		if len(b.routes) > 0 {
			if ap, ok := s.tp.lookup(uriHop(b.routes[0]).addr); ok {
				b.peers = appendAddr(b.peers, ap.Addr())
			}
		}
	}
}

func appendAddr(as []netip.Addr, a netip.Addr) []netip.Addr {
	for _, x := range as {
		if x == a {
			return as
		}
	}
	return append(as, a)
}

// toCustomer answers the customer's INVITE with a carrier's response as the
// customer leg's own: the switch's identifiers and Contact, the crossing
// headers and body of res. c.mu is held.
func (s *Server) toCustomer(c *call, l *leg, res *response) {
	lines, body, _ := crossingResponse(res, border.ToCustomer, s.carrierPolicy(l.at.Headers))
	if l.relay {
		var err error
		if body, err = s.relayBody(c, carrierSide, lines, body); err != nil {
			lines = withoutBody(lines) // early media the relay cannot take: the answer goes without it
		}
	}
	buf := getBuf()
	defer putBuf(buf)
	s.inviteResponse(buf, c, res.code, safeReason(res), res.code < 300, lines, body)
	s.respondBytes(c.inv, res.code, buf.Bytes())
}

// inviteResponse renders a response to the customer's INVITE into buf.
func (s *Server) inviteResponse(buf *bytes.Buffer, c *call, code int, reason string, contact bool, lines []string, body []byte) {
	ct := ""
	if contact && code > 100 {
		ct = s.contactLine(c.a.next.transport)
		if len(c.aRR) > 0 {
			ct = string(c.aRR) + ct
		}
	}
	renderResponse(buf, code, reason, c.aHead, ct, lines, body)
}

// answerInvite answers the customer's INVITE with a status of the switch's
// own.
func (s *Server) answerInvite(c *call, code int, reason string, lines ...string) {
	if code >= 300 {
		s.metrics.rejects.WithLabelValues(strconv.Itoa(code)).Inc()
	}
	buf := getBuf()
	defer putBuf(buf)
	s.inviteResponse(buf, c, code, reason, false, lines, nil)
	s.respondBytes(c.inv, code, buf.Bytes())
}

// safeReason is the reason phrase the switch gives a response from the
// other leg: the standard phrase of its code (a party's own phrase may name
// its hosts: "503 Trunk 7 down sbc2.carrier.example"), or one for its
// class.
func safeReason(res *response) string { return phrase(res.code) }

// phrase is the standard reason phrase of a status code (RFC 3261 §21 and
// extensions), or a generic one for its class.
func phrase(code int) string {
	if p, ok := phrases[code]; ok {
		return p
	}
	switch {
	case code < 200:
		return "Session Progress"
	case code < 300:
		return "OK"
	case code < 400:
		return "Redirected"
	case code < 500:
		return "Request Failed"
	case code < 600:
		return "Server Error"
	}
	return "Global Failure"
}

var phrases = map[int]string{
	100: "Trying", 180: "Ringing", 181: "Call Is Being Forwarded", 182: "Queued", 183: "Session Progress",
	200: "OK", 202: "Accepted", 300: "Multiple Choices", 301: "Moved Permanently", 302: "Moved Temporarily",
	380: "Alternative Service", 400: "Bad Request", 401: "Unauthorized", 402: "Payment Required", 403: "Forbidden",
	404: "Not Found", 405: "Method Not Allowed", 406: "Not Acceptable", 407: "Proxy Authentication Required",
	408: "Request Timeout", 410: "Gone", 413: "Request Entity Too Large", 414: "Request-URI Too Long",
	415: "Unsupported Media Type", 416: "Unsupported URI Scheme", 420: "Bad Extension", 421: "Extension Required",
	422: "Session Interval Too Small", 423: "Interval Too Brief", 480: "Temporarily Unavailable",
	481: "Call/Transaction Does Not Exist", 482: "Loop Detected", 483: "Too Many Hops", 484: "Address Incomplete",
	485: "Ambiguous", 486: "Busy Here", 487: "Request Terminated", 488: "Not Acceptable Here", 491: "Request Pending",
	493: "Undecipherable", 500: "Server Internal Error", 501: "Not Implemented", 502: "Bad Gateway",
	503: "Service Unavailable", 504: "Server Time-out", 505: "Version Not Supported", 513: "Message Too Large",
	580: "Precondition Failure", 600: "Busy Everywhere", 603: "Decline", 604: "Does Not Exist Anywhere",
	606: "Not Acceptable",
}

// cdrReason is a response's own reason phrase for the CDR, when it is
// printable text (the CDR is the operator's; the other party never sees it).
func cdrReason(res *response) string {
	if len(res.reason) <= 128 && border.CheckValue("x-reason", res.reason) == nil {
		return res.reason
	}
	return phrase(res.code)
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
	if !out.limit {
		s.attemptEnded(c, c.leg, out.code)
	}
	inLoop := c.leg == nil
	c.leg = nil
	side := "carrier"
	var lines []string
	if out.limit {
		side, lines = "switch", []string{reasonLine(out.code, out.reason)}
	}
	if c.attempt < len(c.plan.Attempts) && (out.limit || failoverAt(&at, out.code)) && !out.final {
		s.metrics.attempts.WithLabelValues("failover").Inc()
		s.emit(s.record(c, &at, out, side, false), nil, false)
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
		s.answerInvite(c, out.code, out.reason, lines...)
	}
	s.finish(c, &at, out, side)
	return false
}

// legTimeout ends an attempt that got no answer in time (no response within
// the first reply timeout, no ringing within the carrier's post-dial delay,
// or ringing past the ring timeout): the carrier gets a CANCEL.
func (s *Server) legTimeout(c *call, l *leg) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.leg != l || c.ended || s.now().Before(c.legDeadline) {
		return // moved on, or a response re-armed the timer as it fired
	}
	s.cancelLeg(l)
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
	s.cancelLeg(l)
	if c.provisional {
		// It rang (Timer C, RFC 3261 §16.6): the callee did not answer;
		// another carrier would ring the same callee again.
		s.legEnded(c, outcome{code: 408, reason: "No Answer", final: true})
		return
	}
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
	s.answerInvite(c, 487, "Request Terminated")
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
// CANCEL is hung up.
func (s *Server) cancelLeg(l *leg) {
	s.abandon(l.tx)
	s.cancelINVITE(l.tx, derive(l.inv, gosip.CANCEL, ""))
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
