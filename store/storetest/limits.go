package storetest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// RunLimits runs the conformance suite of store.Limits as subtests of t.
//
// open must return a Limits on empty state of its own for the test it is
// given, and register its cleanup with t. Some subtests wait for leases
// and windows of a few hundred milliseconds to pass; a subtest that finds
// it overslept (a loaded machine) skips the assertion it can no longer make.
//
// Besides store.Limits's contract, the suite holds backends to these
// choices: an empty key or lease name is store.ErrEmptyKey; a limit < 0, a
// ttl ≤ 0 or a window ≤ 0 is store.ErrBadAmount; a done context fails every
// method with its error; none of them changes anything.
func RunLimits(t *testing.T, open func(t *testing.T) store.Limits) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Limits)
	}{
		{"Empty", testLimitsEmpty},
		{"EmptyKey", testLimitsEmptyKey},
		{"BadArguments", testLimitsBadArguments},
		{"Canceled", testLimitsCanceled},
		{"AcquireUpToLimit", testAcquireUpToLimit},
		{"LimitZero", testLimitZero},
		{"Reacquire", testReacquire},
		{"ReleaseFreesSlot", testReleaseFreesSlot},
		{"Refresh", testRefresh},
		{"RefreshExtends", testRefreshExtends},
		{"ExpiryHeals", testExpiryHeals},
		{"KeysApart", testLimitsKeysApart},
		{"HitLimit", testHitLimit},
		{"HitSliding", testHitSliding},
		{"HitRefusedNotRecorded", testHitRefusedNotRecorded},
		{"HitKeysApart", testHitKeysApart},
		{"ConcurrentAcquire", testConcurrentAcquire},
		{"ConcurrentReacquire", testConcurrentReacquire},
		{"ConcurrentChurn", testConcurrentChurn},
		{"ConcurrentHit", testConcurrentHit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open) })
	}
}

func testLimitsEmpty(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	if n := leases(t, l, "nobody"); n != 0 {
		t.Errorf("Leases of a new key = %d, want 0", n)
	}
	if ok, err := l.Refresh(ctx, "nobody", "x", long); ok || err != nil {
		t.Errorf("Refresh on a new key = %v, %v; want false, nil", ok, err)
	}
	if err := l.Release(ctx, "nobody", "x"); err != nil {
		t.Errorf("Release on a new key: %v", err)
	}
	if n := leases(t, l, "nobody"); n != 0 {
		t.Errorf("Leases after Refresh and Release of nothing = %d, want 0", n)
	}
}

func testLimitsEmptyKey(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	errs := map[string]error{}
	_, errs[`Acquire("", x)`] = l.Acquire(ctx, "", "x", 5, long)
	_, errs[`Acquire(k, "")`] = l.Acquire(ctx, "k", "", 5, long)
	_, errs[`Refresh("", x)`] = l.Refresh(ctx, "", "x", long)
	_, errs[`Refresh(k, "")`] = l.Refresh(ctx, "k", "", long)
	errs[`Release("", x)`] = l.Release(ctx, "", "x")
	errs[`Release(k, "")`] = l.Release(ctx, "k", "")
	_, errs[`Leases("")`] = l.Leases(ctx, "")
	_, errs[`Hit("")`] = l.Hit(ctx, "", 5, time.Minute)
	for call, err := range errs {
		if !errors.Is(err, store.ErrEmptyKey) {
			t.Errorf("%s: err = %v, want ErrEmptyKey", call, err)
		}
	}
	if n := leases(t, l, "k"); n != 0 {
		t.Errorf("after refused calls Leases(k) = %d, want 0", n)
	}
}

func testLimitsBadArguments(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	if !acquire(t, l, "k", "held", 1, long) {
		t.Fatal("first Acquire refused")
	}
	errs := map[string]error{}
	_, errs["Acquire with limit -1"] = l.Acquire(ctx, "k", "new", -1, long)
	for _, d := range []time.Duration{0, -time.Second} {
		_, errs[fmt.Sprintf("Acquire with ttl %v", d)] = l.Acquire(ctx, "k", "new", 5, d)
		_, errs[fmt.Sprintf("Acquire of a live lease with ttl %v", d)] = l.Acquire(ctx, "k", "held", 5, d)
		_, errs[fmt.Sprintf("Refresh with ttl %v", d)] = l.Refresh(ctx, "k", "held", d)
		_, errs[fmt.Sprintf("Hit with window %v", d)] = l.Hit(ctx, "h", 5, d)
	}
	_, errs["Hit with limit -1"] = l.Hit(ctx, "h", -1, time.Minute)
	for call, err := range errs {
		if !errors.Is(err, store.ErrBadAmount) {
			t.Errorf("%s: err = %v, want ErrBadAmount", call, err)
		}
	}
	if n := leases(t, l, "k"); n != 1 {
		t.Errorf("after refused calls Leases(k) = %d, want 1", n)
	}
	if !hit(t, l, "h", 1, time.Minute) {
		t.Error("after refused Hits a Hit with limit 1 was refused: one was recorded")
	}
}

