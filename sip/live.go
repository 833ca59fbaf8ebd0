package sip

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
)

// LiveCalls is the durable register of answered calls that lets a switch
// restarted after a crash write their CDRs and hang them up (cdr.Live
// implements it). UpAsync and DownAsync queue the change and return; it is
// durable once the register's next group is written (its commit delay and
// one fsync). Both are safe for concurrent use.
type LiveCalls interface {
	UpAsync(key string, data []byte) error
	DownAsync(key string) error
}

// WithLiveCalls records every answered call in l until its CDR is written.
func WithLiveCalls(l LiveCalls) Option { return func(s *Server) { s.live = l } }

// liveRecord is what the register keeps of an answered call: its CDR as at
// the answer, the rating traces that price it, and both legs' dialogs, so
// that the switch can end it after a crash. It is written compactly
// (appendLive): thousands are written a second.
type liveRecord struct {
	CDR               cdr.Record
	Sell, Buy         string // rating traces
	Customer, Carrier liveLeg
	// Paid is the answered seconds a call under credit control has paid
	// for (0: not under credit control): it never lasted longer.
	Paid int
	// MaxSeconds is the call's maximum duration (the customer's or the
	// switch's); 0 in records written before version 3.
	MaxSeconds int
}

// liveLeg is one leg's dialog, enough to send a BYE on it.
type liveLeg struct {
	CallID, Local, Remote, Target, Next, Transport string
	Routes                                         []string
	Seq                                            uint32
	Pinned                                         bool
}

// liveVersion is the encoding appendLive writes: version 2 added Paid,
// version 3 MaxSeconds; decodeLive reads them all.
const liveVersion = 3

// appendLive encodes r: a version byte, the CDR in the journal's encoding,
// then each string as a uvarint length and its bytes, CSeqs as uvarints.
func appendLive(dst []byte, r *liveRecord) []byte {
	dst = append(dst, liveVersion)
	// The CDR's length goes before it, in a fixed two-byte uvarint slot
	// (records are far below 16 KiB), so it is encoded in place.
	at := len(dst)
	dst = append(dst, 0x80, 0)
	dst = cdr.AppendRecord(dst, &r.CDR)
	n := len(dst) - at - 2
	if n >= 1<<14 {
		rec := append([]byte(nil), dst[at+2:]...)
		dst = append(binary.AppendUvarint(dst[:at], uint64(n)), rec...)
	} else {
		dst[at], dst[at+1] = byte(n)|0x80, byte(n>>7)
	}
	for _, v := range []string{r.Sell, r.Buy} {
		dst = appendStr(dst, v)
	}
	for _, l := range []*liveLeg{&r.Customer, &r.Carrier} {
		for _, v := range []string{l.CallID, l.Local, l.Remote, l.Target, l.Next, l.Transport} {
			dst = appendStr(dst, v)
		}
		dst = binary.AppendUvarint(dst, uint64(len(l.Routes)))
		for _, v := range l.Routes {
			dst = appendStr(dst, v)
		}
		dst = binary.AppendUvarint(dst, uint64(l.Seq))
		pinned := byte(0)
		if l.Pinned {
			pinned = 1
		}
		dst = append(dst, pinned)
	}
	dst = binary.AppendUvarint(dst, uint64(r.Paid))
	return binary.AppendUvarint(dst, uint64(r.MaxSeconds))
}

func appendStr(dst []byte, v string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	return append(dst, v...)
}

