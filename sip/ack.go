package sip

import (
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// ackWait is a 2xx answer to an INVITE that the switch passed to one leg
// (x) and whose ACK it carries to the other (y). The switch is the UAS on
// x: it retransmits the 2xx over UDP until the ACK comes (RFC 3261
// §13.3.1.4), then sends the ACK on y with y's INVITE CSeq and the body x's
// ACK carried; y's retransmitted 2xx get that ACK again (from its record
// under ack, see answeredDone).
type ackWait struct {
	x, y       *side
	xSeq, ySeq uint32 // the INVITE's CSeq on each leg
	res        []byte // the 2xx as sent to x
	dst        hop
	conn       *tcpConn
	interval   time.Duration
	deadline   time.Time
	timer      *time.Timer
	acked      bool  // the ACK went on y
	ack        txKey // where the ACK sent on y is kept: ackKey of y's INVITE and dialog
}

// ackKey is where the ACK of the dialog with To tag tag, set up by the
// INVITE sent with branch, is recorded among the ended client
// transactions, for the 2xx retransmissions it answers.
func ackKey(branch, tag string) txKey {
	return txKey{branch: branch, sentBy: tag, method: gosip.ACK}
}

// answer2xx sends res, a 2xx to x's INVITE on tx, and waits for its ACK;
// yBranch is the branch of the INVITE on y that res answers. c.mu is held.
func (s *Server) answer2xx(c *call, tx *serverTx, x, y *side, xSeq, ySeq uint32, yBranch string, res []byte) *ackWait {
	aw := &ackWait{x: x, y: y, xSeq: xSeq, ySeq: ySeq, res: res, dst: tx.from, conn: tx.conn, deadline: s.now().Add(s.timer64()), ack: ackKey(yBranch, y.remoteTag)}
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
	s.clients.record(aw.ack, doneTx{to: to, data: ack, ack: true}, s.now(), s.linger)
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

// answeredDone handles a response to a client transaction that has ended
// (its record d, under key): a non-2xx final answer again gets its ACK
// again; a 2xx to an INVITE gets the ACK of its dialog again once the
// switch sent it; the INVITE's first 2xx again gets nothing before (its
// handler is at work, or the customer's ACK is awaited), and a 2xx of
// another dialog (another fork behind the carrier answered too) is
// acknowledged and hung up. Any other answer is absorbed.
func (s *Server) answeredDone(key txKey, d doneTx, res *response) {
	switch {
	case key.method != gosip.INVITE:
	case res.code >= 300:
		if len(d.data) > 0 {
			_ = s.send(d.data, d.to, nil, nil)
		}
	case res.success():
		tag := res.toTag()
		if a, ok := s.clients.findDone(ackKey(key.branch, tag)); ok {
			_ = s.send(a.data, a.to, nil, nil)
			return
		}
		if d.leg.local != "" && tag != d.tag {
			s.hangUpStray(key.branch, d.leg, d.to, res)
		}
	}
}

// hangUpStray acknowledges and hangs up res, a 2xx to the INVITE sent with
// branch on leg to the hop to, which the customer will never see (it
// crossed a CANCEL or a timeout, came after another final answer, or its
// body could not be taken): an ACK and a BYE on the dialog it set up, so
// the carrier does not bill a call nobody is on (RFC 3261 §16.7). The ACK
// is recorded for the 2xx's retransmissions. The dialog is built from
// the leg's own identifiers and what res says of the carrier's side, never
// from a Call-ID or From the response chose.
func (s *Server) hangUpStray(branch string, leg legIDs, to hop, res *response) {
	d := side{callID: leg.call, local: leg.local, next: to, localSeq: 1, carrier: true}
	if host, port := splitHostPort(to.addr); host != "" {
		d.target = gosip.Uri{Scheme: "sip", Host: host, Port: port} // until its Contact says otherwise
	}
	s.learnDialog(&d, res, true)
	if d.remoteTag == "" {
		return
	}
	ack, _, ackTo := s.legRequest(&d, gosip.ACK, 1, 70, nil, nil)
	if !s.clients.recordNew(ackKey(branch, d.remoteTag), doneTx{to: ackTo, data: ack, ack: true}, s.now(), s.linger) {
		return // the same 2xx, read twice at once: hung up by the other reader
	}
	if err := s.send(ack, ackTo, nil, nil); err != nil {
		s.log.Debug("ACK to carrier failed", "error", err)
	}
	s.sendBye(&d)
	s.log.Info("hung up a carrier answer the customer will not get", "call", leg.call, "carrier", leg.carrier)
}