func testLimitsCanceled(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	acquire(t, l, "k", "held", 5, long)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	errs := map[string]error{}
	_, errs["Acquire"] = l.Acquire(ctx, "k", "new", 5, long)
	_, errs["Refresh"] = l.Refresh(ctx, "k", "held", long)
	errs["Release"] = l.Release(ctx, "k", "held")
	_, errs["Leases"] = l.Leases(ctx, "k")
	_, errs["Hit"] = l.Hit(ctx, "h", 5, time.Minute)
	for call, err := range errs {
		if !errors.Is(err, context.Canceled) {
			t.Errorf("%s: err = %v, want context.Canceled", call, err)
		}
	}
	if n := leases(t, l, "k"); n != 1 {
		t.Errorf("after canceled calls Leases(k) = %d, want 1 (nothing taken, nothing released)", n)
	}
	if !hit(t, l, "h", 1, time.Minute) {
		t.Error("after a canceled Hit a Hit with limit 1 was refused: the canceled one was recorded")
	}
}

// testLimitsKeysApart checks that keys are apart, whatever their names hold
// (Trunkline's keys have slashes and IP addresses), and that leases and
// events of one key do not count for each other.
func testLimitsKeysApart(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	ctx := t.Context()
	names := []string{"cust/c1", "cust/C1", "cust/c1 ", "ip/10.0.0.1", "ip/::1", "é/ü·€", "a\x00b", strings.Repeat("x", 300)}
	for i, n := range names {
		for j := range i + 1 {
			if !acquire(t, l, n, fmt.Sprint("node/call-", j), i+1, long) {
				t.Fatalf("Acquire %d on %q refused", j, n)
			}
		}
		if acquire(t, l, n, "node/one-too-many", i+1, long) {
			t.Errorf("Acquire beyond %d on %q succeeded", i+1, n)
		}
	}
	for i, n := range names {
		if got := leases(t, l, n); got != i+1 {
			t.Errorf("Leases(%q) = %d, want %d", n, got, i+1)
		}
	}
	// The same lease name on another key is another lease.
	if err := l.Release(ctx, names[0], "node/call-0"); err != nil {
		t.Fatal(err)
	}
	if got := leases(t, l, names[1]); got != 2 {
		t.Errorf("Release on %q changed %q: %d leases, want 2", names[0], names[1], got)
	}
	// Events and leases of one key are apart.
	if !hit(t, l, names[1], 1, time.Minute) {
		t.Errorf("Hit on %q, which has leases but no events, refused", names[1])
	}
	if got := leases(t, l, names[1]); got != 2 {
		t.Errorf("Hit changed the leases of %q: %d, want 2", names[1], got)
	}
	if !acquire(t, l, "fresh", "a", 1, long) || !hit(t, l, "fresh", 1, time.Minute) {
		t.Error("a key's first lease and first event are not counted apart")
	}
}

func acquire(t *testing.T, l store.Limits, key, lease string, limit int, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.Acquire(t.Context(), key, lease, limit, ttl)
	if err != nil {
		t.Fatalf("Acquire(%s, %s, %d): %v", key, lease, limit, err)
	}
	return ok
}

func refresh(t *testing.T, l store.Limits, key, lease string, ttl time.Duration) bool {
	t.Helper()
	ok, err := l.Refresh(t.Context(), key, lease, ttl)
	if err != nil {
		t.Fatalf("Refresh(%s, %s): %v", key, lease, err)
	}
	return ok
}

func leases(t *testing.T, l store.Limits, key string) int {
	t.Helper()
	n, err := l.Leases(t.Context(), key)
	if err != nil {
		t.Fatalf("Leases(%s): %v", key, err)
	}
	return n
}

func hit(t *testing.T, l store.Limits, key string, limit int, window time.Duration) bool {
	t.Helper()
	ok, err := l.Hit(t.Context(), key, limit, window)
	if err != nil {
		t.Fatalf("Hit(%s, %d, %v): %v", key, limit, window, err)
	}
	return ok
}
