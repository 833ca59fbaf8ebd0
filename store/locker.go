package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Locker is a store that lends names out to one holder at a time across
// the nodes that share it (Redis), for work that must run once in a
// cluster, such as one CDR export run per period. The embedded store is
// not one: a single node needs no lock.
type Locker interface {
	// TryLock takes name for ttl unless someone holds it; release gives it
	// back early (never one taken since by someone else).
	TryLock(ctx context.Context, name string, ttl time.Duration) (release func(), ok bool, err error)
}

var _ Locker = (*Redis)(nil)

// unlockScript deletes KEYS[1] if it still holds ARGV[1].
var unlockScript = redis.NewScript(`if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`)

// TryLock takes <prefix>lock:<name> with a token of its own for ttl.
func (r *Redis) TryLock(ctx context.Context, name string, ttl time.Duration) (func(), bool, error) {
	if err := r.check(ctx, name, "-"); err != nil {
		return nil, false, err
	}
	if ttl <= 0 {
		return nil, false, ErrBadAmount
	}
	key, token := r.prefix+"lock:"+name, NewID()
	err := r.rdb.SetArgs(ctx, key, token, redis.SetArgs{Mode: "NX", TTL: ttl}).Err()
	if errors.Is(err, redis.Nil) {
		return nil, false, nil // held
	}
	if err != nil {
		return nil, false, fmt.Errorf("taking lock %q: %w", name, err)
	}
	return func() { _ = unlockScript.Run(context.WithoutCancel(ctx), r.rdb, []string{key}, token).Err() }, true, nil
}
