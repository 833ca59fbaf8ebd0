package store

import "time"

// limitsWindowMin is the smallest ring a key's events get: it grows by
// doubling up to the limit, so a key with a high limit and few events
// stays small.
const limitsWindowMin = 8

// limitsWindow is a key's recent events: a ring of their times, oldest
// first, of at most limit entries (the largest limit of a Hit recorded).
//
// Hit needs no count of the events in the window: fewer than limit events
// happened in it exactly when the limit-th most recent event, if any, is
// older than the window. The ring keeps that event, so Hit is exact and
// takes constant time. An event older than the window is overwritten
// rather than the ring grown, so the ring holds about the events of one
// window, not limit of them. So a window widened later does not see the
// events a narrower one let go, and a limit raised above what the ring
// kept may let through events that a forgotten one would have refused;
// Trunkline uses each key with one window and rarely changes its limit.
type limitsWindow struct {
	times  []time.Duration // the ring; since EmbeddedLimits.epoch
	head   int             // index of the oldest event
	n      int             // events in the ring
	window time.Duration   // the window of the last Hit, for idle
}

// hit records an event at now if fewer than limit (> 0) events happened in
// the window (now − window, now], and reports whether it did.
func (w *limitsWindow) hit(now time.Duration, limit int, window time.Duration) bool {
	w.window = window
	if w.n >= limit && w.at(w.n-limit) > now-window {
		return false
	}
	switch {
	case w.n < len(w.times):
		w.times[(w.head+w.n)%len(w.times)] = now
		w.n++
	case w.n >= limit || w.n > 0 && w.times[w.head] <= now-window:
		// Full, and the oldest event is out of the window or beyond the
		// limit (it is at or before the limit-th most recent, out of the
		// window): it goes. A ring left far above a lowered limit shrinks.
		if len(w.times) > 2*limit+limitsWindowMin {
			w.resize(limit)
			w.times[w.n] = now
			w.n++
			break
		}
		w.times[w.head] = now
		w.head = (w.head + 1) % len(w.times)
	default: // full of events in the window, below the limit: grow
		w.resize(min(limit, max(limitsWindowMin, 2*len(w.times))))
		w.times[w.n] = now
		w.n++
	}
	return true
}

// at returns the time of the i-th oldest event (0 ≤ i < n).
func (w *limitsWindow) at(i int) time.Duration {
	return w.times[(w.head+i)%len(w.times)]
}

// resize moves the ring into one of size, oldest first at index 0,
// keeping the newest events that leave room for one more.
func (w *limitsWindow) resize(size int) {
	keep := min(w.n, size-1)
	times := make([]time.Duration, size)
	for i := range keep {
		times[i] = w.at(w.n - keep + i)
	}
	w.times, w.head, w.n = times, 0, keep
}

// idle reports whether no event is in the window of the last Hit.
func (w *limitsWindow) idle(now time.Duration) bool {
	return w.n == 0 || w.at(w.n-1) <= now-w.window
}
