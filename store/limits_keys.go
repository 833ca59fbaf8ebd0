package store

import (
	"sync"
	"time"
)

// limitsShards is the number of independently locked parts of
// EmbeddedLimits's memory; a key belongs to one by its hash.
const limitsShards = 64

// limitsForgetAt is the number of keys a shard holds before it first
// forgets the idle ones (no live lease, no event in their last window).
// The keys of calls long gone (an endpoint, a source IP) would otherwise
// stay forever.
const limitsForgetAt = 1024

// limitsShard is a part of EmbeddedLimits's memory: the keys that hash to
// it, behind one mutex.
type limitsShard struct {
	mu       sync.Mutex
	keys     map[string]*limitsKey
	forgetAt int // len(keys) that triggers the next forget
}

// limitsKey is what EmbeddedLimits keeps of a key: its leases with their
// expiries, and its recent events.
type limitsKey struct {
	leases  map[string]time.Duration // lease name → expiry since epoch
	nextExp time.Duration            // no lease expires before this
	events  limitsWindow
}

// add puts a new, empty state for key in the shard, first forgetting the
// idle keys when the shard has grown. A forgotten key is as if never used:
// it had no live lease, and no event that its last window still counts.
func (s *limitsShard) add(key string, now time.Duration) *limitsKey {
	if s.keys == nil {
		s.keys = make(map[string]*limitsKey)
	}
	if len(s.keys) >= max(s.forgetAt, limitsForgetAt) {
		for name, k := range s.keys {
			if k.idle(now) {
				delete(s.keys, name)
			}
		}
		s.forgetAt = 2 * len(s.keys)
	}
	k := &limitsKey{nextExp: never}
	s.keys[key] = k
	return k
}

// idle reports whether the key holds nothing that counts: no live lease
// and no event in the window of its last Hit.
func (k *limitsKey) idle(now time.Duration) bool {
	k.expire(now)
	return len(k.leases) == 0 && k.events.idle(now)
}

// take adds the lease, which is not live, with expiry exp.
func (k *limitsKey) take(lease string, exp time.Duration) {
	if k.leases == nil {
		k.leases = make(map[string]time.Duration)
	}
	k.leases[lease] = exp
	k.nextExp = min(k.nextExp, exp)
}

// refresh moves the expiry of the lease to exp and reports true if it is
// live. Call expire first. nextExp, a lower bound, may stay earlier.
func (k *limitsKey) refresh(lease string, exp time.Duration) bool {
	if _, ok := k.leases[lease]; !ok {
		return false
	}
	k.leases[lease] = exp
	k.nextExp = min(k.nextExp, exp)
	return true
}

// expire drops the leases whose expiry has passed. It looks at them only
// when the earliest expiry may have passed; then it learns the new
// earliest, so a key whose leases are refreshed in time is scanned about
// once per ttl.
func (k *limitsKey) expire(now time.Duration) {
	if now < k.nextExp {
		return
	}
	k.nextExp = never
	for name, exp := range k.leases {
		if exp <= now {
			delete(k.leases, name)
		} else {
			k.nextExp = min(k.nextExp, exp)
		}
	}
}
