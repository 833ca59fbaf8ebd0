package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisLimits is the Limits of a cluster of switches: leases and windows
// in Redis, shared by every node, each operation one Lua script (atomic on
// the server, a single key each, so Redis Cluster takes them too).
//
// Layout, under the prefix the caller gives:
//
//	<prefix>l:<key>  sorted set: lease name → its expiry
//	<prefix>h:<key>  sorted set: one member per event → its time
//
// Times are the Redis server's clock (TIME), in microseconds, so nodes
// whose clocks disagree still agree on expiries; scripts format them with
// %d (a plain number would go to Redis as %.14g, 100 µs coarse). Every script drops what
// has expired before it counts, and sets the key to expire with its last
// member, so keys nobody uses vanish.
type RedisLimits struct {
	rdb    redis.UniversalClient
	prefix string
	// Event members must be unique: this process's random id and a
	// counter.
	id     string
	seq    atomic.Uint64
	closed atomic.Bool
}

var _ Limits = (*RedisLimits)(nil)

// NewRedisLimits returns the Limits kept in rdb under prefix (e.g.
// "trunkline:").
func NewRedisLimits(rdb redis.UniversalClient, prefix string) *RedisLimits {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return &RedisLimits{rdb: rdb, prefix: prefix, id: hex.EncodeToString(b)}
}

// nowLua sets now to the server's time in microseconds (exact in a Lua
// number: about 2^51 today).
const nowLua = `local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local function int(x) return string.format('%d', x) end
`

// expireLua makes KEYS[1] expire with its latest score, or deletes it
// when it is empty.
const expireLua = `local function expireWithLast()
  local top = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  if #top == 0 then return end
  redis.call('PEXPIREAT', KEYS[1], math.floor(tonumber(top[2]) / 1000) + 1)
end
`

var (
	// KEYS[1] leases; ARGV lease, limit, ttl (µs). 1 when held now.
	acquireScript = redis.NewScript(nowLua + expireLua + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], int(now + tonumber(ARGV[3])), ARGV[1])
