package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

func testAcquireUpToLimit(t *testing.T, open func(t *testing.T) store.Limits) {
	for _, limit := range []int{1, 3, 10} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			l := open(t)
			for i := range limit {
				if !acquire(t, l, "k", fmt.Sprint("call-", i), limit, long) {
					t.Fatalf("Acquire %d of %d refused", i+1, limit)
				}
			}
			for i := range 3 {
				if acquire(t, l, "k", fmt.Sprint("extra-", i), limit, long) {
					t.Errorf("Acquire beyond the limit of %d succeeded", limit)
				}
			}
			if n := leases(t, l, "k"); n != limit {
				t.Errorf("Leases = %d, want %d (refused Acquires take nothing)", n, limit)
			}
			// A higher limit lets more in: the limit is the caller's.
			if !acquire(t, l, "k", "extra-0", limit+1, long) {
				t.Errorf("Acquire with limit %d on %d leases refused", limit+1, limit)
			}
		})
	}
}

func testLimitZero(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	if acquire(t, l, "k", "a", 0, long) {
		t.Error("Acquire with limit 0 on a new key succeeded")
	}
	if hit(t, l, "k", 0, time.Minute) {
		t.Error("Hit with limit 0 succeeded")
	}
	if n := leases(t, l, "k"); n != 0 {
		t.Errorf("Leases = %d after refused Acquires, want 0", n)
	}
	if !acquire(t, l, "k", "a", 1, long) {
		t.Fatal("Acquire with limit 1 refused")
	}
	if acquire(t, l, "k", "b", 0, long) {
		t.Error("Acquire of a new lease with limit 0 succeeded")
	}
	if !acquire(t, l, "k", "a", 0, long) {
		t.Error("Acquire of a live lease with limit 0 refused: it must refresh whatever the count")
	}
	if !hit(t, l, "k", 1, time.Minute) {
		t.Error("Hit with limit 1 after a Hit with limit 0 refused: the refused one was recorded")
	}
}

// testReacquire checks that a retried Acquire refreshes its lease and never
// counts it twice.
func testReacquire(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	for i, s := range []struct {
		lease string
		limit int
		want  bool
	}{
		{"a", 2, true}, {"b", 2, true}, {"a", 2, true}, {"a", 2, true},
		{"c", 2, false}, {"b", 1, true}, {"a", 1, true}, {"c", 3, true},
		{"c", 3, true}, {"d", 3, false},
	} {
		if got := acquire(t, l, "k", s.lease, s.limit, long); got != s.want {
			t.Errorf("step %d: Acquire(%s, limit %d) = %v, want %v", i, s.lease, s.limit, got, s.want)
		}
	}
	if n := leases(t, l, "k"); n != 3 {
		t.Errorf("Leases = %d, want 3", n)
	}
}

func testReleaseFreesSlot(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	acquire(t, l, "k", "a", 2, long)
	acquire(t, l, "k", "b", 2, long)
	if acquire(t, l, "k", "c", 2, long) {
		t.Fatal("Acquire beyond the limit succeeded")
	}
	for i, s := range []struct {
		lease string
		want  int
	}{{"a", 1}, {"a", 1}, {"never", 1}, {"b", 0}} {
		if err := l.Release(ctx, "k", s.lease); err != nil {
			t.Fatalf("Release(%s): %v", s.lease, err)
		}
		if n := leases(t, l, "k"); n != s.want {
			t.Errorf("step %d: after Release(%s) Leases = %d, want %d", i, s.lease, n, s.want)
		}
	}
	if refresh(t, l, "k", "a", long) {
		t.Error("Refresh of a released lease succeeded")
	}
	if !acquire(t, l, "k", "c", 2, long) || !acquire(t, l, "k", "a", 2, long) {
		t.Error("after Release the freed slots cannot be taken")
	}
}

