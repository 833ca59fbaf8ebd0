package store

import (
	"fmt"
	"testing"
	"time"
)

// TestLimitsForget checks that a shard that grew forgets idle keys and
// keeps those with a live lease or an event in their window.
func TestLimitsForget(t *testing.T) {
	l := newEmbeddedLimits()
	ctx := t.Context()
	if ok, err := l.Acquire(ctx, "held", "a", 1, time.Hour); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if ok, err := l.Hit(ctx, "recent", 1, time.Hour); !ok || err != nil {
		t.Fatalf("Hit = %v, %v", ok, err)
	}
	const idle = 3 * limitsForgetAt * limitsShards
	for i := range idle {
		key := fmt.Sprint("idle/", i)
		if i%2 == 0 { // a call that came and went
			if _, err := l.Acquire(ctx, key, "a", 1, time.Hour); err != nil {
				t.Fatal(err)
			}
			if err := l.Release(ctx, key, "a"); err != nil {
				t.Fatal(err)
			}
		} else if _, err := l.Hit(ctx, key, 1, time.Nanosecond); err != nil { // a window long past
			t.Fatal(err)
		}
	}
	n := 0
	for i := range l.shards {
		n += len(l.shards[i].keys)
	}
	if n >= idle {
		t.Errorf("%d keys in memory: no idle key was forgotten", n)
	}
	for _, key := range []string{"held", "recent"} {
		if l.shard(key).keys[key] == nil {
			t.Errorf("key %q, not idle, was forgotten", key)
		}
	}
	if ok, err := l.Hit(ctx, "recent", 1, time.Hour); ok || err != nil {
		t.Errorf("Hit on a kept key = %v, %v; want refused", ok, err)
	}
}

// TestLimitsWindowRing drives a key's ring through growth, wrap-around and
// a lowered and raised limit, against a plain count of recorded events.
func TestLimitsWindowRing(t *testing.T) {
	var w limitsWindow
	var recorded []time.Duration // every event hit recorded
	const window = 100
	now := time.Duration(1000)
	checked := 0
	limits := []int{3, 3, 20, 20, 50, 2, 2, 1, 7, 40} // 400 steps each
	for step := range 4000 {
		limit := limits[step/400]
		now += time.Duration(step%7) * 3 // bursts and gaps
		inWindow := 0
		for _, at := range recorded {
			if at > now-window {
				inWindow++
			}
		}
		want := inWindow < limit
		// A raised limit may let through what events the ring let go
		// would have refused: check where it let go none in the window.
		lost := len(recorded) - w.n
		exact := w.n >= limit || lost == 0 || recorded[lost-1] <= now-window
		got := w.hit(now, limit, window)
		if exact {
			checked++
		}
		if exact && got != want {
			t.Fatalf("step %d (limit %d, %d in window, ring %d/%d): hit = %v, want %v", step, limit, inWindow, w.n, len(w.times), got, want)
		}
		if got {
			recorded = append(recorded, now)
		}
		if len(w.times) > 50 {
			t.Fatalf("step %d: ring of %d, above the highest limit", step, len(w.times))
		}
		if step == 3199 && len(w.times) > 2+limitsWindowMin {
			t.Errorf("ring of %d after limits 2 and 1: it did not shrink", len(w.times))
		}
	}
	if checked < 3900 {
		t.Errorf("only %d of 4000 steps checked", checked)
	}
}
