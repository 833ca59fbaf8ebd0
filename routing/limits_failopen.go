package routing

import (
	"context"
	"time"

	"github.com/trunkline/trunkline/store"
)

// WithFailOpen makes the limits admit calls when their store fails (Redis
// down or slow): a channel or a call-rate check that cannot be made counts
// as passed, and onErr hears of each failure (for metrics and logs). By
// default a store failure refuses the call (503 "Limits Unavailable"):
// limits then hold, and calls stop while the store is away. Credit never
// fails open: a prepaid call is refused when its balance cannot be read.
func WithFailOpen(onErr func(op string, err error)) LimiterOption {
	return func(l *Limiter) { l.st = failOpen{st: l.st, onErr: onErr} }
}

// failOpen is a store.Limits whose failures pass: an Acquire or a Hit that
// fails is taken as granted (no lease is held: a Release of it fails,
// harmlessly), and a Refresh as done.
type failOpen struct {
	st    store.Limits
	onErr func(op string, err error)
}

func (f failOpen) pass(op string, err error) (bool, error) {
	if f.onErr != nil {
		f.onErr(op, err)
	}
	return true, nil
}

func (f failOpen) Acquire(ctx context.Context, key, lease string, limit int, ttl time.Duration) (bool, error) {
	ok, err := f.st.Acquire(ctx, key, lease, limit, ttl)
	if err != nil {
		return f.pass("acquire", err)
	}
	return ok, nil
}

func (f failOpen) Refresh(ctx context.Context, key, lease string, ttl time.Duration) (bool, error) {
	ok, err := f.st.Refresh(ctx, key, lease, ttl)
	if err != nil {
		return f.pass("refresh", err)
	}
	return ok, nil
}

func (f failOpen) Release(ctx context.Context, key, lease string) error {
	return f.st.Release(ctx, key, lease)
}

func (f failOpen) Leases(ctx context.Context, key string) (int, error) { return f.st.Leases(ctx, key) }

func (f failOpen) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	ok, err := f.st.Hit(ctx, key, limit, window)
	if err != nil {
		return f.pass("hit", err)
	}
	return ok, nil
}
