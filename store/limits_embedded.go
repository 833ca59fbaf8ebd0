package store

import (
	"context"
	"hash/maphash"
	"sync/atomic"
	"time"
)

// EmbeddedLimits is the Limits of an Embedded store, for a switch that runs
// alone. Its leases and events live only in this process's memory and
// nothing of them touches the disk: a restart drops every lease, which is
// right because the calls that held them died with the process, and every
// window starts empty again.
//
// Keys are spread over independently locked shards by their hash, so calls
// on different keys seldom wait for each other. Expired leases are dropped
// lazily: each key remembers the earliest expiry of its leases and looks at
// them only once that has passed. A key's events are a ring of at most
// limit times (see limits_window.go), so Hit is exact and takes constant
// time. Keys without live leases or recent events are forgotten when their
// shard grows (see limits_keys.go), so memory follows the live calls and
// the active keys, not every key ever used.
//
// It is safe for concurrent use. After the Embedded is closed every method
// returns an error wrapping ErrClosed.
type EmbeddedLimits struct {
	epoch  time.Time // times are monotonic durations since epoch
	seed   maphash.Seed
	shards [limitsShards]limitsShard
	closed atomic.Bool
}

var _ Limits = (*EmbeddedLimits)(nil)

func newEmbeddedLimits() *EmbeddedLimits {
	return &EmbeddedLimits{epoch: time.Now(), seed: maphash.MakeSeed()}
}

// close makes every later call fail with ErrClosed and drops what the
// shards hold.
func (l *EmbeddedLimits) close() {
	l.closed.Store(true)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		s.keys = nil
		s.mu.Unlock()
	}
}

// Acquire takes the lease named lease on key, expiring ttl from now, if
// fewer than limit leases are live on key. A lease already live on key is
// refreshed and Acquire reports true whatever the count, so a retried
// Acquire never counts twice. A limit < 0 or a ttl ≤ 0 is ErrBadAmount.
func (l *EmbeddedLimits) Acquire(ctx context.Context, key, lease string, limit int, ttl time.Duration) (bool, error) {
	if err := l.check(ctx, key, lease); err != nil {
		return false, err
	}
	if limit < 0 || ttl <= 0 {
		return false, ErrBadAmount
	}
	now := l.now()
	s, err := l.lock(key)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	live := 0
	k := s.keys[key]
	if k != nil {
		k.expire(now)
		if k.refresh(lease, expiry(now, ttl)) {
			return true, nil
		}
		live = len(k.leases)
	}
	if live >= limit {
		return false, nil // nothing is kept for a refused lease
	}
	if k == nil {
		k = s.add(key, now)
	}
	k.take(lease, expiry(now, ttl))
	return true, nil
}

// Refresh moves a live lease's expiry to ttl from now and reports true; it
// reports false, and takes nothing, when the lease is not live. A ttl ≤ 0
// is ErrBadAmount.
func (l *EmbeddedLimits) Refresh(ctx context.Context, key, lease string, ttl time.Duration) (bool, error) {
	if err := l.check(ctx, key, lease); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, ErrBadAmount
	}
	now := l.now()
	s, err := l.lock(key)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil { // a key not in memory has no leases
		return false, nil
	}
	k.expire(now)
	return k.refresh(lease, expiry(now, ttl)), nil
}

// Release drops the lease if it is live. The key's state stays in memory
// for the next call on it until its shard forgets it.
func (l *EmbeddedLimits) Release(ctx context.Context, key, lease string) error {
	if err := l.check(ctx, key, lease); err != nil {
		return err
	}
	s, err := l.lock(key)
	if err != nil {
		return err
	}
	defer s.mu.Unlock()
	if k := s.keys[key]; k != nil {
		delete(k.leases, lease)
	}
	return nil
}

// Leases returns how many leases are live on key.
func (l *EmbeddedLimits) Leases(ctx context.Context, key string) (int, error) {
	if err := l.check(ctx, key, "-"); err != nil {
		return 0, err
	}
	now := l.now()
	s, err := l.lock(key)
	if err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil {
		return 0, nil
	}
	k.expire(now)
	return len(k.leases), nil
}

// Hit records one event on key at the current time if fewer than limit
// events were recorded in the window that ends now, and reports whether it
// did. A refused event is not recorded. A limit < 0 or a window ≤ 0 is
// ErrBadAmount.
func (l *EmbeddedLimits) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	if err := l.check(ctx, key, "-"); err != nil {
		return false, err
	}
	if limit < 0 || window <= 0 {
		return false, ErrBadAmount
	}
	if limit == 0 {
		return false, nil
	}
	now := l.now()
	s, err := l.lock(key)
	if err != nil {
		return false, err
	}
	defer s.mu.Unlock()
	k := s.keys[key]
	if k == nil {
		k = s.add(key, now)
	}
	return k.events.hit(now, limit, window), nil
}

// check refuses a call on a closed store, with a done context or without a
// key or lease name. Methods check closed again under their shard's lock,
// so that nothing is kept once close has returned.
func (l *EmbeddedLimits) check(ctx context.Context, key, lease string) error {
	if l.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == "" || lease == "" {
		return ErrEmptyKey
	}
	return nil
}

// now is the monotonic time expiries and events are measured in.
func (l *EmbeddedLimits) now() time.Duration { return time.Since(l.epoch) }

// lock locks key's shard and returns it, or ErrClosed (nothing locked) once
// the store is closed: checked under the lock, so that nothing is kept once
// close has returned.
func (l *EmbeddedLimits) lock(key string) (*limitsShard, error) {
	s := l.shard(key)
	s.mu.Lock()
	if l.closed.Load() {
		s.mu.Unlock()
		return nil, ErrClosed
	}
	return s, nil
}

func (l *EmbeddedLimits) shard(key string) *limitsShard {
	return &l.shards[maphash.String(l.seed, key)%limitsShards]
}

// expiry returns now+ttl, or never when that would overflow.
func expiry(now, ttl time.Duration) time.Duration {
	if ttl > never-now {
		return never
	}
	return now + ttl
}
