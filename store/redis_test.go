package store_test

import (
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

func TestRedisLimits(t *testing.T) {
	rdb := storetest.Redis(t)
	storetest.RunLimits(t, func(t *testing.T) store.Limits {
		return store.NewRedisLimits(rdb, storetest.RedisPrefix(t, rdb))
	})
}

func TestRedisCredit(t *testing.T) {
	rdb := storetest.Redis(t)
	var mu sync.Mutex
	prefixes := map[store.Credit]string{}
	open := func(prefix string) store.Credit {
		c := store.NewRedisCredit(rdb, prefix)
		mu.Lock()
		prefixes[c] = prefix
		mu.Unlock()
		return c
	}
	storetest.RunCredit(t, func(t *testing.T) store.Credit {
		return open(storetest.RedisPrefix(t, rdb))
	}, storetest.CreditRestart{
		Reopen: func(t *testing.T, c store.Credit) store.Credit {
			c.(*store.RedisCredit).Close()
			mu.Lock()
			prefix := prefixes[c]
			mu.Unlock()
			return open(prefix)
		},
		HoldsSurvive: true,
	})
}

func TestRedisStore(t *testing.T) {
	rdb := storetest.Redis(t)
	var mu sync.Mutex
	prefixes := map[string]string{} // test name → its prefix, for a reopen
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		p, ok := prefixes[t.Name()]
		if !ok {
			p = storetest.RedisPrefix(t, rdb)
			prefixes[t.Name()] = p
		}
		mu.Unlock()
		r := store.NewRedis(rdb, p)
		t.Cleanup(func() { r.Close() })
		return r
	})
}

// OpenRedis refuses what it cannot reach, and a bad URL, with a clear error
// that does not show the password.
func TestOpenRedisErrors(t *testing.T) {
	ctx := t.Context()
	if _, err := store.OpenRedis(ctx, "http://127.0.0.1:6379", ""); err == nil {
		t.Error("OpenRedis of an http URL succeeded")
	}
	_, err := store.OpenRedis(ctx, "redis://user:s3cret@127.0.0.1:1/0", "")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("OpenRedis of a closed port: %v", err)
	}
	addr := storetest.RedisAddr(t)
	r, err := store.OpenRedis(ctx, "redis://"+addr+"/0", storetest.RedisPrefix(t, storetest.Redis(t)))
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Put(ctx, "c", "a", []byte(`1`)); err != nil {
		t.Fatal(err)
	}
	r.Close()
	if _, err := r.Get(ctx, "c", "a"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Get after Close: %v, want ErrClosed", err)
	}
	if _, err := r.Limits().Leases(ctx, "k"); !errors.Is(err, store.ErrClosed) {
		t.Errorf("Leases after Close: %v, want ErrClosed", err)
	}
}

// A node that starts drops the leases its previous run held, on every key,
// and no other node's.
func TestRedisReleaseLeasesOf(t *testing.T) {
	rdb := storetest.Redis(t)
	ctx := t.Context()
	l := store.NewRedisLimits(rdb, storetest.RedisPrefix(t, rdb))
	for _, lease := range [][2]string{
		{"cust/1", "n[1]*/a"}, {"cust/1", "n[1]*/b"}, {"ip/127.0.0.2", "n[1]*/a"},
		{"cust/1", "n1/c"}, {"cust/1", "n2/d"}, {"carrier/9", "n[1]*x/e"},
	} {
		if ok, err := l.Acquire(ctx, lease[0], lease[1], 10, time.Hour); !ok || err != nil {
			t.Fatalf("Acquire(%s, %s) = %v, %v", lease[0], lease[1], ok, err)
		}
	}
	n, err := l.ReleaseLeasesOf(ctx, "n[1]*")
	if err != nil || n != 3 {
		t.Fatalf("ReleaseLeasesOf = %d, %v; want 3", n, err)
	}
	for key, want := range map[string]int{"cust/1": 2, "ip/127.0.0.2": 0, "carrier/9": 1} {
		if got, err := l.Leases(ctx, key); got != want || err != nil {
			t.Errorf("Leases(%s) = %d, %v; want %d", key, got, err, want)
		}
	}
	if _, err := l.ReleaseLeasesOf(ctx, ""); !errors.Is(err, store.ErrEmptyKey) {
		t.Errorf("ReleaseLeasesOf(\"\"): %v, want ErrEmptyKey", err)
	}
}

// A lock is one holder's until it is released or its ttl ends, and a
// release never frees a lock taken since by someone else.
func TestRedisTryLock(t *testing.T) {
	rdb := storetest.Redis(t)
	ctx := t.Context()
	r := store.NewRedis(rdb, storetest.RedisPrefix(t, rdb))
	release, ok, err := r.TryLock(ctx, "export/x/2026-W11", time.Minute)
	if !ok || err != nil {
		t.Fatalf("first TryLock = %v, %v", ok, err)
	}
	if _, ok, err := r.TryLock(ctx, "export/x/2026-W11", time.Minute); ok || err != nil {
		t.Fatalf("TryLock of a held name = %v, %v; want false", ok, err)
	}
	release()
	_, ok, err = r.TryLock(ctx, "export/x/2026-W11", 100*time.Millisecond)
	if !ok || err != nil {
		t.Fatalf("TryLock after release = %v, %v", ok, err)
	}
	time.Sleep(150 * time.Millisecond) // expired: the next holder takes it
	if _, ok, err := r.TryLock(ctx, "export/x/2026-W11", time.Minute); !ok || err != nil {
		t.Fatalf("TryLock after the ttl = %v, %v", ok, err)
	}
	release() // the first holder's release again: not the current holder's lock
	if _, ok, _ := r.TryLock(ctx, "export/x/2026-W11", time.Minute); ok {
		t.Error("a stale release freed the current holder's lock")
	}
	if _, _, err := r.TryLock(ctx, "n", 0); !errors.Is(err, store.ErrBadAmount) {
		t.Errorf("TryLock with ttl 0: %v, want ErrBadAmount", err)
	}
}
