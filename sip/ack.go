package sip

import (
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// ackWait is a 2xx answer to an INVITE that the switch passed to one leg
// (x) and whose ACK it carries to the other (y). The switch is the UAS on
// x: it retransmits the 2xx over UDP until the ACK comes (RFC 3261
// §13.3.1.4), then sends the ACK on y with y's INVITE CSeq and the body x's
// ACK carried; y's retransmitted 2xx get that ACK again.
type ackWait struct {
	x, y       *side
	xSeq, ySeq uint32 // the INVITE's CSeq on each leg
	res        []byte // the 2xx as sent to x
	dst        hop
	conn       *tcpConn
	interval   time.Duration
	deadline   time.Time
	timer      *time.Timer
	acked      bool // the ACK went on y
	sent       *sentAck
}

// sentAck is the ACK sent on y, for the retransmissions of y's 2xx: it is
// kept apart from the call so that a lingering transaction does not keep
// the call alive.
type sentAck struct {
	mu   sync.Mutex
	data []byte
	to   hop
}

// answer2xx sends res, a 2xx to x's INVITE on tx, and waits for its ACK.
// c.mu is held.
func (s *Server) answer2xx(c *call, tx *serverTx, x, y *side, xSeq, ySeq uint32, res []byte) *ackWait {
	aw := &ackWait{x: x, y: y, xSeq: xSeq, ySeq: ySeq, res: res, dst: tx.from, conn: tx.conn, deadline: s.now().Add(s.timer64()), sent: &sentAck{}}
	c.acks = append(c.acks, aw)
	s.respondBytes(tx, 200, res)
	wait := s.timer64()
	if aw.dst.transport == transportUDP {
		aw.interval = s.t1
		wait = s.t1
	}
	aw.timer = time.AfterFunc(wait, func() { s.ackTimer(c, aw) })
	return aw
}

// ackTimer retransmits a 2xx not yet acknowledged, and ends the call when
// no ACK came in 64·T1: the other leg gets its ACK, both legs a BYE.
func (s *Server) ackTimer(c *call, aw *ackWait) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if aw.acked || c.ended {
		return
	}
	if !s.now().Before(aw.deadline) || aw.interval == 0 {
		s.log.Info("no ACK for an answered INVITE: hanging up", "call", c.id)
		s.metrics.dropped.WithLabelValues("no-ack").Inc()
		s.sendAck(c, aw, nil, nil)
		s.byeBoth(c)
		s.finish(c, nil, outcome{code: 200, reason: "No ACK", answered: !c.answered.IsZero()}, "switch")
		return
	}
	_ = s.send(aw.res, aw.dst, aw.conn, nil)
	aw.interval = min(2*aw.interval, s.t2())
	aw.timer.Reset(min(aw.interval, time.Until(aw.deadline)+time.Millisecond))
}

// sendAck sends the ACK of aw on its y leg. c.mu is held.
func (s *Server) sendAck(c *call, aw *ackWait, lines []string, body []byte) {
	aw.timer.Stop()
	ack, _, to := s.legRequest(aw.y, gosip.ACK, aw.ySeq, 70, lines, body)
	aw.acked = true
	aw.sent.mu.Lock()
	aw.sent.data, aw.sent.to = ack, to
	aw.sent.mu.Unlock()
	c.acks = removeAck(c.acks, aw)
	if err := s.send(ack, to, nil, nil); err != nil {
		s.log.Debug("ACK failed", "to", to.addr, "error", err)
	}
}

// ackPending sends the ACK of every answer still waiting for it on the
// other leg: a call ended before its ACK came still acknowledges each 2xx
// before its BYE (RFC 3261 §13.2.2.4). c.mu is held.
func (s *Server) ackPending(c *call) {
	for _, aw := range append([]*ackWait(nil), c.acks...) {
		s.sendAck(c, aw, nil, nil)
	}
	c.acks = nil
}

