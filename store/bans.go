package store

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// BanBoard shares the source bans of nodes that share a store: a ban one
// node issues holds on every node once they have read the board, and a ban
// lifted on one is lifted on all. Only the Redis store is one: a single
// node keeps its bans in memory. Methods are safe for concurrent use.
type BanBoard interface {
	// PutBan publishes b; a longer ban of the same address stays.
	PutBan(ctx context.Context, b BanEntry) error
	// LiftBan removes the ban of ip, if any.
	LiftBan(ctx context.Context, ip netip.Addr) error
	// BansVersion changes whenever a ban is put or lifted.
	BansVersion(ctx context.Context) (int64, error)
	// Bans returns the bans in force at now, at most limit of them (those
	// that last longest).
	Bans(ctx context.Context, now time.Time, limit int) ([]BanEntry, error)
	// Lifts returns the lifts after the mark after (0 for all kept), with
	// the mark of the last one, or after itself when there are none. A
	// node that issued a ban lifts it when it sees a lift of its address
	// made after the ban began.
	Lifts(ctx context.Context, after int64) ([]BanLift, int64, error)
}

// BanLift is one lift of a ban: the address and when (the store's clock).
type BanLift struct {
	IP netip.Addr
	At time.Time
}

// BanEntry is one published ban.
type BanEntry struct {
	IP    netip.Addr
	Since time.Time
	Until time.Time
	Count int // bans of IP within the memory period, this one included
}

var _ BanBoard = (*Redis)(nil)

// Keys: <prefix>{bans} is a sorted set of addresses scored by the end of
// their ban (Unix ms), …:i a hash address → "since count", …:v the
// version, …:l a sorted set of lifted addresses scored by a lift sequence
// (…:s), …:t a hash address → when it was last lifted (the server's Unix
// ms).
func (r *Redis) banKeys() []string {
	p := r.prefix + "{bans}" // one hash slot: a Redis Cluster runs the scripts
	return []string{p, p + ":i", p + ":v", p + ":l", p + ":s", p + ":t"}
}

// nowMsLua sets ms to the Redis server's time in Unix ms: one clock for
// every node.
const nowMsLua = `local t = redis.call('TIME')
local ms = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// putBanScript publishes a ban (ARGV: address, until, "since count",
// since, the most bans kept, the clocks' slack in ms) unless a longer one
// is there or the address was lifted after the ban began, give or take the
// slack between the node's clock and the server's (a ban published late
// must not undo an operator's lift); it drops ended bans and keeps at most ARGV[5]: those
// that end soonest go. The version moves only when the board changed.
var putBanScript = redis.NewScript(nowMsLua + `
local lifted = redis.call('HGET', KEYS[6], ARGV[1])
if lifted and tonumber(lifted) + tonumber(ARGV[6]) > tonumber(ARGV[4]) then
  return 0
end
local old = redis.call('ZSCORE', KEYS[1], ARGV[1])
if old and tonumber(old) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ms)
local n = redis.call('ZCARD', KEYS[1]) - #gone - tonumber(ARGV[5])
if n > 0 then
  local more = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. ms, '+inf', 'LIMIT', 0, n)
  for _, m in ipairs(more) do gone[#gone + 1] = m end
end
for _, m in ipairs(gone) do
  redis.call('ZREM', KEYS[1], m)
  redis.call('HDEL', KEYS[2], m)
end
return redis.call('INCR', KEYS[3])`)

// liftBanScript removes a ban and records the lift, by sequence and time;
// the last ARGV[2] lifts are kept.
var liftBanScript = redis.NewScript(nowMsLua + `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[4], redis.call('INCR', KEYS[5]), ARGV[1])
redis.call('HSET', KEYS[6], ARGV[1], ms)
local old = redis.call('ZRANGE', KEYS[4], 0, -(tonumber(ARGV[2]) + 1))
for _, m in ipairs(old) do
  redis.call('ZREM', KEYS[4], m)
  redis.call('HDEL', KEYS[6], m)
