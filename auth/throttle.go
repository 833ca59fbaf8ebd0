package auth

import "time"

// Login throttle defaults: 5 failures in 15 minutes lock a key for 1 minute,
// doubling up to an hour.
const (
	DefaultThrottleFailures = 5
	DefaultThrottleWindow   = 15 * time.Minute
	DefaultThrottleBase     = time.Minute
	DefaultThrottleMax      = time.Hour
)

// Throttle slows down password guessing on admin login: failures are
// counted per key (a username, a client address), and a key that fails too
// often is locked for an exponentially growing time. Safe for concurrent
// use; memory is bounded.
type Throttle struct {
	s *strikes[string]
}

// NewThrottle returns a throttle that locks a key after failures failures
// within window, for base doubling up to max. Zero values take the defaults.
func NewThrottle(failures int, window, base, max time.Duration, now func() time.Time) *Throttle {
	if failures == 0 {
		failures = DefaultThrottleFailures
	}
	if window == 0 {
		window = DefaultThrottleWindow
	}
	if base == 0 {
		base = DefaultThrottleBase
	}
	if max == 0 {
		max = DefaultThrottleMax
	}
	if now == nil {
		now = time.Now
	}
	return &Throttle{s: newStrikes[string](failures, window, base, max, 24*time.Hour, 100_000, now)}
}

// Locked reports whether key is locked now and for how much longer.
func (t *Throttle) Locked(key string) (time.Duration, bool) {
	until, ok := t.s.locked(key)
	if !ok {
		return 0, false
	}
	return until.Sub(t.s.now()), true
}

// Fail records a failure of key.
func (t *Throttle) Fail(key string) { t.s.fail(key) }

// Succeed forgets key's recent failures.
func (t *Throttle) Succeed(key string) { t.s.reset(key) }
