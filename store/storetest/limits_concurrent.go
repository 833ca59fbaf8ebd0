package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// The concurrent subtests are meant to run with -race too.

// testConcurrentAcquire has 64 goroutines take distinct leases on one key
// with limit 10: exactly 10 succeed.
func testConcurrentAcquire(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	const workers, limit = 64, 10
	var taken atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			ok, err := l.Acquire(ctx, "k", fmt.Sprint("node/call-", w), limit, long)
			if err != nil {
				t.Errorf("Acquire: %v", err)
			}
			if ok {
				taken.Add(1)
			}
		})
	}
	wg.Wait()
	if n := taken.Load(); n != limit {
		t.Errorf("%d of %d concurrent Acquires succeeded, want %d", n, workers, limit)
	}
	if n := leases(t, l, "k"); n != limit {
		t.Errorf("Leases = %d, want %d", n, limit)
	}
}

// testConcurrentReacquire has 32 goroutines take the same lease: all
// succeed and it is counted once.
func testConcurrentReacquire(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	acquire(t, l, "k", "other", 2, long)
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			if ok, err := l.Acquire(ctx, "k", "node/call-1", 2, long); !ok || err != nil {
				t.Errorf("Acquire of one lease from many goroutines = %v, %v", ok, err)
			}
		})
	}
	wg.Wait()
	if n := leases(t, l, "k"); n != 2 {
		t.Errorf("Leases = %d, want 2", n)
	}
}

// testConcurrentChurn has goroutines take and release leases on one key
// over and over, as calls come and go: at no time do more than limit hold
// one, and all are free at the end.
func testConcurrentChurn(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	const workers, rounds, limit = 32, 50, 5
	var holding, most, taken atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range rounds {
				lease := fmt.Sprintf("node/call-%d-%d", w, i)
				ok, err := l.Acquire(ctx, "k", lease, limit, long)
				if err != nil {
					t.Errorf("Acquire: %v", err)
					return
				}
				if !ok {
					continue
				}
				taken.Add(1)
				// holding counts after Acquire and before Release: it is
				// never above what the store holds.
				if n := holding.Add(1); n > most.Load() {
					most.Store(n) // racy maximum: enough to catch an excess
				}
				holding.Add(-1)
				if err := l.Release(ctx, "k", lease); err != nil {
					t.Errorf("Release: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if m := most.Load(); m > limit {
		t.Errorf("%d leases held at once, limit %d", m, limit)
	}
	if taken.Load() < limit {
		t.Errorf("only %d Acquires succeeded", taken.Load())
	}
	if n := leases(t, l, "k"); n != 0 {
		t.Errorf("Leases = %d after every lease was released, want 0", n)
	}
}

// testConcurrentHit has 64 goroutines hit one key with limit 25 within one
// window: exactly 25 pass.
func testConcurrentHit(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	const workers, each, limit = 64, 3, 25
	var passed atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				ok, err := l.Hit(ctx, "cps", limit, time.Hour)
				if err != nil {
					t.Errorf("Hit: %v", err)
				}
				if ok {
					passed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := passed.Load(); n != limit {
		t.Errorf("%d of %d concurrent Hits passed, want %d", n, workers*each, limit)
	}
}
