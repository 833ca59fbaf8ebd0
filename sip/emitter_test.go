package sip

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
)

// emitSink records when each CDR was written.
type emitSink struct {
	mu  sync.Mutex
	at  map[string]time.Time
	ack chan string
}

func (k *emitSink) Write(_ context.Context, r cdr.Record) error {
	k.mu.Lock()
	k.at[r.CallID] = time.Now()
	k.mu.Unlock()
	k.ack <- r.CallID
	return nil
}

// flakyCredit refuses each call's charge its first refusals[call] times.
type flakyCredit struct {
	Credit
	mu        sync.Mutex
	refusals  map[string]int
	charged   map[string]int
	allNilOK  bool // answer nil when every charge went through
	batchSize []int
	delay     time.Duration // each ChargeAll takes this long (a slow store)
	tries     map[string]int
}

func (f *flakyCredit) ChargeAll(_ context.Context, cs []routing.Charge) []error {
	time.Sleep(f.delay)
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.tries == nil {
		f.tries = map[string]int{}
	}
	for _, c := range cs {
		f.tries[c.CallID]++
	}
	f.batchSize = append(f.batchSize, len(cs))
	errs := make([]error, len(cs))
	failed := false
	for i, c := range cs {
		if f.refusals[c.CallID] > 0 {
			f.refusals[c.CallID]--
			errs[i], failed = errors.New("store refused"), true
			continue
		}
		f.charged[c.CallID]++
	}
	if !failed && f.allNilOK {
		return nil
	}
	return errs
}

// downs records the register's removals.
type downs struct {
	mu   sync.Mutex
	keys map[string]time.Time
}

func (d *downs) UpAsync(string, []byte) error { return nil }
func (d *downs) DownAsync(key string) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.keys[key] = time.Now()
	return nil
}

func (d *downs) has(key string) bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	_, ok := d.keys[key]
	return ok
}

// A charge the store refuses is tried again apart: the calls that end
// meanwhile are written, charged and removed without waiting for it, and
// the refused call leaves the register only once its charge went through.
func TestEmitterRetriesApart(t *testing.T) {
	sink := &emitSink{at: map[string]time.Time{}, ack: make(chan string, 16)}
	credit := &flakyCredit{refusals: map[string]int{"bad": 2}, charged: map[string]int{}, allNilOK: true}
	live := &downs{keys: map[string]time.Time{}}
	s, err := New(nil, nil, sink, WithCredit(credit), WithLiveCalls(live))
	if err != nil {
		t.Fatal(err)
	}
	charge := func(id string) *routing.Charge { return &routing.Charge{CallID: id, CustomerID: "c1", Cost: 5} }
	s.emit(cdr.Record{CallID: "bad"}, charge("bad"), true)
	if id := <-sink.ack; id != "bad" {
		t.Fatalf("first CDR written: %s", id)
	}
	time.Sleep(20 * time.Millisecond) // the bad charge has been refused once
	start := time.Now()
	s.emit(cdr.Record{CallID: "good"}, charge("good"), true)
	<-sink.ack
	deadline := time.Now().Add(time.Second)
	for !live.has("good") && time.Now().Before(deadline) {
		time.Sleep(time.Millisecond)
	}
	if took := time.Since(start); !live.has("good") || took > 200*time.Millisecond {
		t.Fatalf("the good call left the register after %v (%v), behind the refused charge's retries", took, live.has("good"))
	}
	if live.has("bad") {
		t.Fatal("a call whose charge was refused left the register")
	}
	s.Close() // waits for the retries
	// A call ended after Close (a timer) is finished inline, retries too.
	credit.mu.Lock()
	credit.refusals["late"] = 1
	credit.mu.Unlock()
	s.emit(cdr.Record{CallID: "late"}, charge("late"), true)
	<-sink.ack
	if !live.has("late") {
		t.Error("a call ended after Close, charged on its retry, was not removed before emit returned")
	}
	credit.mu.Lock()
	defer credit.mu.Unlock()
	if credit.charged["bad"] != 1 || credit.charged["good"] != 1 || credit.charged["late"] != 1 {
		t.Errorf("charged %v, want each call once", credit.charged)
	}
	if !live.has("bad") {
		t.Error("the refused call was charged on a retry but stayed in the register")
	}
}

// A charge refused every time leaves its call in the register (a restart
// charges it) and is counted.
func TestEmitterChargeGivesUp(t *testing.T) {
	sink := &emitSink{at: map[string]time.Time{}, ack: make(chan string, 16)}
	credit := &flakyCredit{refusals: map[string]int{"bad": chargeTriesClosing}, charged: map[string]int{}}
	live := &downs{keys: map[string]time.Time{}}
	s, err := New(nil, nil, sink, WithCredit(credit), WithLiveCalls(live))
	if err != nil {
		t.Fatal(err)
	}
	s.emit(cdr.Record{CallID: "bad"}, &routing.Charge{CallID: "bad"}, true)
	s.emit(cdr.Record{CallID: "free"}, nil, true)
	s.Close()
	if live.has("bad") || !live.has("free") {
		t.Errorf("register removals %v: want free only", live.keys)
	}
	if got := testutil.ToFloat64(s.metrics.chargeFailures); got != 1 {
		t.Errorf("charge failures counted: %v, want 1", got)
	}
	if credit.refusals["bad"] != 0 {
		t.Errorf("tried %d times, want %d", chargeTriesClosing-credit.refusals["bad"], chargeTriesClosing)
	}
}

