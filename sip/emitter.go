package sip

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
)

// The emitter does what follows the end of a call, for many calls at once,
// in one goroutine: their CDRs in one group commit of the journal, then
// their charges in one step of the credit store, then their removals from
// the live-call register. The order holds per call: a call is charged only
// once its CDR is durable, and leaves the register only once both are done
// (a crash in between leaves a call a restart finds and finishes).
//
// Why one goroutine and not one per call: with the switch on one P, every
// group commit woke the hundreds of goroutines waiting on it at once, and
// all of them ran before the next datagram was read (the PDD tail).

// ending is what the emitter needs of an ended call besides its CDR.
type ending struct {
	charge *routing.Charge // nil for a call that costs nothing
	up     bool            // the live-call register holds the call
}

type emitter struct {
	retries sync.WaitGroup // the retry goroutine, while it runs

	retryMu   sync.Mutex
	retryQ    []retryCharge // refused charges waiting for their next try
	retrying  bool          // the retry goroutine runs
	retryKick chan struct{} // wakes it for a charge queued meanwhile

	mu      sync.Mutex
	recs    []cdr.Record // queued, with ends
	ends    []ending
	running bool // the goroutine is started
	closed  bool // Close has begun: emit works inline
	wake    chan struct{}
	done    chan struct{} // closed when the goroutine has exited
}

// emit queues an ended call's CDR r, its charge and its removal from the
// register (up) and returns; Close waits for every one queued.
func (s *Server) emit(r cdr.Record, charge *routing.Charge, up bool) {
	e := &s.emitter
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		s.emitBatch([]cdr.Record{r}, []ending{{charge, up}}, true) // a timer fired after Close
		return
	}
	e.recs = append(e.recs, r)
	e.ends = append(e.ends, ending{charge, up})
	if !e.running {
		e.running = true
		e.wake, e.done = make(chan struct{}, 1), make(chan struct{})
		go s.emitLoop()
	}
	e.mu.Unlock()
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// emitLoop takes whatever is queued as one batch, until Close.
func (s *Server) emitLoop() {
	e := &s.emitter
	defer close(e.done)
	var recs []cdr.Record
	var ends []ending
	for {
		e.mu.Lock()
		for len(e.recs) == 0 && !e.closed {
			e.mu.Unlock()
			<-e.wake
			e.mu.Lock()
		}
		if len(e.recs) == 0 {
			e.mu.Unlock()
			return // closed and drained
		}
		recs, e.recs = e.recs, recs[:0]
		ends, e.ends = e.ends, ends[:0]
		e.mu.Unlock()
		s.emitBatch(recs, ends, false)
		clear(recs) // the next batch reuses the array: let these strings go
		clear(ends)
		if cap(recs) > maxKeptBatch {
			recs, ends = nil, nil // a burst is over: do not keep its arrays
		}
	}
}

// maxKeptBatch is the most ended calls whose queue arrays are kept between
// batches.
const maxKeptBatch = 4096

// closeEmitter makes emit work inline from now on and waits until
// everything queued is done.
func (s *Server) closeEmitter() {
	e := &s.emitter
	e.mu.Lock()
	e.closed = true
	running := e.running
	e.mu.Unlock()
	if !running {
		return
	}
	select {
	case e.wake <- struct{}{}:
	default:
	}
	<-e.done
	e.retries.Wait()
}

// emitBatch writes recs, then charges the calls whose CDR is written, then
// takes out of the register the calls both of which are done. Charges the
// store refused are tried again apart (retryCharges), so that the next
// batch does not wait for them; inline (after Close, when nothing is
// waited for any more) they are tried again before it returns.
func (s *Server) emitBatch(recs []cdr.Record, ends []ending, inline bool) {
	done := s.writeAll(recs)
	// The metrics and log lines after the charges and removals: a slow log
	// must not hold them up.
	defer s.logCalls(recs)
	defer s.stats.observe(recs)
	var charges []routing.Charge
	var of []int // charges[k] is the call ends[of[k]]
	for i, e := range ends {
		if done[i] && e.charge != nil {
			charges = append(charges, *e.charge)
			of = append(of, i)
		}
	}
	var retry []retryCharge
	for k, err := range s.chargeErrors(context.Background(), charges) {
		if err != nil {
			i := of[k]
			done[i] = false
			retry = append(retry, retryCharge{charge: charges[k], up: ends[i].up, err: err})
		}
	}
	for i, e := range ends {
		if e.up && done[i] {
			s.down(recs[i].CallID)
		}
	}
	switch {
	case len(retry) == 0:
	case inline:
		s.retryCharges(retry)
	default:
		s.queueRetries(retry)
	}
}

