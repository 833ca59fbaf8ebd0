package store_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

func openLimits(t testing.TB) (*store.Embedded, *store.EmbeddedLimits) {
	e, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	return e, e.Limits()
}

func TestEmbeddedLimits(t *testing.T) {
	storetest.RunLimits(t, func(t *testing.T) store.Limits {
		_, l := openLimits(t)
		return l
	})
}

// TestEmbeddedLimitsAfterClose checks that every method of a closed
// store's Limits fails with ErrClosed, before its arguments are looked at.
func TestEmbeddedLimitsAfterClose(t *testing.T) {
	e, l := openLimits(t)
	ctx := t.Context()
	if ok, err := l.Acquire(ctx, "k", "a", 1, time.Hour); !ok || err != nil {
		t.Fatalf("Acquire = %v, %v", ok, err)
	}
	if e.Limits() != l {
		t.Error("Limits returned another instance")
	}
	if err := e.Close(); err != nil {
		t.Fatal(err)
	}
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	errs := map[string]error{}
	_, errs["Acquire"] = l.Acquire(ctx, "k", "b", 5, time.Hour)
	_, errs["Acquire of the held lease"] = l.Acquire(ctx, "k", "a", 5, time.Hour)
	_, errs["Acquire with bad arguments"] = l.Acquire(ctx, "", "", -1, 0)
	_, errs["Refresh"] = l.Refresh(ctx, "k", "a", time.Hour)
	errs["Release"] = l.Release(ctx, "k", "a")
	_, errs["Leases"] = l.Leases(ctx, "k")
	_, errs["Hit"] = l.Hit(ctx, "k", 5, time.Second)
	_, errs["Hit with limit 0"] = l.Hit(ctx, "k", 0, time.Second)
	_, errs["Hit with a done context"] = l.Hit(canceled, "k", 5, time.Second)
	for call, err := range errs {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s on a closed store: err = %v, want ErrClosed", call, err)
		}
	}
}
