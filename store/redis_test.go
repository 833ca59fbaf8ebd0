package store_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// testRedis returns a client of the test Redis from TRUNKLINE_TEST_REDIS.
// Without it the test is skipped, except in CI, where a missing service is
// a failure.
func testRedis(t *testing.T) redis.UniversalClient {
	t.Helper()
	addr := testRedisAddr(t)
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test Redis at %s: %v", addr, err)
	}
	return rdb
}

// testRedisAddr is the test Redis's address, from TRUNKLINE_TEST_REDIS.
func testRedisAddr(t *testing.T) string {
	t.Helper()
	addr := os.Getenv("TRUNKLINE_TEST_REDIS")
	if addr == "" {
		msg := `TRUNKLINE_TEST_REDIS is not set; start Redis with: eval "$(scripts/services.sh up)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return addr
}

var redisTestSeq atomic.Uint64

// redisPrefix is a key prefix of the test's own; its keys are deleted
// when the test ends.
func redisPrefix(t *testing.T, rdb redis.UniversalClient) string {
	p := fmt.Sprintf("trunkline-test:%d:%d:", time.Now().UnixNano(), redisTestSeq.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return p
}

func TestRedisLimits(t *testing.T) {
	rdb := testRedis(t)
	storetest.RunLimits(t, func(t *testing.T) store.Limits {
		return store.NewRedisLimits(rdb, redisPrefix(t, rdb))
	})
}

func TestRedisCredit(t *testing.T) {
	rdb := testRedis(t)
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
		return open(redisPrefix(t, rdb))
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
	rdb := testRedis(t)
	var mu sync.Mutex
	prefixes := map[string]string{} // test name → its prefix, for a reopen
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		p, ok := prefixes[t.Name()]
		if !ok {
			p = redisPrefix(t, rdb)
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
	addr := testRedisAddr(t)
	r, err := store.OpenRedis(ctx, "redis://"+addr+"/0", redisPrefix(t, testRedis(t)))
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
	rdb := testRedis(t)
	ctx := t.Context()
	l := store.NewRedisLimits(rdb, redisPrefix(t, rdb))
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
	rdb := testRedis(t)
	ctx := t.Context()
	r := store.NewRedis(rdb, redisPrefix(t, rdb))
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
