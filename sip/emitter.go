package sip

import (
	"context"
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
		s.emitBatch([]cdr.Record{r}, []ending{{charge, up}}) // a timer fired after Close
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
		s.emitBatch(recs, ends)
		clear(recs) // the next batch reuses the array: let these strings go
		clear(ends)
	}
}

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
}

// emitBatch writes recs, then charges the calls whose CDR is written, then
// takes out of the register the calls both of which are done.
func (s *Server) emitBatch(recs []cdr.Record, ends []ending) {
	done := s.writeAll(recs)
	var charges []routing.Charge
	var of []int // charges[k] is the call ends[of[k]]
	for i, e := range ends {
		if done[i] && e.charge != nil {
			charges = append(charges, *e.charge)
			of = append(of, i)
		}
	}
	for k, ok := range s.chargeAll(charges) {
		done[of[k]] = ok
	}
	for i, e := range ends {
		if !e.up || !done[i] {
			continue // a call left in the register: a restart writes its CDR or charges it
		}
		if err := s.live.DownAsync(recs[i].CallID); err != nil {
			s.log.Error("live call not removed", "call", recs[i].CallID, "error", err)
		}
	}
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

// chargeAll posts charges to the credit store and reports which are
// posted; those refused are tried again, chargeTries times in all.
func (s *Server) chargeAll(charges []routing.Charge) []bool {
	ok := make([]bool, len(charges))
	todo := make([]int, len(charges))
	for k := range todo {
		todo[k] = k
	}
	var errs []error
	for try := 0; try < chargeTries && len(todo) > 0; try++ {
		if try > 0 {
			time.Sleep(chargeRetry << (try - 1))
		}
		batch := make([]routing.Charge, len(todo))
		for n, k := range todo {
			batch[n] = charges[k]
		}
		errs = s.credit.ChargeAll(context.Background(), batch)
		left := todo[:0]
		for n, k := range todo {
			if errs[n] == nil {
				ok[k] = true
			} else {
				errs[len(left)] = errs[n]
				left = append(left, k)
			}
		}
		todo = left
	}
	for n, k := range todo {
		c := charges[k]
		s.log.Error("call not charged", "call", c.CallID, "customer", c.CustomerID, "tries", chargeTries, "error", errs[n])
		s.metrics.chargeFailures.Inc()
	}
	return ok
}

// A charge the store refuses is tried chargeTries times, chargeRetry,
// then twice as long, apart (a Post is idempotent: a retry never doubles).
const (
	chargeTries = 4
	chargeRetry = 250 * time.Millisecond
)