// decodeLive reads what appendLive wrote.
func decodeLive(p []byte) (liveRecord, error) {
	var r liveRecord
	bad := fmt.Errorf("live call record: malformed")
	if len(p) == 0 || p[0] < 1 || p[0] > liveVersion {
		return r, bad
	}
	version := p[0]
	p = p[1:]
	next := func() (string, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 || n > uint64(len(p)-k) {
			return "", false
		}
		v := string(p[k : k+int(n)])
		p = p[k+int(n):]
		return v, true
	}
	num := func() (uint64, bool) {
		n, k := binary.Uvarint(p)
		if k <= 0 {
			return 0, false
		}
		p = p[k:]
		return n, true
	}
	rec, ok := next()
	if !ok {
		return r, bad
	}
	var err error
	if r.CDR, err = cdr.DecodeRecord([]byte(rec)); err != nil {
		return r, fmt.Errorf("live call record: %w", err)
	}
	for _, v := range []*string{&r.Sell, &r.Buy} {
		if *v, ok = next(); !ok {
			return r, bad
		}
	}
	for _, l := range []*liveLeg{&r.Customer, &r.Carrier} {
		for _, v := range []*string{&l.CallID, &l.Local, &l.Remote, &l.Target, &l.Next, &l.Transport} {
			if *v, ok = next(); !ok {
				return r, bad
			}
		}
		n, ok := num()
		if !ok || n > 1024 {
			return r, bad
		}
		for range n {
			v, ok := next()
			if !ok {
				return r, bad
			}
			l.Routes = append(l.Routes, v)
		}
		seq, ok := num()
		if !ok || seq > 1<<32-1 || len(p) == 0 {
			return r, bad
		}
		l.Seq, l.Pinned, p = uint32(seq), p[0] == 1, p[1:]
	}
	if version >= 2 {
		paid, ok := num()
		if !ok || paid > 1<<31-1 {
			return r, bad
		}
		r.Paid = int(paid)
	}
	if version >= 3 {
		m, ok := num()
		if !ok || m > 1<<31-1 {
			return r, bad
		}
		r.MaxSeconds = int(m)
	}
	return r, nil
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
// CSeq well past anything sent before the crash (2^20 more).
func (l liveLeg) restore() (side, error) {
	sd := side{callID: l.CallID, local: l.Local, remote: l.Remote, next: hop{addr: l.Next, transport: l.Transport},
		localSeq: l.Seq + 1<<20, pinned: l.Pinned}
	if err := gosip.ParseUri(l.Target, &sd.target); err != nil {
		return sd, fmt.Errorf("target %q: %w", l.Target, err)
	}
	if sd.pinned && l.Transport == transportTCP {
		// The connection died with the process: reach the party at its
		// Contact instead.
		sd.pinned, sd.next = false, uriHop(sd.target)
		sd.next.transport = transportTCP
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

// callUp records an answered call in the register. c.mu is held.
func (s *Server) callUp(c *call) {
	if s.live == nil || c.answeredLeg == nil {
		return
	}
	at := c.answeredLeg.at
	rec := liveRecord{
		CDR:  s.record(c, &at, outcome{code: 200, reason: "OK", answered: true}, "switch", true),
		Sell: c.plan.Sell.Charge(1).Trace.String(), Buy: at.Buy.Charge(1).Trace.String(),
		Customer: saveLeg(&c.a), Carrier: saveLeg(&c.answeredLeg.b),
	}
	if c.grant != nil {
		rec.Paid = c.grant.Paid
	}
	rec.MaxSeconds = int((s.maxCallOf(c) + time.Second - 1) / time.Second)
	buf := getBuf()
	defer putBuf(buf)
	b := appendLive(buf.AvailableBuffer(), &rec) // the register keeps a copy
	if err := s.live.UpAsync(c.id, b); err != nil {
		s.log.Error("live call not recorded", "call", c.id, "error", err)
		return
	}
	c.up = true
}

// Recover ends a call that was up when the switch stopped without ending
// it (data as given to LiveCalls.Up): its CDR is written as ended at
// lastAlive (never before its answer; at most one heartbeat of billing is
// lost) and both legs get a BYE. The caller then removes it from the
// register. Listen must have been called.
func (s *Server) Recover(ctx context.Context, data []byte, lastAlive time.Time) error {
	rec, err := decodeLive(data)
	if err != nil {
		return err
	}
	sellTrace, err := rating.ParseTrace(rec.Sell)
	if err != nil {
		return fmt.Errorf("live call record: sell trace: %w", err)
	}
	buyTrace, err := rating.ParseTrace(rec.Buy)
	if err != nil {
		return fmt.Errorf("live call record: buy trace: %w", err)
	}
	r := rec.CDR
	// Never before the answer; never past the maximum call duration (a call
	// whose CDR could not be written stays in the register, perhaps until a
	// restart days later).
	maxMs := s.maxCall.Milliseconds()
	if rec.MaxSeconds > 0 {
		maxMs = int64(rec.MaxSeconds) * 1000
	}
	end := min(max(lastAlive.UnixMilli(), r.AnswerMs), r.AnswerMs+maxMs)
	r.EndMs = end
	r.Duration = int((end - r.AnswerMs + 999) / 1000)
	if rec.Paid > 0 {
		r.Duration = min(r.Duration, rec.Paid) // the call was cut when its paid time ended
	}
	sell, buy := rating.Rerate(sellTrace, r.Duration), rating.Rerate(buyTrace, r.Duration)
	r.Billed, r.SellCost, r.BuyCost = int(sell.Billed), sell.Cost, buy.Cost
	r.Margin = sell.Cost - buy.Cost
	r.Trace = "sell " + sell.Trace.String() + "; buy " + buy.Trace.String()
	r.SIPCode, r.Reason, r.HangupSide = 200, "Switch Restarted", "switch"
	if err := s.cdrs.Write(ctx, r); err != nil {
		return fmt.Errorf("writing the CDR of call %s: %w", r.CallID, err)
	}
	var charged error
	if s.credit != nil {
		ch := routing.Charge{CustomerID: r.CustomerID, CallID: r.CallID, Kind: routing.KindCharge, Cost: r.SellCost, Setup: time.UnixMilli(r.SetupMs)}
		charged = s.chargeErrors(ctx, []routing.Charge{ch})[0]
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
	if charged != nil {
		// Ended, but not charged: it stays in the register, and the next
		// start charges it (its CDR is found in the journal).
		return fmt.Errorf("charging call %s: %w", r.CallID, charged)
	}
	return nil
}
