package sip

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
)

// LiveCalls is the durable register of answered calls that lets a switch
// restarted after a crash write their CDRs and hang them up (cdr.Live
// implements it). Up and Down return once the change is durable; both are
// safe for concurrent use.
type LiveCalls interface {
	Up(ctx context.Context, key string, data []byte) error
	Down(ctx context.Context, key string) error
}

// WithLiveCalls records every answered call in l until its CDR is written.
func WithLiveCalls(l LiveCalls) Option { return func(s *Server) { s.live = l } }

// liveRecord is what the register keeps of an answered call: its CDR as at
// the answer, the rating traces that price it, and both legs' dialogs, so
// that the switch can end it after a crash.
type liveRecord struct {
	CDR      cdr.Record   `json:"cdr"`
	Sell     rating.Trace `json:"sell"`
	Buy      rating.Trace `json:"buy"`
	Customer liveLeg      `json:"customer"`
	Carrier  liveLeg      `json:"carrier"`
}

// liveLeg is one leg's dialog, enough to send a BYE on it.
type liveLeg struct {
	CallID    string   `json:"call_id"`
	Local     string   `json:"local"`
	Remote    string   `json:"remote"`
	Target    string   `json:"target"`
	Next      string   `json:"next"`
	Transport string   `json:"transport"`
	Routes    []string `json:"routes,omitempty"`
	Seq       uint32   `json:"seq"`
	Pinned    bool     `json:"pinned,omitempty"`
}

func saveLeg(sd *side) liveLeg {
	l := liveLeg{CallID: sd.callID, Local: sd.local, Remote: sd.remote, Target: sd.target.String(),
		Next: sd.next.addr, Transport: sd.next.transport, Seq: sd.localSeq, Pinned: sd.pinned}
	for _, u := range sd.routes {
		l.Routes = append(l.Routes, u.String())
	}
	return l
}

// restore rebuilds a leg from the register; the switch sends its BYE a
// CSeq well past anything sent before the crash.
func (l liveLeg) restore() (side, error) {
	sd := side{callID: l.CallID, local: l.Local, remote: l.Remote, next: hop{addr: l.Next, transport: l.Transport},
		localSeq: l.Seq + 100, pinned: l.Pinned}
	if err := gosip.ParseUri(l.Target, &sd.target); err != nil {
		return sd, fmt.Errorf("target %q: %w", l.Target, err)
	}
	for _, r := range l.Routes {
		var u gosip.Uri
		if err := gosip.ParseUri(r, &u); err != nil {
			return sd, fmt.Errorf("route %q: %w", r, err)
		}
		sd.routes = append(sd.routes, u)
	}
	return sd, nil
}

// callUp records an answered call in the register, in the background.
// c.mu is held.
func (s *Server) callUp(c *call) {
	if s.live == nil || c.answeredLeg == nil {
		return
	}
	at := c.answeredLeg.at
	rec := liveRecord{
		CDR:  s.record(c, &at, outcome{code: 200, reason: "OK", answered: true}, "switch", true),
		Sell: c.plan.Sell.Charge(1).Trace, Buy: at.Buy.Charge(1).Trace,
		Customer: saveLeg(&c.a), Carrier: saveLeg(&c.answeredLeg.b),
	}
	data, err := json.Marshal(rec)
	if err != nil {
		s.log.Error("live call not recorded", "call", c.id, "error", err)
		return
	}
	c.up = true
	c.upDone = make(chan struct{})
	done, key := c.upDone, c.id
	run := func() {
		defer close(done)
		if err := s.live.Up(context.Background(), key, data); err != nil {
			s.log.Error("live call not recorded", "call", key, "error", err)
		}
	}
	if !s.track() {
		run()
		return
	}
	go func() {
		defer s.wg.Done()
		run()
	}()
}

// emitDown writes the CDR of a call the register holds, then takes the call
// out of the register: a crash in between leaves the call to be ended
// again, never a call without a CDR.
func (s *Server) emitDown(r cdr.Record, up <-chan struct{}) {
	run := func() {
		<-up
		if err := s.cdrs.Write(context.Background(), r); err != nil {
			s.log.Error("CDR not written", "call", r.CallID, "attempt", r.Attempt, "error", err)
			return // the register keeps the call: a restart writes its CDR
		}
		if err := s.live.Down(context.Background(), r.CallID); err != nil {
			s.log.Error("live call not removed", "call", r.CallID, "error", err)
		}
	}
	if !s.track() {
		run()
		return
	}
	go func() {
		defer s.wg.Done()
		run()
	}()
}

// Recover ends a call that was up when the switch stopped without ending
// it (data as given to LiveCalls.Up): its CDR is written as ended at
// lastAlive (never before its answer; at most one heartbeat of billing is
// lost) and both legs get a BYE. The caller then removes it from the
// register. Listen must have been called.
func (s *Server) Recover(ctx context.Context, data []byte, lastAlive time.Time) error {
	var rec liveRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return fmt.Errorf("live call record: %w", err)
	}
	r := rec.CDR
	end := max(lastAlive.UnixMilli(), r.AnswerMs)
	r.EndMs = end
	r.Duration = int((end - r.AnswerMs + 999) / 1000)
	sell, buy := rating.Rerate(rec.Sell, r.Duration), rating.Rerate(rec.Buy, r.Duration)
	r.Billed, r.SellCost, r.BuyCost = int(sell.Billed), sell.Cost, buy.Cost
	r.Margin = sell.Cost - buy.Cost
	r.Trace = "sell " + sell.Trace.String() + "; buy " + buy.Trace.String()
	r.SIPCode, r.Reason, r.HangupSide = 200, "Switch Restarted", "switch"
	if err := s.cdrs.Write(ctx, r); err != nil {
		return fmt.Errorf("writing the CDR of call %s: %w", r.CallID, err)
	}
	for _, l := range []liveLeg{rec.Customer, rec.Carrier} {
		sd, err := l.restore()
		if err != nil {
			s.log.Warn("no BYE for a recovered call", "call", r.CallID, "error", err)
			continue
		}
		s.sendBye(&sd)
	}
	s.log.Info("call ended after a restart", "call", r.CallID, "customer", r.CustomerID, "carrier", r.CarrierID, "duration", r.Duration)
	return nil
}
