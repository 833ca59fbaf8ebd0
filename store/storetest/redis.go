package storetest

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisAddr is the test Redis's address, from TRUNKLINE_TEST_REDIS
// (scripts/services.sh sets it). Without it the test is skipped, except in
// CI, where a missing service is a failure.
func RedisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TRUNKLINE_TEST_REDIS")
	if addr == "" {
		msg := `TRUNKLINE_TEST_REDIS is not set; start Redis with: eval "$(scripts/services.sh up)"`
		Missing(t, msg)
	}
	return addr
}

// Redis returns a client of the test Redis, checked and closed when the
// test ends.
func Redis(t testing.TB) redis.UniversalClient {
	t.Helper()
	addr := RedisAddr(t)
	rdb := redis.NewUniversalClient(&redis.UniversalOptions{Addrs: []string{addr}, DialTimeout: 2 * time.Second})
	t.Cleanup(func() { rdb.Close() })
	if err := rdb.Ping(context.Background()).Err(); err != nil {
		t.Fatalf("test Redis at %s: %v", addr, err)
	}
	return rdb
}

var redisSeq atomic.Uint64

// RedisPrefix returns a key prefix of the test's own in rdb; its keys are
// deleted when the test ends.
func RedisPrefix(t testing.TB, rdb redis.UniversalClient) string {
	p := fmt.Sprintf("trunkline-test:%d:%d:%d:", os.Getpid(), time.Now().UnixNano(), redisSeq.Add(1))
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, p+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return p
}