// reACK returns what a retransmitted 2xx on y gets: the ACK again, once
// sent.
func (s *Server) reACK(a *sentAck) func(*response) {
	return func(*response) {
		a.mu.Lock()
		ack, to := a.data, a.to
		a.mu.Unlock()
		if ack != nil {
			_ = s.send(ack, to, nil, nil)
		}
	}
}

func removeAck(as []*ackWait, aw *ackWait) []*ackWait {
	for i, a := range as {
		if a == aw {
			return append(as[:i], as[i+1:]...)
		}
	}
	return as
}

// onAck takes the ACK of a 2xx the switch sent (an ACK of a non-2xx matched
// its INVITE transaction before reaching here): from the leg's party, for
// an INVITE of that leg waiting for it. Anything else is dropped; ACK is
// never answered.
func (s *Server) onAck(req *gosip.Request) {
	s.metrics.requests.WithLabelValues("ACK").Inc()
	if req.CallID() == nil || req.From() == nil || req.To() == nil || req.Via() == nil || req.CSeq() == nil {
		return
	}
	symmetric(req)
	toTag, _ := req.To().Params.Get("tag")
	e, ok := s.calls.dialog(req.CallID().Value(), toTag)
	if !ok {
		s.metrics.dropped.WithLabelValues("no-dialog").Inc()
		return
	}
	c := e.c
	c.mu.Lock()
	defer c.mu.Unlock()
	from, _ := c.sides(e.leg)
	fromTag, _ := req.From().Params.Get("tag")
	src := sourceAddr(req)
	if from == nil || !from.from(src) && !s.sameParty(c, from, src) || (from.remoteTag != "" && fromTag != from.remoteTag) {
		s.metrics.dropped.WithLabelValues("stranger").Inc()
		return
	}
	for _, aw := range c.acks {
		if aw.x == from && aw.xSeq == req.CSeq().SeqNo {
			lines, body, r := crossing(req, from.direction(), s.policyFrom(c, from))
			if r != nil {
				lines, body = nil, nil // an ACK cannot be refused: it goes on without what is malformed
			}
			if b, err := s.relayBody(c, sideOf(from), lines, body); err == nil {
				body = b
			} else {
				lines, body = withoutBody(lines), nil
			}
			s.sendAck(c, aw, lines, body)
			return
		}
	}
}

// strayAnswers returns what a 2xx to attempt l gets when the customer will
// never see it (it crossed a CANCEL or a timeout, or came after another
// final answer): an ACK and a BYE on the dialog it set up, so the carrier
// does not bill a call nobody is on (RFC 3261 §16.7); a retransmission of a
// 2xx gets its ACK again. It keeps a copy of the leg, not the call, and is
// one object: every answered call's INVITE transaction holds one while it
// lingers. c.mu is held.
func (s *Server) strayAnswers(c *call, l *leg) func(*response) {
	st := &stray{s: s, base: l.b, id: c.id, carrier: l.at.CarrierID}
	st.base.remoteTag = ""
	st.base.routes = nil // a 2xx brings its own (learnDialog)
	return st.answer
}

// stray answers the 2xx answers of one attempt nobody waits for.
type stray struct {
	s           *Server
	base        side
	id, carrier string
	mu          sync.Mutex
	acks        map[string]func() // by the 2xx's To: one dialog each
}

func (st *stray) answer(res *response) {
	s := st.s
	st.mu.Lock()
	defer st.mu.Unlock()
	if again, ok := st.acks[res.to]; ok {
		again() // the carrier did not get the ACK
		return
	}
	d := st.base
	s.learnDialog(&d, res, true)
	if d.remoteTag == "" {
		return
	}
	ack, _, to := s.legRequest(&d, gosip.ACK, 1, 70, nil, nil)
	if st.acks == nil {
		st.acks = map[string]func(){}
	}
	st.acks[res.to] = func() { _ = s.send(ack, to, nil, nil) }
	if err := s.send(ack, to, nil, nil); err != nil {
		s.log.Debug("ACK to carrier failed", "error", err)
	}
	s.sendBye(&d)
	s.log.Info("hung up a carrier answer the customer will not get", "call", st.id, "carrier", st.carrier)
}
