package load

import "testing"

func TestTimers(t *testing.T) {
	var tm timers[int]
	tm.set(0, 500, 1, 0)
	tm.set(100, 1000, 2, 0)
	tm.set(200, 500, 3, 7)
	var fired []int
	fire := func(c int, seq uint32) {
		fired = append(fired, c)
		if c == 1 {
			tm.set(500, 2000, 4, 0) // a new lane while firing
		}
	}
	tm.expire(499, fire)
	if len(fired) != 0 {
		t.Fatalf("fired early: %v", fired)
	}
	tm.expire(700, fire)
	if len(fired) != 2 || fired[0] != 1 || fired[1] != 3 {
		t.Fatalf("at 700 fired %v, want [1 3]", fired)
	}
	tm.expire(3000, fire)
	if len(fired) != 4 || fired[2] != 2 || fired[3] != 4 || tm.pending() != 0 {
		t.Fatalf("at 3000 fired %v, %d pending", fired, tm.pending())
	}
}

func TestTimersCompact(t *testing.T) {
	var tm timers[int]
	n := 0
	for i := range 20000 {
		tm.set(int64(i), 10, i, 0)
		tm.expire(int64(i), func(int, uint32) { n++ })
	}
	tm.expire(1<<40, func(int, uint32) { n++ })
	if n != 20000 || tm.pending() != 0 {
		t.Fatalf("fired %d, %d pending", n, tm.pending())
	}
}