// testRefresh checks Refresh of a live, a released, an expired and an
// unknown lease: only the live one is refreshed, and none is taken.
func testRefresh(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	const short = 50 * time.Millisecond
	acquire(t, l, "k", "live", 10, long)
	acquire(t, l, "k", "released", 10, long)
	acquire(t, l, "k", "expired", 10, short)
	if err := l.Release(ctx, "k", "released"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(40 * short)
	for leases(t, l, "k") != 1 {
		if time.Now().After(deadline) {
			t.Fatalf("a lease with ttl %v still live after %v", short, 40*short)
		}
		time.Sleep(short / 5)
	}
	for _, s := range []struct {
		lease string
		want  bool
	}{{"live", true}, {"released", false}, {"expired", false}, {"never", false}} {
		if got := refresh(t, l, "k", s.lease, long); got != s.want {
			t.Errorf("Refresh(%s) = %v, want %v", s.lease, got, s.want)
		}
	}
	if n := leases(t, l, "k"); n != 1 {
		t.Errorf("Leases = %d after the Refreshes, want 1 (Refresh takes no lease)", n)
	}
}

// testRefreshExtends checks that a lease ends ttl after it was taken or
// last refreshed, by Refresh or by another Acquire.
func testRefreshExtends(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	const ttl = 400 * time.Millisecond
	acquire(t, l, "k", "refreshed", 10, ttl)
	acquire(t, l, "k", "reacquired", 10, ttl)
	left := time.Now()
	acquire(t, l, "k", "left", 10, ttl)
	time.Sleep(ttl * 6 / 10)
	renewed := time.Now()
	refreshed, reacquired := refresh(t, l, "k", "refreshed", ttl), acquire(t, l, "k", "reacquired", 1, ttl)
	if time.Since(left) >= ttl {
		t.Skip("overslept; the leases expired before their refresh")
	}
	if !refreshed || !reacquired {
		t.Fatalf("Refresh of a live lease = %v, Acquire of a live lease = %v; want true", refreshed, reacquired)
	}
	time.Sleep(ttl * 6 / 10)
	before := time.Now()
	got := leases(t, l, "k")
	after := time.Now()
	switch {
	case after.Sub(renewed) >= ttl:
		t.Log("overslept; not checking the refreshed leases")
	case before.Sub(left) < ttl:
		t.Log("slept short; not checking")
	case got != 2:
		t.Errorf("Leases = %d %v after the unrefreshed lease was taken and %v after the others were refreshed; want 2",
			got, before.Sub(left).Round(time.Millisecond), after.Sub(renewed).Round(time.Millisecond))
	}
	waitLeases(t, l, "k", 0, 10*ttl)
}

// testExpiryHeals checks that the leases of a node that stopped refreshing
// them free their slots once their ttl has passed.
func testExpiryHeals(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	const ttl = 200 * time.Millisecond
	start := time.Now()
	acquire(t, l, "k", "dead/1", 2, ttl)
	acquire(t, l, "k", "dead/2", 2, ttl)
	if acquire(t, l, "k", "live/1", 2, ttl) {
		if time.Since(start) >= ttl {
			t.Skip("overslept; the leases expired before the check")
		}
		t.Fatal("Acquire beyond the limit succeeded")
	}
	deadline := time.Now().Add(10 * ttl)
	for !acquire(t, l, "k", "live/1", 2, long) {
		if time.Now().After(deadline) {
			t.Fatalf("the slots of leases with ttl %v not free after %v", ttl, 10*ttl)
		}
		time.Sleep(ttl / 10)
	}
	waitLeases(t, l, "k", 1, 10*ttl)
	if !acquire(t, l, "k", "dead/1", 2, long) {
		t.Error("an expired lease cannot be taken again")
	}
	if acquire(t, l, "k", "live/2", 2, long) {
		t.Error("Acquire beyond the limit succeeded after expiry")
	}
}

// waitLeases waits up to d for key to have want leases.
func waitLeases(t *testing.T, l store.Limits, key string, want int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		n := leases(t, l, key)
		if n == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("Leases(%s) = %d after %v, want %d", key, n, d, want)
		}
		time.Sleep(d / 100)
	}
}
