package sip

import (
	"context"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// inDialogTimeout bounds how long the switch waits for the far end to answer
// an in-dialog request.
const inDialogTimeout = 32 * time.Second

func (s *Server) onAck(req *gosip.Request, tx gosip.ServerTransaction) {
	s.metrics.requests.WithLabelValues("ACK").Inc()
	if req.CallID() == nil || req.From() == nil {
		return
	}
	c := s.calls.get(req.CallID().Value())
	if c == nil {
		return // ACK is never answered; one for an unknown call is dropped
	}
	fwd, tr, ok := s.inDialogRequest(c, req)
	if !ok {
		return
	}
	if err := s.client(tr).WriteRequest(fwd, s.addVia); err != nil {
		s.log.Debug("forwarding ACK failed", "error", err)
	}
}

// admit is the first step of every request but ACK and CANCEL: count it,
// validate it (answering what fails), and forward it when it belongs to a
// dialog (To tag). It reports whether the request has been dealt with.
func (s *Server) admit(req *gosip.Request, tx gosip.ServerTransaction) bool {
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

func (s *Server) onBye(req *gosip.Request, tx gosip.ServerTransaction) {
	if !s.admit(req, tx) {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist") // a BYE outside any dialog
	}
}

func (s *Server) onCancel(req *gosip.Request, tx gosip.ServerTransaction) {
	// A CANCEL that matched an INVITE transaction was handled by sipgo's
	// transaction layer; this one matches nothing.
	s.metrics.requests.WithLabelValues("CANCEL").Inc()
	s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
}

func (s *Server) onOptions(req *gosip.Request, tx gosip.ServerTransaction) {
	if !s.admit(req, tx) {
		s.reply(tx, req, 200, "OK", gosip.NewHeader("Allow", allow))
	}
}

const allow = "INVITE, ACK, BYE, CANCEL, OPTIONS, INFO, UPDATE, PRACK, NOTIFY, REFER"

// onOther handles every method without its own handler: in-dialog requests
// are forwarded, anything else is refused.
func (s *Server) onOther(req *gosip.Request, tx gosip.ServerTransaction) {
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
// statefully, and ends the call when a BYE completes.
func (s *Server) forwardInDialog(req *gosip.Request, tx gosip.ServerTransaction) {
	c := s.calls.get(req.CallID().Value())
	if c == nil {
		s.reply(tx, req, 481, "Call/Transaction Does Not Exist")
		return
	}
	fwd, tr, ok := s.inDialogRequest(c, req)
	if !ok {
		s.reply(tx, req, 403, "Not A Party To This Call")
		return
	}
	side := "carrier"
	if fromCustomer(c, req) {
		side = "customer"
	}
	ctx, cancel := context.WithTimeout(context.Background(), inDialogTimeout)
	defer cancel()
	code, reason := 0, ""
	clTx, err := s.client(tr).TransactionRequest(ctx, fwd, s.addVia)
	if err != nil {
		s.log.Warn("forwarding in-dialog request failed", "method", req.Method, "error", err)
		s.reply(tx, req, 503, "Next Hop Unreachable")
		code, reason = 503, "Next Hop Unreachable"
	} else {
		code, reason = s.relayAll(req, tx, clTx, ctx)
		clTx.Terminate()
		if code == 0 {
			s.reply(tx, req, 408, "Request Timeout")
		}
	}
	if req.Method == gosip.BYE {
		s.finish(c, nil, outcome{code: 200, reason: "BYE", answered: true}, side)
		s.log.Debug("call ended", "call", c.id, "by", side, "bye_status", code, "bye_reason", reason)
	}
}

func fromCustomer(c *call, req *gosip.Request) bool {
	tag, _ := req.From().Params.Get("tag")
	return tag == c.fromTag
}

// inDialogRequest prepares a request inside call c for forwarding: the
// switch's own Route entries go, the next hop is the remaining route set or
// else the other party's recorded target (never a host taken from the
// Request-URI alone, so the switch relays only between a call's parties).
// Requests that claim to come from the customer must come from its address.
func (s *Server) inDialogRequest(c *call, req *gosip.Request) (*gosip.Request, string, bool) {
	byCustomer := fromCustomer(c, req)
	if byCustomer && sourceAddr(req).String() != c.source {
		s.log.Warn("in-dialog request from a stranger", "call", c.id, "source", req.Source())
		return nil, "", false
	}
	fwd := req.Clone()
	s.popOwnRoutes(fwd)
	var next hop
	if fwd.Route() != nil {
		next.addr, next.transport = nextHop(fwd)
	} else {
		next = c.peer(byCustomer)
	}
	fwd.SetDestination(next.addr)
	fwd.SetTransport(next.transport)
	decMaxForwards(fwd)
	return fwd, next.transport, true
}

// relayAll relays every response of a client transaction until the final
// one and returns its status (0 on timeout or transport failure).
func (s *Server) relayAll(req *gosip.Request, tx gosip.ServerTransaction, clTx gosip.ClientTransaction, ctx context.Context) (int, string) {
	for {
		select {
		case res, ok := <-clTx.Responses():
			if !ok {
				return 0, ""
			}
			if res.StatusCode == 100 {
				continue
			}
			s.relayResponse(req, tx, res)
			if res.StatusCode >= 200 {
				return res.StatusCode, res.Reason
			}
		case <-clTx.Done():
			return 0, ""
		case <-ctx.Done():
			return 0, ""
		}
	}
}