end
return redis.call('INCR', KEYS[3])`)

// BanClockSlack is how far apart a node's clock and the store's may be
// when a lift is weighed against a ban: a ban that began less than this
// after a lift of its address is taken as lifted.
const BanClockSlack = 5 * time.Second

// maxBoardBans bounds the bans kept on the board (each node reads them all
// when the board changes), and the lifts kept.
const maxBoardBans = 20_000

// PutBan publishes b.
func (r *Redis) PutBan(ctx context.Context, b BanEntry) error {
	if err := r.check(ctx, "bans", "-"); err != nil {
		return err
	}
	if !b.IP.IsValid() {
		return fmt.Errorf("publishing a ban: %w", ErrEmptyKey)
	}
	info := strconv.FormatInt(b.Since.UnixMilli(), 10) + " " + strconv.Itoa(b.Count)
	err := putBanScript.Run(ctx, r.rdb, r.banKeys(), b.IP.Unmap().String(), b.Until.UnixMilli(), info,
		b.Since.UnixMilli(), maxBoardBans, BanClockSlack.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("publishing the ban of %s: %w", b.IP, err)
	}
	return nil
}

// LiftBan removes the ban of ip.
func (r *Redis) LiftBan(ctx context.Context, ip netip.Addr) error {
	if err := r.check(ctx, "bans", "-"); err != nil {
		return err
	}
	if err := liftBanScript.Run(ctx, r.rdb, r.banKeys(), ip.Unmap().String(), maxBoardBans).Err(); err != nil {
		return fmt.Errorf("lifting the ban of %s: %w", ip, err)
	}
	return nil
}

// BansVersion returns the board's version.
func (r *Redis) BansVersion(ctx context.Context) (int64, error) {
	if err := r.check(ctx, "bans", "-"); err != nil {
		return 0, err
	}
	v, err := r.rdb.Get(ctx, r.banKeys()[2]).Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the bans version: %w", err)
	}
	return v, nil
}

// Bans returns the bans in force at now.
func (r *Redis) Bans(ctx context.Context, now time.Time, limit int) ([]BanEntry, error) {
	if err := r.check(ctx, "bans", "-"); err != nil {
		return nil, err
	}
	keys := r.banKeys()
	zs, err := r.rdb.ZRevRangeByScoreWithScores(ctx, keys[0], &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(now.UnixMilli(), 10), Max: "+inf", Count: int64(limit),
	}).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the bans: %w", err)
	}
	if len(zs) == 0 {
		return nil, nil
	}
	ips := make([]string, len(zs))
	for i, z := range zs {
		ips[i], _ = z.Member.(string)
	}
	infos, err := r.rdb.HMGet(ctx, keys[1], ips...).Result()
	if err != nil {
		return nil, fmt.Errorf("reading the bans: %w", err)
	}
	out := make([]BanEntry, 0, len(zs))
	for i, z := range zs {
		ip, err := netip.ParseAddr(ips[i])
		if err != nil {
			continue // not written by PutBan
		}
		b := BanEntry{IP: ip, Until: time.UnixMilli(int64(z.Score))}
		if s, ok := infos[i].(string); ok {
			since, count, _ := strings.Cut(s, " ")
			ms, _ := strconv.ParseInt(since, 10, 64)
			b.Since = time.UnixMilli(ms)
			b.Count, _ = strconv.Atoi(count)
		}
		out = append(out, b)
	}
	return out, nil
}

// Lifts returns the lifts after the mark after.
func (r *Redis) Lifts(ctx context.Context, after int64) ([]BanLift, int64, error) {
	if err := r.check(ctx, "bans", "-"); err != nil {
		return nil, after, err
	}
	keys := r.banKeys()
	zs, err := r.rdb.ZRangeByScoreWithScores(ctx, keys[3], &redis.ZRangeBy{
		Min: "(" + strconv.FormatInt(after, 10), Max: "+inf",
	}).Result()
	if err != nil || len(zs) == 0 {
		if err != nil {
			err = fmt.Errorf("reading the lifted bans: %w", err)
		}
		return nil, after, err
	}
	ips := make([]string, len(zs))
	for i, z := range zs {
		ips[i], _ = z.Member.(string)
		after = max(after, int64(z.Score))
	}
	ats, err := r.rdb.HMGet(ctx, keys[5], ips...).Result()
	if err != nil {
		return nil, after, fmt.Errorf("reading the lifted bans: %w", err)
	}
	var lifts []BanLift
	for i, m := range ips {
		ip, err := netip.ParseAddr(m)
		if err != nil {
			continue
		}
		at, _ := ats[i].(string)
		ms, _ := strconv.ParseInt(at, 10, 64)
		lifts = append(lifts, BanLift{IP: ip, At: time.UnixMilli(ms)})
	}
	return lifts, after, nil
}