// down takes an ended call out of the live-call register.
func (s *Server) down(callID string) {
	if err := s.live.DownAsync(callID); err != nil {
		s.log.Error("live call not removed", "call", callID, "error", err)
	}
}

// retryCharge is a charge the store refused, and its call.
type retryCharge struct {
	charge routing.Charge
	up     bool
	err    error
	tries  int           // made so far
	limit  int           // most tries in all
	wait   time.Duration // before the next
	next   time.Time
}

// queueRetries hands refused charges to the one goroutine that tries them
// again (however long the store is away and however many calls end
// meanwhile, one goroutine, not one per batch).
func (s *Server) queueRetries(rs []retryCharge) {
	e := &s.emitter
	now := time.Now()
	limit := chargeTries
	select {
	case <-s.stop:
		limit = chargeTriesClosing
	default:
	}
	for i := range rs {
		rs[i].tries, rs[i].limit, rs[i].wait, rs[i].next = 1, limit, s.chargeRetry, now.Add(s.chargeRetry)
	}
	e.retryMu.Lock()
	defer e.retryMu.Unlock()
	e.retryQ = append(e.retryQ, rs...)
	if !e.retrying {
		e.retrying = true
		e.retryKick = make(chan struct{}, 1)
		e.retries.Add(1) // before Close can wait
		go s.retryLoop(e.retryKick)
		return
	}
	select {
	case e.retryKick <- struct{}{}: // the loop may be waiting for a later charge
	default:
	}
}

// retryLoop tries the queued charges again when each is due (chargeRetry,
// then twice as long, at most chargeRetryMax, apart; chargeTries in all),
// all those due in one ChargeAll, which refuses or takes each on its own:
// one bad account does not fail the others. Once the switch closes, each
// gets at most chargeTriesClosing tries, quickly. A call whose charge went
// through leaves the register; one whose charge never did stays there, and
// the node's next start charges it.
func (s *Server) retryLoop(kick <-chan struct{}) {
	e := &s.emitter
	defer e.retries.Done()
	closing := false
	for {
		e.retryMu.Lock()
		if len(e.retryQ) == 0 {
			e.retrying = false
			e.retryMu.Unlock()
			return
		}
		next := e.retryQ[0].next
		for i := range e.retryQ {
			r := &e.retryQ[i]
			if closing {
				r.limit = min(r.limit, max(r.tries+1, chargeTriesClosing))
			}
			if r.next.Before(next) {
				next = r.next
			}
		}
		e.retryMu.Unlock()
		wait := time.NewTimer(time.Until(next))
		select {
		case <-wait.C:
		case <-kick:
			wait.Stop()
			continue // a new charge: its time may come first
		case <-s.stopOnClose(closing):
			wait.Stop()
			closing = true
			e.retryMu.Lock()
			for i := range e.retryQ {
				e.retryQ[i].next = time.Now()
			}
			e.retryMu.Unlock()
			continue
		}
		now := time.Now()
		var due, later []retryCharge
		e.retryMu.Lock()
		for _, r := range e.retryQ {
			if r.next.After(now) {
				later = append(later, r)
			} else {
				due = append(due, r)
			}
		}
		e.retryQ = later
		e.retryMu.Unlock()
		charges := make([]routing.Charge, len(due))
		for i, r := range due {
			charges[i] = r.charge
		}
		var keep []retryCharge
		for i, err := range s.chargeErrors(context.Background(), charges) {
			r := due[i]
			r.tries++
			if r.err = err; err == nil {
				if r.up {
					s.down(r.charge.CallID)
				}
				continue
			}
			if r.tries >= r.limit {
				s.giveUpCharge(r)
				continue
			}
			if !closing {
				r.wait = min(2*r.wait, chargeRetryMax)
			}
			r.next = now.Add(r.wait)
			keep = append(keep, r)
		}
		e.retryMu.Lock()
		e.retryQ = append(e.retryQ, keep...)
		e.retryMu.Unlock()
	}
}

