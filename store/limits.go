package store

import (
	"context"
	"time"
)

// Limits is the runtime state of channel and call-rate limits shared by
// the switch's nodes: counters of leases (one per live call on a customer,
// an IP entry, a carrier, an endpoint…) and sliding windows of events
// (calls set up per second). Every method is one atomic operation, so that
// backends can implement it as a transaction or a script; all are safe for
// concurrent use. A key never used has no leases and no events.
//
// Leases heal themselves: each expires ttl after it was taken or last
// refreshed, so the channels of a node that dies free themselves. A lease
// name is unique per call (the switch uses "<node>/<call id>"); taking a
// lease that is already held refreshes it and succeeds, whatever the
// count. Errors other than ErrBadAmount (a limit < 0, a ttl or window ≤ 0)
// and ErrEmptyKey mean the backend failed and nothing was taken.
type Limits interface {
	// Acquire takes the lease named lease on key if fewer than limit
	// leases are live on it, and reports whether it did. limit 0 refuses
	// every new lease.
	Acquire(ctx context.Context, key, lease string, limit int, ttl time.Duration) (bool, error)

	// Refresh extends a live lease's expiry to ttl from now; it reports
	// false when the lease is not live (expired or released).
	Refresh(ctx context.Context, key, lease string, ttl time.Duration) (bool, error)

	// Release drops the lease if it is live.
	Release(ctx context.Context, key, lease string) error

	// Leases returns how many leases are live on key.
	Leases(ctx context.Context, key string) (int, error)

	// Hit records one event on key if fewer than limit events happened in
	// the window that ends now, and reports whether it did (an event that
	// is refused is not recorded).
	Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, error)
}
