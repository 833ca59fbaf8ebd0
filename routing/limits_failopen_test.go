package routing

import (
	"context"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// With its store gone (closed here; Redis down in a cluster), the limiter
// refuses calls 503 "Limits Unavailable" by default, and admits them with
// WithFailOpen, telling of every failed check.
func TestLimiterStoreDown(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	down := st.Limits()
	st.Close()
	ctx := context.Background()
	c := store.Customer{ID: "c", ChannelLimit: 2, CPSLimit: 5}
	closed := NewLimiter(down, "n1", customers(c))
	_, err = closed.Admit(ctx, "c", Entry{}, "call1")
	if _, reason := Status(err); rejectCode(err) != 503 || reason != "Limits Unavailable" {
		t.Fatalf("store down, failing closed: %v, want 503 Limits Unavailable", err)
	}
	var failed []string
	open := NewLimiter(down, "n1", customers(c), WithFailOpen(func(op string, err error) { failed = append(failed, op) }))
	ls, err := open.Admit(ctx, "c", Entry{ID: "e1", Channels: 1, CPS: 1}, "call1")
	if err != nil {
		t.Fatalf("store down, failing open: %v", err)
	}
	if why := open.Attempt(ctx, ls, Attempt{CarrierID: "k", Addr: "127.0.0.1:5060", CarrierChannels: 1, CarrierCPS: 1, EndpointChannels: 1}); why != "" {
		t.Fatalf("an attempt with the store down, failing open: %q", why)
	}
	open.Refresh(ctx, ls)
	open.Release(ctx, ls)
	if len(failed) < 4 {
		t.Fatalf("failures told: %v", failed)
	}
}

// slowHit is a store whose call-rate checks never answer before their
// context ends (a busy Redis).
type slowHit struct{ store.Limits }

func (slowHit) Hit(ctx context.Context, _ string, _ int, _ time.Duration) (bool, error) {
	<-ctx.Done()
	return false, ctx.Err()
}

// A set-up step that times out still gives back what the steps before it
// took: the entry's channel is free again, not held for the lease TTL.
func TestLimiterTimeoutReleases(t *testing.T) {
	lim := testLimits(t)
	l := NewLimiter(slowHit{lim}, "n1", customers(store.Customer{ID: "c", CPSLimit: 5}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	_, err := l.Admit(ctx, "c", Entry{ID: "e1", Channels: 1}, "call1")
	cancel()
	if err == nil {
		t.Fatal("a timed-out call-rate check admitted the call")
	}
	if n, err := lim.Leases(context.Background(), "channels/entry/e1"); n != 0 || err != nil {
		t.Fatalf("the refused call still holds %d lease(s) (%v)", n, err)
	}
}
