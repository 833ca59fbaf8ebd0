package store_test

import (
	"context"
	"fmt"
	"os"
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
	addr := os.Getenv("TRUNKLINE_TEST_REDIS")
	if addr == "" {
		msg := `TRUNKLINE_TEST_REDIS is not set; start Redis with: eval "$(scripts/services.sh up)"`
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test Redis at %s: %v", addr, err)
	}
	return rdb
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
