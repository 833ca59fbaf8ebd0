package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// hits calls Hit n times on key and returns how many passed.
func hits(t *testing.T, l store.Limits, key string, n, limit int, window time.Duration) int {
	t.Helper()
	passed := 0
	for range n {
		if hit(t, l, key, limit, window) {
			passed++
		}
	}
	return passed
}

// testHitLimit checks that exactly limit events pass in a window, and that
// once the window has passed over them limit pass again.
func testHitLimit(t *testing.T, open func(t *testing.T) store.Limits) {
	const window = 200 * time.Millisecond
	for _, limit := range []int{1, 5, 40} {
		t.Run(fmt.Sprint("limit ", limit), func(t *testing.T) {
			l := open(t)
			start := time.Now()
			got := hits(t, l, "cps", limit+3, limit, window)
			if time.Since(start) >= window {
				t.Skip("overslept; the burst did not fit in one window")
			}
			if got != limit {
				t.Fatalf("%d of %d Hits in one window passed, want %d", got, limit+3, limit)
			}
			time.Sleep(window + window/10)
			start = time.Now()
			got = hits(t, l, "cps", limit+3, limit, window)
			if time.Since(start) >= window {
				t.Skip("overslept; the second burst did not fit in one window")
			}
			if got != limit {
				t.Errorf("one window later %d of %d Hits passed, want %d", got, limit+3, limit)
			}
		})
	}
}

// testHitSliding checks that the window slides: an event frees its slot
// one window after it happened, not at the end of a fixed interval.
func testHitSliding(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	const window, limit = 400 * time.Millisecond, 2
	first := time.Now()
	if !hit(t, l, "cps", limit, window) {
		t.Fatal("first Hit refused")
	}
	firstDone := time.Now()
	time.Sleep(window / 2)
	second := time.Now()
	if !hit(t, l, "cps", limit, window) {
		t.Fatal("second Hit refused")
	}
	if hit(t, l, "cps", limit, window) {
		if time.Since(first) >= window {
			t.Skip("overslept; the third Hit was not within the window")
		}
		t.Fatal("third Hit within the window passed")
	}
	time.Sleep(window - time.Since(firstDone) + window/10) // the first one is out
	before := time.Now()
	passed, refused := hit(t, l, "cps", limit, window), hit(t, l, "cps", limit, window)
	after := time.Now()
	switch {
	case after.Sub(second) >= window:
		t.Log("overslept; not checking")
	case before.Sub(first) < window:
		t.Log("slept short; not checking")
	case !passed || refused:
		t.Errorf("Hits %v after the first and %v after the second event: passed %v then %v; want one to pass",
			before.Sub(first).Round(time.Millisecond), after.Sub(second).Round(time.Millisecond), passed, refused)
	}
}

// testHitRefusedNotRecorded checks that refused events take no slot: after
// a burst refused in the window, limit events pass once the window has
// passed over the events that were recorded, though not over the refused.
func testHitRefusedNotRecorded(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	const window, limit = 300 * time.Millisecond, 3
	start := time.Now()
	if got := hits(t, l, "cps", limit, limit, window); got != limit {
		t.Fatalf("%d of %d Hits passed on a new key", got, limit)
	}
	accepted := time.Now()
	var lastRefused time.Time
	for time.Since(accepted) < window/2 {
		if hit(t, l, "cps", limit, window) {
			if time.Since(start) >= window {
				t.Skip("overslept; the burst left the window")
			}
			t.Fatal("a Hit beyond the limit passed within the window")
		}
		lastRefused = time.Now()
		time.Sleep(window / 30)
	}
	time.Sleep(window - time.Since(accepted) + window/10)
	got := hits(t, l, "cps", limit+2, limit, window)
	if time.Since(lastRefused) >= window {
		t.Skip("overslept; the refused burst left the window too")
	}
	if got != limit {
		t.Errorf("one window after the recorded events %d of %d Hits passed, want %d (refused Hits were recorded?)", got, limit+2, limit)
	}
}

// testHitKeysApart checks that events of one key do not count on another.
func testHitKeysApart(t *testing.T, open func(t *testing.T) store.Limits) {
	l := open(t)
	for i, key := range []string{"cps/c1", "cps/c2", "cps/C1", "cps/c1/"} {
		if got := hits(t, l, key, 5, i+1, time.Minute); got != i+1 {
			t.Errorf("%s: %d of 5 Hits with limit %d passed", key, got, i+1)
		}
	}
}
