package auth

import (
	"sync"
	"time"
)

// strikes counts failures per key in a sliding window and locks a key out
// for an exponentially growing time once it reaches the threshold: the
// n-th lockout within the memory period lasts base·2^(n-1), at most max.
// It backs both the SIP source bans and the admin login throttle. Memory
// is bounded by maxKeys: when full, keys that are neither locked nor
// recently failed are dropped first, then the oldest failures.
type strikes[K comparable] struct {
	threshold int
	window    time.Duration
	base, max time.Duration
	memory    time.Duration // how long past lockouts count towards the next
	maxKeys   int
	now       func() time.Time

	mu   sync.RWMutex
	keys map[K]*strike
}

type strike struct {
	fails    []time.Time // within window, oldest first
	until    time.Time   // locked until
	since    time.Time   // lockout start
	count    int         // lockouts within memory
	lastLock time.Time
}

func newStrikes[K comparable](threshold int, window, base, max, memory time.Duration, maxKeys int, now func() time.Time) *strikes[K] {
	return &strikes[K]{threshold: max1(threshold), window: window, base: base, max: max, memory: memory,
		maxKeys: max1(maxKeys), now: now, keys: make(map[K]*strike)}
}

func max1(n int) int { return max(n, 1) }

// locked reports whether k is locked out now, and until when.
func (s *strikes[K]) locked(k K) (time.Time, bool) {
	s.mu.RLock()
	e := s.keys[k]
	var until time.Time
	if e != nil {
		until = e.until
	}
	s.mu.RUnlock()
	return until, !until.IsZero() && s.now().Before(until)
}

// fail records a failure of k; it returns the lockout end when this
// failure locked k out.
func (s *strikes[K]) fail(k K) (time.Time, bool) {
	now := s.now()
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.keys[k]
	if e == nil {
		if len(s.keys) >= s.maxKeys {
			s.evict(now)
		}
		e = &strike{}
		s.keys[k] = e
	}
	if now.Before(e.until) {
		return e.until, false // already locked
	}
	cut := now.Add(-s.window)
	i := 0
	for i < len(e.fails) && !e.fails[i].After(cut) {
		i++
	}
	e.fails = append(e.fails[i:], now)
	if len(e.fails) < s.threshold {
		return time.Time{}, false
	}
	if e.lastLock.IsZero() || now.Sub(e.lastLock) > s.memory {
		e.count = 0
	}
	e.count++
	d := s.base
	for n := 1; n < e.count && d < s.max; n++ {
		d *= 2
	}
	d = min(d, s.max)
	e.fails = e.fails[:0]
	e.since, e.until, e.lastLock = now, now.Add(d), now
	return e.until, true
}

// recent returns how many failures k had within the window (none while
// it is locked: a lockout clears them).
func (s *strikes[K]) recent(k K) int {
	cut := s.now().Add(-s.window)
	s.mu.RLock()
	defer s.mu.RUnlock()
	e := s.keys[k]
	if e == nil {
		return 0
	}
	n := 0
	for _, f := range e.fails {
		if f.After(cut) {
			n++
		}
	}
	return n
}

// history returns when k's lockout began and how many k had within the
// memory period.
func (s *strikes[K]) history(k K) (since time.Time, count int) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if e := s.keys[k]; e != nil {
		return e.since, e.count
	}
	return time.Time{}, 0
}

// reset forgets k's failures (after a success) but not its lockout history.
func (s *strikes[K]) reset(k K) {
	s.mu.Lock()
	if e := s.keys[k]; e != nil {
		e.fails = e.fails[:0]
	}
	s.mu.Unlock()
}

// lift ends k's lockout and forgets its history; it reports whether k was
// locked.
func (s *strikes[K]) lift(k K) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.keys[k]
	if e == nil {
		return false
	}
	delete(s.keys, k)
	return s.now().Before(e.until)
}

type lockout[K comparable] struct {
	key          K
	since, until time.Time
	count        int
}

// active lists the keys locked out now.
func (s *strikes[K]) active() []lockout[K] {
	now := s.now()
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []lockout[K]
	for k, e := range s.keys {
		if now.Before(e.until) {
			out = append(out, lockout[K]{key: k, since: e.since, until: e.until, count: e.count})
		}
	}
	return out
}

// sweep drops keys with nothing left to remember.
func (s *strikes[K]) sweep() {
	s.mu.Lock()
	s.evict(s.now())
	s.mu.Unlock()
}

// evict drops idle keys; if the table is still full, it drops unlocked
// keys, and as a last resort any. Called with mu held.
func (s *strikes[K]) evict(now time.Time) {
	for k, e := range s.keys {
		idle := now.After(e.until) && (len(e.fails) == 0 || now.Sub(e.fails[len(e.fails)-1]) > s.window)
		if idle && (e.lastLock.IsZero() || now.Sub(e.lastLock) > s.memory) {
			delete(s.keys, k)
		}
	}
	for k, e := range s.keys {
		if len(s.keys) < s.maxKeys*9/10 {
			return
		}
		if !now.Before(e.until) {
			delete(s.keys, k)
		}
	}
	for k := range s.keys {
		if len(s.keys) < s.maxKeys*9/10 {
			return
		}
		delete(s.keys, k)
	}
}

func (s *strikes[K]) size() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}