// stopOnClose is what the retry loop waits on besides its timer: the
// switch closing, until it has.
func (s *Server) stopOnClose(closing bool) <-chan struct{} {
	if closing {
		return nil
	}
	return s.stop
}

// giveUpCharge logs and counts a charge tried its last time.
func (s *Server) giveUpCharge(r retryCharge) {
	s.log.Error("call not charged: its node's next start charges it", "call", r.charge.CallID, "customer", r.charge.CustomerID, "tries", r.tries, "error", r.err)
	s.metrics.chargeFailures.Inc()
}

// retryCharges tries refused charges again before it returns, for calls
// ended after Close: each on its own (one bad account must not fail the
// others), chargeTriesClosing times in all, chargeRetry, then twice as
// long, apart. A call whose charge went through leaves the register; one
// whose charge never did stays there, and a restart charges it.
func (s *Server) retryCharges(rs []retryCharge) {
	wait := s.chargeRetry
	for try := 1; try < chargeTriesClosing && len(rs) > 0; try++ {
		time.Sleep(wait)
		wait *= 2
		left := rs[:0]
		for _, r := range rs {
			if r.err = s.chargeErrors(context.Background(), []routing.Charge{r.charge})[0]; r.err != nil {
				left = append(left, r)
			} else if r.up {
				s.down(r.charge.CallID)
			}
		}
		rs = left
	}
	for _, r := range rs {
		r.tries = chargeTriesClosing
		s.giveUpCharge(r)
	}
}

// chargeErrors posts charges and returns each one's error (nil for
// posted), whatever the Credit returns for "all posted".
func (s *Server) chargeErrors(ctx context.Context, charges []routing.Charge) []error {
	if len(charges) == 0 {
		return nil
	}
	errs := s.credit.ChargeAll(ctx, charges)
	if len(errs) != len(charges) {
		all := make([]error, len(charges))
		copy(all, errs)
		errs = all
	}
	return errs
}

// writeAll writes recs to the CDR sink, in one group commit when it can,
// and reports which are written.
func (s *Server) writeAll(recs []cdr.Record) []bool {
	ok := make([]bool, len(recs))
	var errs []error
	if g, is := s.cdrs.(cdr.GroupSink); is {
		errs = g.WriteAll(context.Background(), recs)
	} else {
		for i := range recs {
			if err := s.cdrs.Write(context.Background(), recs[i]); err != nil {
				if errs == nil {
					errs = make([]error, len(recs))
				}
				errs[i] = err
			}
		}
	}
	for i := range recs {
		if errs == nil || errs[i] == nil {
			ok[i] = true
			continue
		}
		s.log.Error("CDR not written", "call", recs[i].CallID, "attempt", recs[i].Attempt, "error", errs[i])
	}
	return ok
}

// A charge the store refuses is tried chargeTries times, chargeRetry,
// then twice as long, apart, at most chargeRetryMax: about four minutes,
// through a store's restart or failover (a Post is idempotent: a retry
// never doubles). While the switch closes, chargeTriesClosing times.
const (
	chargeTries        = 12
	chargeTriesClosing = 4
	chargeRetry        = 250 * time.Millisecond
	chargeRetryMax     = 30 * time.Second
)

// logCalls writes an info line per ended call (its final CDR), unless
// switched off (WithCallLog) or the log is above info.
func (s *Server) logCalls(recs []cdr.Record) {
	if !s.callLog || !s.log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	for i := range recs {
		r := &recs[i]
		if !r.Final {
			continue
		}
		s.log.Info("call ended", "call", r.CallID, "sip_call_id", r.SIPCallID, "customer", r.CustomerID, "carrier", r.CarrierID,
			"callee", r.Callee, "code", r.SIPCode, "reason", r.Reason, "side", r.HangupSide, "attempts", r.Attempt,
			"duration", r.Duration, "billed", r.Billed, "currency", r.Currency, "sell", r.SellCost.String(), "buy", r.BuyCost.String())
	}
}
