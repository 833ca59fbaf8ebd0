package load

import (
	"fmt"
	"time"
)

// Defaults, as sipp's where sipp has one.
const (
	DefaultRate    = 10.0                   // calls/s (sipp -r)
	DefaultT1      = 500 * time.Millisecond // first retransmission (retrans="500" in the scenarios)
	DefaultT2      = 4 * time.Second        // cap of non-INVITE and 2xx retransmission intervals (sipp -t2)
	DefaultTimeout = 64 * DefaultT1         // how long a transaction waits for its final response (Timer B/F)
	DefaultLinger  = 4 * time.Second        // the UAS keeps an ended call to answer BYE retransmissions
	DefaultNumber  = "service"              // dialled without a numbers file (sipp -s)

	tick       = time.Millisecond       // the pacer's period
	sweepEvery = 250 * time.Millisecond // how often calls are checked for timeouts
)

// config is what both sides are set up with; an Option changes it.
type config struct {
	rate     float64
	count    int
	duration time.Duration
	hold     time.Duration
	limit    int
	numbers  []string
	t1, t2   time.Duration
	timeout  time.Duration
	linger   time.Duration
	filter   func(*Msg) bool
}

func defaults() config {
	return config{rate: DefaultRate, t1: DefaultT1, t2: DefaultT2, timeout: DefaultTimeout,
		linger: DefaultLinger, numbers: []string{DefaultNumber}}
}

// Option sets up a UAC or UAS. Options that concern only one side are
// ignored by the other.
type Option func(*config)

// WithRate sets the UAC's call rate in calls per second (default 10).
func WithRate(callsPerSecond float64) Option { return func(c *config) { c.rate = callsPerSecond } }

// WithCount makes the UAC place n calls, then stop (sipp -m). Without it, or
// with WithDuration, it places calls until the duration is over or its
// context ends.
func WithCount(n int) Option { return func(c *config) { c.count = n } }

// WithDuration makes the UAC place calls for d, then stop: rate × d calls
// (or the count, if lower). The UAS runs until its context ends whatever d
// is.
func WithDuration(d time.Duration) Option { return func(c *config) { c.duration = d } }

// WithHold sets the call length: the UAC sends BYE this long after the ACK
// (sipp -d; default 0, BYE at once).
func WithHold(d time.Duration) Option { return func(c *config) { c.hold = d } }

// WithLimit caps the UAC's calls in progress (sipp -l); calls due while at
// the cap wait. 0, the default, is no cap.
func WithLimit(n int) Option { return func(c *config) { c.limit = n } }

// WithNumbers sets the dialled numbers, used in turn (sipp -inf with
// SEQUENTIAL). Default: one number, "service".
func WithNumbers(numbers []string) Option {
	return func(c *config) {
		if len(numbers) > 0 {
			c.numbers = numbers
		}
	}
}

// WithTimers sets T1, the first retransmission interval (default 500 ms),
// and T2, the cap of the intervals of BYE and 2xx retransmissions (default
// 4 s). INVITE retransmissions double without a cap.
func WithTimers(t1, t2 time.Duration) Option { return func(c *config) { c.t1, c.t2 = t1, t2 } }

// WithTimeout sets how long a transaction waits for its final response
// before the call counts as failed: the UAC's INVITE (even after a 1xx) and
// BYE, the UAS's 200 awaiting its ACK. Default 32 s (64 × T1).
func WithTimeout(d time.Duration) Option { return func(c *config) { c.timeout = d } }

// WithLinger sets how long the UAS keeps an ended call to answer a
// retransmitted BYE with 200 again (default 4 s, covering retransmissions at
// 0.5, 1.5 and 3.5 s); after that a BYE of the call gets 481.
func WithLinger(d time.Duration) Option { return func(c *config) { c.linger = d } }

// WithFilter sets a function that sees every message received, once
// scanned, and drops it when it returns false; tests use it to lose
// messages. It runs under the side's lock and must not keep m.
func WithFilter(f func(m *Msg) bool) Option { return func(c *config) { c.filter = f } }

func (c *config) validate() error {
	switch {
	case c.rate <= 0:
		return fmt.Errorf("rate %v: must be above 0", c.rate)
	case c.count < 0:
		return fmt.Errorf("count %d: must not be negative", c.count)
	case c.limit < 0:
		return fmt.Errorf("limit %d: must not be negative", c.limit)
	case c.hold < 0 || c.duration < 0:
		return fmt.Errorf("hold and duration must not be negative")
	case c.t1 <= 0 || c.t2 < c.t1:
		return fmt.Errorf("timers T1 %s, T2 %s: need 0 < T1 <= T2", c.t1, c.t2)
	case c.timeout <= c.t1:
		return fmt.Errorf("timeout %s: must be above T1 %s", c.timeout, c.t1)
	case c.linger < 0:
		return fmt.Errorf("linger %s: must not be negative", c.linger)
	}
	for i, n := range c.numbers {
		if !validNumber(n) {
			return fmt.Errorf("dialled number %d %q: not a SIP user part", i+1, n)
		}
	}
	return nil
}
