package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/emiago/sipgo"
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
}

func (s *Server) onInvite(req *gosip.Request, tx gosip.ServerTransaction) {
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
		id: req.CallID().Value(), fromTag: fromTag, ident: ident,
		source: src.String(), caller: req.From().Address.User, dialled: req.Recipient.User, setup: setup,
		customerTarget: contactHop(req.Contact(), hop{addr: req.Source(), transport: transportUpper(req.Transport())}),
	}
	if !s.calls.add(c) {
		s.reply(tx, req, 482, "Loop Detected")
		return
	}
	// Taken: stop the customer's retransmissions now rather than after
	// sipgo's 200 ms timer.
	s.reply(tx, req, 100, "Trying")
	s.metrics.active.Inc()
	plan, err := s.router.Route(context.Background(), routing.Call{
		CustomerID: ident.CustomerID, TechPrefix: ident.TechPrefix, Dialled: req.Recipient.User, At: setup,
	})
	if err != nil {
		code, reason := routing.Status(err)
		s.log.Info("call rejected", "customer", ident.CustomerID, "code", code, "reason", reason, "error", err)
		s.reply(tx, req, code, reason)
		s.finish(c, nil, outcome{code: code, reason: reason}, "switch")
		return
	}
	c.plan = plan
	for i := range plan.Attempts {
		at := plan.Attempts[i]
		last := i == len(plan.Attempts)-1
		c.mu.Lock()
		c.attempt, c.carrier, c.tried = i+1, at, s.now()
		c.mu.Unlock()
		out := s.try(c, req, tx, at, last)
		switch {
		case out.answered:
			s.metrics.attempts.WithLabelValues("answered").Inc()
			return // the call lives on; BYE ends it
		case out.cancelled:
			s.metrics.attempts.WithLabelValues("cancelled").Inc()
			s.finish(c, &at, out, "customer")
			return
		case !last && failover(out.code):
			s.metrics.attempts.WithLabelValues("failover").Inc()
			s.writeCDR(c, &at, out, "carrier", false)
		default:
			s.metrics.attempts.WithLabelValues("final").Inc()
			if !out.relayed {
				code, reason := out.code, out.reason
				if code == 0 {
					code, reason = 408, "Request Timeout"
				}
				s.reply(tx, req, code, reason)
				out.code, out.reason = code, reason
			}
			s.finish(c, &at, out, "carrier")
			return
		}
	}
}

// try sends the INVITE to one carrier endpoint and relays what comes back
// until the attempt ends.
func (s *Server) try(c *call, req *gosip.Request, tx gosip.ServerTransaction, at routing.Attempt, last bool) outcome {
	fwd := req.Clone()
	host, port := splitHostPort(at.Addr)
	fwd.Recipient = gosip.Uri{Scheme: "sip", User: c.plan.Number, Host: host, Port: port}
	if at.Transport == "tcp" {
		fwd.Recipient.UriParams = gosip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	s.popOwnRoutes(fwd)
	fwd.SetDestination(at.Addr)
	fwd.SetTransport(strings.ToUpper(at.Transport))
	decMaxForwards(fwd)
	client := s.client(at.Transport)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	clTx, err := client.TransactionRequest(ctx, fwd, s.addVia, s.recordRoute(req.Transport(), at.Transport))
	if err != nil {
		s.log.Warn("carrier attempt failed", "carrier", at.CarrierID, "addr", at.Addr, "error", err)
		return outcome{code: 0, reason: "Transport Error"}
	}
	defer clTx.Terminate()

	timer := time.NewTimer(s.inviteTimeout)
	defer timer.Stop()
	provisional := false
	for {
		select {
		case res, ok := <-clTx.Responses():
			if !ok {
				return outcome{reason: "No Response"}
			}
			switch {
			case res.StatusCode == 100:
				if !provisional {
					timer.Reset(s.ringTimeout)
				}
			case res.IsProvisional():
				if !provisional {
					provisional = true
					s.markRinging(c)
					timer.Reset(s.ringTimeout)
				}
				s.relayResponse(req, tx, res)
			case res.IsSuccess():
				s.markAnswered(c, contactHop(res.Contact(), hop{addr: at.Addr, transport: transportUpper(at.Transport)}))
				s.relayResponse(req, tx, res)
				return outcome{code: res.StatusCode, reason: res.Reason, answered: true, relayed: true}
			default:
				out := outcome{code: res.StatusCode, reason: res.Reason}
				if last || !failover(res.StatusCode) {
					s.relayResponse(req, tx, res)
					out.relayed = true
				}
				return out
			}
		case <-clTx.Done():
			s.log.Info("carrier did not answer", "carrier", at.CarrierID, "addr", at.Addr, "error", clTx.Err())
			return outcome{reason: "No Response"}
		case <-tx.Done():
			// The customer cancelled: sipgo has already answered the CANCEL
			// with 200 and the INVITE with 487. Cancel the carrier leg too.
			s.cancelLeg(client, fwd, clTx)
			return outcome{code: 487, reason: "Request Terminated", cancelled: true, relayed: true}
		case <-timer.C:
			s.cancelLeg(client, fwd, clTx)
			if !provisional {
				return outcome{reason: "No Response"}
			}
			return outcome{code: 408, reason: "No Answer"}
		}
	}
}

// cancelLeg sends CANCEL for fwd and waits (bounded) for the INVITE's final
// response. A 2xx that crossed the CANCEL is acknowledged and hung up.
func (s *Server) cancelLeg(client *sipgo.Client, fwd *gosip.Request, clTx gosip.ClientTransaction) {
	cancelReq := newCancel(fwd)
	ctx, stop := context.WithTimeout(context.Background(), DefaultCancelWait)
	defer stop()
	go func() {
		if _, err := client.Do(ctx, cancelReq, s.sameVia); err != nil && !errors.Is(err, context.Canceled) {
			s.log.Debug("CANCEL to carrier failed", "error", err)
		}
	}()
	for {
		select {
		case res, ok := <-clTx.Responses():
			if !ok {
				return
			}
			if res.IsSuccess() {
				s.hangupLeg(fwd, res)
				return
			}
			if res.StatusCode >= 300 {
				return
			}
		case <-clTx.Done():
			return
		case <-ctx.Done():
			return
		}
	}
}

func (s *Server) markRinging(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ringing.IsZero() {
		c.ringing = s.now()
		s.metrics.pdd.Observe(c.ringing.Sub(c.setup).Seconds())
	}
}

func (s *Server) markAnswered(c *call, target hop) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.answered = s.now()
	c.carrierTarget = target
	if c.ringing.IsZero() {
		c.ringing = c.answered
		s.metrics.pdd.Observe(c.ringing.Sub(c.setup).Seconds())
	}
}

// relayResponse sends a carrier's response back to the customer, without
// the Via the switch added. It changes res in place: once sipgo's client
// transaction has passed a response up (the ACK of a non-2xx is built
// before), it does not read it again, and a copy costs ~5% of the CPU.
func (s *Server) relayResponse(req *gosip.Request, tx gosip.ServerTransaction, res *gosip.Response) {
	res.RemoveHeader("Via")
	res.SetDestination(req.Source())
	if err := tx.Respond(res); err != nil {
		s.log.Debug("relaying response failed", "code", res.StatusCode, "error", err)
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

func decMaxForwards(req *gosip.Request) {
	if mf := req.MaxForwards(); mf != nil {
		mf.Dec()
		return
	}
	mf := gosip.MaxForwardsHeader(70)
	req.AppendHeader(&mf)
}