expireWithLast()
return 1`)

	// KEYS[1] leases; ARGV lease, ttl (µs). 1 when the lease was live.
	refreshScript = redis.NewScript(nowLua + expireLua + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now))
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], int(now + tonumber(ARGV[2])), ARGV[1])
expireWithLast()
return 1`)

	// KEYS[1] leases. The number of live leases.
	leasesScript = redis.NewScript(nowLua + `
return redis.call('ZCOUNT', KEYS[1], '(' .. int(now), '+inf')`)

	// KEYS[1] events; ARGV limit, window (µs), member. 1 when recorded.
	hitScript = redis.NewScript(nowLua + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', int(now - tonumber(ARGV[2])))
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], int(now), ARGV[3])
redis.call('PEXPIREAT', KEYS[1], math.floor((now + tonumber(ARGV[2])) / 1000) + 1)
return 1`)
)

// check refuses a call on a closed store, with a done context or with
// an empty name.
func (l *RedisLimits) check(ctx context.Context, names ...string) error {
	return checkCall(ctx, l.closed.Load(), names...)
}

func (l *RedisLimits) close() { l.closed.Store(true) }

func micros(d time.Duration) string { return strconv.FormatInt(d.Microseconds(), 10) }

// Acquire takes the lease named lease on key if fewer than limit leases
// are live on it (a lease already held is refreshed whatever the count).
func (l *RedisLimits) Acquire(ctx context.Context, key, lease string, limit int, ttl time.Duration) (bool, error) {
	if err := l.check(ctx, key, lease); err != nil {
		return false, err
	}
	if limit < 0 || ttl <= 0 {
		return false, ErrBadAmount
	}
	return l.run(ctx, acquireScript, "l:"+key, "acquiring a lease on "+key, lease, limit, micros(max(ttl, time.Microsecond)))
}

// Refresh extends a live lease to ttl from now.
func (l *RedisLimits) Refresh(ctx context.Context, key, lease string, ttl time.Duration) (bool, error) {
	if err := l.check(ctx, key, lease); err != nil {
		return false, err
	}
	if ttl <= 0 {
		return false, ErrBadAmount
	}
	return l.run(ctx, refreshScript, "l:"+key, "refreshing a lease on "+key, lease, micros(max(ttl, time.Microsecond)))
}

// Release drops the lease if it is live.
func (l *RedisLimits) Release(ctx context.Context, key, lease string) error {
	if err := l.check(ctx, key, lease); err != nil {
		return err
	}
	if err := l.rdb.ZRem(ctx, l.prefix+"l:"+key, lease).Err(); err != nil {
		return fmt.Errorf("releasing a lease on %q: %w", key, err)
	}
	return nil
}

// Leases returns how many leases are live on key.
func (l *RedisLimits) Leases(ctx context.Context, key string) (int, error) {
	if err := l.check(ctx, key); err != nil {
		return 0, err
	}
	n, err := leasesScript.Run(ctx, l.rdb, []string{l.prefix + "l:" + key}).Int()
	if err != nil {
		return 0, fmt.Errorf("counting the leases on %q: %w", key, err)
	}
	return n, nil
}

// Hit records one event on key if fewer than limit happened in the window
// that ends now.
func (l *RedisLimits) Hit(ctx context.Context, key string, limit int, window time.Duration) (bool, error) {
	if err := l.check(ctx, key); err != nil {
		return false, err
	}
	if limit < 0 || window <= 0 {
		return false, ErrBadAmount
	}
	member := l.id + "-" + strconv.FormatUint(l.seq.Add(1), 10)
	return l.run(ctx, hitScript, "h:"+key, "counting an event on "+key, limit, micros(max(window, time.Microsecond)), member)
}

// ReleaseLeasesOf drops every lease named "<node>/…" on every key, and
// returns how many: what a node does when it starts, since the calls that
// held them died with its previous run (a reset on start, but per lease:
// the other nodes' calls keep theirs). It scans every lease key (every
// primary of a Redis Cluster), so it is for starts, not for the call path.
// Nodes of a cluster must have names of their own.
func (l *RedisLimits) ReleaseLeasesOf(ctx context.Context, node string) (int, error) {
	if err := l.check(ctx, node); err != nil {
		return 0, err
	}
	released := 0
	scan := func(ctx context.Context, c redis.UniversalClient) error {
		keys := c.Scan(ctx, 0, globEscape(l.prefix)+"l:*", 1000).Iterator()
		for keys.Next(ctx) {
			var names []any
			members := c.ZScan(ctx, keys.Val(), 0, globEscape(node)+"/*", 1000).Iterator()
			for i := 0; members.Next(ctx); i++ {
				if i%2 == 0 { // member, score, member, score…
					names = append(names, members.Val())
				}
			}
			if err := members.Err(); err != nil {
				return err
			}
			if len(names) > 0 {
				n, err := c.ZRem(ctx, keys.Val(), names...).Result()
				if err != nil {
					return err
				}
				released += int(n)
			}
		}
		return keys.Err()
	}
	var err error
	if cc, ok := l.rdb.(*redis.ClusterClient); ok {
		var mu sync.Mutex // ForEachMaster runs on the primaries at once
		err = cc.ForEachMaster(ctx, func(ctx context.Context, c *redis.Client) error {
			mu.Lock()
			defer mu.Unlock()
			return scan(ctx, c)
		})
	} else {
		err = scan(ctx, l.rdb)
	}
	if err != nil {
		return released, fmt.Errorf("releasing the leases of node %q: %w", node, err)
	}
	return released, nil
}

// globEscape quotes the characters SCAN's MATCH patterns give a meaning.
func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune(`*?[]\^-`, r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// run runs a script that answers 1 or 0 on the key prefix+key.
func (l *RedisLimits) run(ctx context.Context, s *redis.Script, key, what string, args ...any) (bool, error) {
	n, err := s.Run(ctx, l.rdb, []string{l.prefix + key}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("%s: %w", what, err)
	}
	return n == 1, nil
}