// However many batches have a charge refused (a store away for minutes
// while thousands of calls end), one goroutine tries them again, and each
// is charged once when the store takes it.
func TestEmitterOneRetryGoroutine(t *testing.T) {
	sink := &emitSink{at: map[string]time.Time{}, ack: make(chan string, 64)}
	credit := &flakyCredit{refusals: map[string]int{}, charged: map[string]int{}}
	live := &downs{keys: map[string]time.Time{}}
	s, err := New(nil, nil, sink, WithCredit(credit), WithLiveCalls(live))
	if err != nil {
		t.Fatal(err)
	}
	s.chargeRetry = 100 * time.Millisecond
	const n = 40
	credit.mu.Lock()
	for i := range n {
		credit.refusals[fmt.Sprint("c", i)] = 3
	}
	credit.mu.Unlock()
	before := runtime.NumGoroutine()
	for i := range n {
		id := fmt.Sprint("c", i)
		s.emit(cdr.Record{CallID: id}, &routing.Charge{CallID: id, CustomerID: "c1", Cost: 5}, true)
		<-sink.ack // its own batch
	}
	if g := runtime.NumGoroutine(); g > before+4 {
		t.Fatalf("%d goroutines with %d refused batches retrying, %d before", g, n, before)
	}
	deadline := time.Now().Add(5 * time.Second)
	for i := 0; i < n; {
		if live.has(fmt.Sprint("c", i)) {
			i++
			continue
		}
		if time.Now().After(deadline) {
			t.Fatalf("call c%d not charged and removed after its retries", i)
		}
		time.Sleep(10 * time.Millisecond)
	}
	s.Close()
	credit.mu.Lock()
	defer credit.mu.Unlock()
	for i := range n {
		if c := credit.charged[fmt.Sprint("c", i)]; c != 1 {
			t.Fatalf("c%d charged %d times", i, c)
		}
	}
}

// The retry queue keeps each charge on its own schedule: a charge refused
// once is tried again a moment later even while another waits long; Close
// with many charges queued on a slow store takes a few quick passes, not a
// pass per charge; and a charge queued while the switch closes gets the
// closing budget.
func TestEmitterRetrySchedule(t *testing.T) {
	sink := &emitSink{at: map[string]time.Time{}, ack: make(chan string, 256)}
	credit := &flakyCredit{refusals: map[string]int{"old": 1000, "new": 1}, charged: map[string]int{}}
	live := &downs{keys: map[string]time.Time{}}
	s, err := New(nil, nil, sink, WithCredit(credit), WithLiveCalls(live))
	if err != nil {
		t.Fatal(err)
	}
	s.chargeRetry = 50 * time.Millisecond
	charge := func(id string) *routing.Charge { return &routing.Charge{CallID: id, CustomerID: "c1", Cost: 5} }
	s.emit(cdr.Record{CallID: "old"}, charge("old"), true)
	<-sink.ack
	time.Sleep(800 * time.Millisecond) // old now waits 400 ms and more between tries
	start := time.Now()
	s.emit(cdr.Record{CallID: "new"}, charge("new"), true)
	<-sink.ack
	for !live.has("new") {
		if time.Since(start) > 300*time.Millisecond {
			t.Fatal("a charge refused once waited behind another charge's longer wait")
		}
		time.Sleep(5 * time.Millisecond)
	}

	credit.mu.Lock()
	credit.delay = 20 * time.Millisecond
	for i := range 50 {
		credit.refusals[fmt.Sprint("slow", i)] = 1000
	}
	credit.mu.Unlock()
	for i := range 50 {
		id := fmt.Sprint("slow", i)
		s.emit(cdr.Record{CallID: id}, charge(id), true)
		<-sink.ack
	}
	credit.mu.Lock()
	credit.refusals["late"] = 1000
	credit.mu.Unlock()
	s.stopOnce.Do(func() { close(s.stop) }) // Close begins
	s.emit(cdr.Record{CallID: "late"}, charge("late"), true)
	<-sink.ack
	start = time.Now()
	s.Close()
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("Close took %s with 50 charges queued on a slow store", took)
	}
	credit.mu.Lock()
	defer credit.mu.Unlock()
	if n := credit.tries["late"]; n == 0 || n > chargeTriesClosing {
		t.Fatalf("a charge queued while closing was tried %d times, the closing budget is %d", n, chargeTriesClosing)
	}
}
