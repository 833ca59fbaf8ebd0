package auth

import (
	"sync"
	"time"
)

// Login throttle defaults: 5 failures in 15 minutes lock a user on one
// source address for 1 minute, doubling up to an hour; a source that fails
// 4 times as often (over any users) is locked, and so is a user that fails
// 10 times as often (over any sources: a guess spread over many
// addresses).
const (
	DefaultThrottleFailures = 5
	DefaultThrottleWindow   = 15 * time.Minute
	DefaultThrottleBase     = time.Minute
	DefaultThrottleMax      = time.Hour

	sourceFactor = 4  // a source's threshold, in pair thresholds
	userFactor   = 10 // a user's threshold, in pair thresholds
)

// Throttle slows down password guessing on admin login. Failures are
// counted per user on one source, per source and per user, and a key
// that fails too often is locked for an exponentially growing time: so
// guessing from one address locks that address out, not the user
// everywhere. Begin counts an attempt before its password is checked: the
// attempts in progress count as failures until they end, so a thousand
// guesses sent at once check at most the threshold's worth of passwords.
// Safe for concurrent use; memory is bounded.
type Throttle struct {
	pair, source, user *strikes[string]

	mu       sync.Mutex
	inflight map[string]int // key (kind-prefixed) → attempts in progress
}

// NewThrottle returns a throttle that locks a user on one source after
// failures failures within window, for base doubling up to max. Zero
// values take the defaults.
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
	table := func(n int) *strikes[string] {
		return newStrikes[string](n, window, base, max, 24*time.Hour, 100_000, now)
	}
	return &Throttle{pair: table(failures), source: table(failures * sourceFactor), user: table(failures * userFactor),
		inflight: map[string]int{}}
}

// Attempt is one login attempt under way; End it exactly once.
type Attempt struct {
	t            *Throttle
	user, source string
}

// Begin starts an attempt of user from source. It refuses it, and says
// for how long to wait, while one of its keys is locked or has as many
// recent failures and attempts in progress as it may fail.
func (t *Throttle) Begin(user, source string) (*Attempt, time.Duration, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	a := &Attempt{t: t, user: user, source: source}
	var wait time.Duration
	for _, k := range a.keys() {
		if until, locked := k.s.locked(k.k); locked {
			wait = max(wait, until.Sub(k.s.now()))
		} else if k.s.recent(k.k)+t.inflight[k.id] >= k.s.threshold {
			wait = max(wait, time.Second) // busy: the attempts in progress decide
		}
	}
	if wait > 0 {
		return nil, wait, false
	}
	for _, k := range a.keys() {
		t.inflight[k.id]++
	}
	return a, 0, true
}

// Outcome is how a login attempt ended.
type Outcome int

const (
	Aborted   Outcome = iota // neither: the switch failed, or gave up waiting
	Failed                   // a wrong password or code
	Succeeded                // logged in
)

// End ends the attempt: a failure counts against its keys, a success
// forgets the user's recent failures on that source (not overall: a
// guesser spread over many addresses is not reset by the user's own
// logins), an abort only ends it.
func (a *Attempt) End(o Outcome) {
	t := a.t
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, k := range a.keys() {
		if t.inflight[k.id]--; t.inflight[k.id] <= 0 {
			delete(t.inflight, k.id)
		}
		switch {
		case o == Failed:
			k.s.fail(k.k)
		case o == Succeeded && k.s == t.pair:
			k.s.reset(k.k)
		}
	}
}

type throttleKey struct {
	s     *strikes[string]
	k, id string // the table's key; the key in inflight
}

func (a *Attempt) keys() [3]throttleKey {
	pair := a.user + "\x00" + a.source
	return [3]throttleKey{{a.t.pair, pair, "p" + pair}, {a.t.source, a.source, "s" + a.source}, {a.t.user, a.user, "u" + a.user}}
}

// Sweep drops what the throttle no longer needs to remember; run it now
// and then (a minute) so that its tables do not grow to their cap.
func (t *Throttle) Sweep() {
	for _, s := range []*strikes[string]{t.pair, t.source, t.user} {
		s.sweep()
	}
}

// Locked reports whether user is locked out on source now, and for how
// much longer.
func (t *Throttle) Locked(user, source string) (time.Duration, bool) {
	a := &Attempt{t: t, user: user, source: source}
	var wait time.Duration
	for _, k := range a.keys() {
		if until, locked := k.s.locked(k.k); locked {
			wait = max(wait, until.Sub(k.s.now()))
		}
	}
	return wait, wait > 0
}
