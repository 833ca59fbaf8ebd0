package store

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// RedisCredit is the Credit of a cluster of switches: ledgers, balances
// and holds in Redis, shared by every node. Each operation is one Lua
// script on the keys of one account, which share a hash tag (the account
// name in hex), so Redis Cluster takes them too:
//
//	<prefix>c:{<hex>}    hash: bal (balance), seq (last entry), res (sum of the holds)
//	<prefix>c:{<hex>}:h  hash: hold → amount
//	<prefix>c:{<hex>}:x  sorted set: hold → expiry (µs, the server's clock)
//	<prefix>c:{<hex>}:p  hash: entry key → total posted
//	<prefix>c:{<hex>}:e  list: entries, JSON, entry n at index n−1
//
// Money is never a Lua number: Lua has only doubles, exact to 2^53, and
// amounts go to 10^18. The scripts move amounts as strings and let Redis
// add them (HINCRBY, exact 64-bit integers, on a scratch field); they
// compare only signs and magnitudes of decimal strings.
//
// An operation that fails with a connection error may have been applied
// (its reply lost): the client never resends (a resent Reserve would hold
// twice), a hold taken so expires with its ttl, and a Post is safe to
// repeat. Making Reserve idempotent by request id is still to do.
//
// Holds live in Redis, so they outlive the restart of one node; a node
// that dies leaves them to expire with their ttl. A Post is as durable as
// the Redis server's persistence makes it (appendonly with appendfsync
// everysec loses at most a second of writes on a crash of Redis itself).
type RedisCredit struct {
	rdb    redis.UniversalClient
	prefix string
	closed atomic.Bool
}

var _ Credit = (*RedisCredit)(nil)

// NewRedisCredit returns the Credit kept in rdb under prefix.
func NewRedisCredit(rdb redis.UniversalClient, prefix string) *RedisCredit {
	return &RedisCredit{rdb: rdb, prefix: prefix}
}

// Close makes every later call fail with ErrClosed; rdb stays open (its
// owner closes it).
func (c *RedisCredit) Close() { c.closed.Store(true) }

func (c *RedisCredit) keys(acct string) []string {
	k := c.prefix + "c:{" + hex.EncodeToString([]byte(acct)) + "}"
	return []string{k, k + ":h", k + ":x", k + ":p", k + ":e"}
}

// creditLua is what every credit script shares: nowLua (the server's
// time, now, in µs, and int), exact sums of decimal strings, sign and
// magnitude tests, and expiring the holds whose time has passed. KEYS are
// those of keys().
const creditLua = nowLua + `local MAX = '1000000000000000000'
local function neg(s)
  if string.sub(s, 1, 1) == '-' then return string.sub(s, 2) end
  if s == '0' then return s end
  return '-' .. s
end
local function sum(...)
  redis.call('HSET', KEYS[1], 'tmp', '0')
  for _, v in ipairs({...}) do redis.call('HINCRBY', KEYS[1], 'tmp', v) end
  local r = redis.call('HGET', KEYS[1], 'tmp')
  redis.call('HDEL', KEYS[1], 'tmp')
  return r
end
local function negative(s) return string.sub(s, 1, 1) == '-' end
local function beyond(s)
  if negative(s) then s = string.sub(s, 2) end
  if #s ~= #MAX then return #s > #MAX end
  return s > MAX
end
local function field(f) return redis.call('HGET', KEYS[1], f) or '0' end
local function drop(hold)
  local amt = redis.call('HGET', KEYS[2], hold)
  if amt then
    redis.call('HINCRBY', KEYS[1], 'res', neg(amt))
    redis.call('HDEL', KEYS[2], hold)
  end
  redis.call('ZREM', KEYS[3], hold)
end
local function expire()
  for _, h in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', int(now))) do drop(h) end
end
`

var (
	// ARGV hold, amount, floor, ttl (µs). 1 when reserved.
	reserveCreditScript = redis.NewScript(creditLua + `
expire()
local bal, res, amount = field('bal'), field('res'), ARGV[2]
if amount ~= '0' then
  if beyond(sum(res, amount)) or negative(sum(bal, neg(res), neg(amount), neg(ARGV[3]))) then
    return 0
  end
  redis.call('HINCRBY', KEYS[2], ARGV[1], amount)
  redis.call('HINCRBY', KEYS[1], 'res', amount)
elseif redis.call('HEXISTS', KEYS[2], ARGV[1]) == 0 then
  redis.call('HSET', KEYS[2], ARGV[1], '0')
end
redis.call('ZADD', KEYS[3], int(now + tonumber(ARGV[4])), ARGV[1])
return 1`)

	// ARGV hold.
	releaseCreditScript = redis.NewScript(creditLua + `
drop(ARGV[1])
return 1`)

	// {balance, reserved, seq}.
	accountCreditScript = redis.NewScript(creditLua + `
expire()
return {field('bal'), field('res'), field('seq')}`)

	// ARGV hold ('' for none), kind, key, amount, and kind, key and reason
	// in hex (an entry keeps them so: cjson would pass bytes that are not
	// UTF-8 through raw, and Go's decoder would change them). The entry
	// appended (JSON), '' when none, or the error BADAMOUNT.
	postCreditScript = redis.NewScript(creditLua + `
expire()
local posted = redis.call('HGET', KEYS[4], ARGV[3])
local diff = sum(ARGV[4], neg(posted or '0'))
local bal = sum(field('bal'), diff)
if beyond(bal) then return redis.error_reply('BADAMOUNT the balance would pass the bounds') end
if ARGV[1] ~= '' then drop(ARGV[1]) end
if diff == '0' then
  if not posted then redis.call('HSET', KEYS[4], ARGV[3], '0') end
  return ''
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
redis.call('HSET', KEYS[1], 'bal', bal)
redis.call('HSET', KEYS[4], ARGV[3], ARGV[4])
local e = cjson.encode({seq = seq, at = int(tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)),
  kind = ARGV[5], key = ARGV[6], amount = diff, balance = bal, reason = ARGV[7]})
redis.call('RPUSH', KEYS[5], e)
return e`)
)

// check refuses a call on a closed backend, with a done context or without
// an account or name.
func (c *RedisCredit) check(ctx context.Context, acct, name string) error {
	return checkCall(ctx, c.closed.Load(), acct, name)
}

// Account returns acct's balance, the sum of its unexpired holds and the
// Seq of its last entry.
func (c *RedisCredit) Account(ctx context.Context, acct string) (Account, error) {
	if err := c.check(ctx, acct, "-"); err != nil {
		return Account{}, err
	}
	vs, err := accountCreditScript.Run(ctx, c.rdb, c.keys(acct)).StringSlice()
	if err != nil || len(vs) != 3 {
		return Account{}, fmt.Errorf("reading account %q: %w", acct, errOr(err, "a reply of %d values", len(vs)))
	}
	var a Account
	var seq int64
	if a.Balance, err = strconv.ParseInt(vs[0], 10, 64); err == nil {
		if a.Reserved, err = strconv.ParseInt(vs[1], 10, 64); err == nil {
			seq, err = strconv.ParseInt(vs[2], 10, 64)
		}
	}
	if err != nil {
		return Account{}, fmt.Errorf("reading account %q: %w: %v", acct, errCorrupt, err)
	}
	a.Entries = uint64(seq)
	return a, nil
}

// Reserve adds amount to the hold named hold on acct if, after it,
// balance − reserved ≥ floor.
func (c *RedisCredit) Reserve(ctx context.Context, acct, hold string, amount, floor int64, ttl time.Duration) (bool, error) {
	if err := c.check(ctx, acct, hold); err != nil {
		return false, err
	}
	if amount < 0 || amount > MaxAmount || !inRange(floor) || ttl <= 0 {
		return false, ErrBadAmount
	}
	n, err := reserveCreditScript.Run(ctx, c.rdb, c.keys(acct), hold, strconv.FormatInt(amount, 10),
		strconv.FormatInt(floor, 10), max(ttl.Microseconds(), 1)).Int()
	if err != nil {
		return false, fmt.Errorf("reserving on account %q: %w", acct, err)
	}
	return n == 1, nil
}

// Release drops the hold named hold, if it is open.
func (c *RedisCredit) Release(ctx context.Context, acct, hold string) error {
	if err := c.check(ctx, acct, hold); err != nil {
		return err
	}
	if err := releaseCreditScript.Run(ctx, c.rdb, c.keys(acct), hold).Err(); err != nil {
		return fmt.Errorf("releasing on account %q: %w", acct, err)
	}
	return nil
}

// Post makes the total posted under e.Key equal e.Amount and drops the
// hold named hold, in one script.
func (c *RedisCredit) Post(ctx context.Context, acct, hold string, e Entry) (Entry, error) {
	if err := c.check(ctx, acct, "-"); err != nil {
		return Entry{}, err
	}
	if e.Kind == "" || e.Key == "" || !inRange(e.Amount) {
		return Entry{}, ErrBadAmount
	}
	out, err := c.postResult(postCreditScript.Run(ctx, c.rdb, c.keys(acct), postArgs(hold, e)...))
	if err != nil {
		return Entry{}, fmt.Errorf("posting %q to account %q: %w", e.Key, acct, err)
	}
	return out, nil
}

func postArgs(hold string, e Entry) []any {
	return []any{hold, e.Kind, e.Key, strconv.FormatInt(e.Amount, 10),
		hex.EncodeToString([]byte(e.Kind)), hex.EncodeToString([]byte(e.Key)), hex.EncodeToString([]byte(e.Reason))}
}

// postResult decodes what the post script answered.
func (c *RedisCredit) postResult(cmd *redis.Cmd) (Entry, error) {
	s, err := cmd.Text()
	switch {
	case err != nil && strings.HasPrefix(err.Error(), "BADAMOUNT"):
		return Entry{}, fmt.Errorf("%w: %s", ErrBadAmount, strings.TrimPrefix(err.Error(), "BADAMOUNT "))
	case err != nil:
		return Entry{}, err
	case s == "":
		return Entry{}, nil
	}
	return decodeRedisEntry(s)
}

// PostAll sends every Post of ps in one round trip (a pipeline; each one
// atomic, as Post).
func (c *RedisCredit) PostAll(ctx context.Context, ps []Posting) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if resetPostings(ps) == 0 {
		return nil
	}
	cmds := make([]*redis.Cmd, len(ps))
	pipe := c.rdb.Pipeline()
	for i, p := range ps {
		if p.Err == nil {
			cmds[i] = postCreditScript.Eval(ctx, pipe, c.keys(p.Acct), postArgs(p.Hold, p.Entry)...) // EVAL: a pipeline cannot fall back from EVALSHA
		}
	}
	_, _ = pipe.Exec(ctx) // each command carries its own result
	for i, cmd := range cmds {
		if cmd == nil {
			continue
		}
		e, err := c.postResult(cmd)
		if errors.Is(err, ErrBadAmount) {
			ps[i].Err = err
			continue
		}
		if err != nil {
			return fmt.Errorf("posting %q to account %q: %w", ps[i].Entry.Key, ps[i].Acct, err)
		}
		ps[i].Posted = e
	}
	return nil
}

// Posted returns the total posted under key on acct and whether anything
// was ever posted under it.
func (c *RedisCredit) Posted(ctx context.Context, acct, key string) (int64, bool, error) {
	if err := c.check(ctx, acct, key); err != nil {
		return 0, false, err
	}
	s, err := c.rdb.HGet(ctx, c.keys(acct)[3], key).Result()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("reading what is posted under %q on account %q: %w", key, acct, err)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("reading what is posted under %q on account %q: %w", key, acct, errCorrupt)
	}
	return n, true, nil
}

// Entries returns acct's entries with Seq > after, at most limit of them.
func (c *RedisCredit) Entries(ctx context.Context, acct string, after uint64, limit int) ([]Entry, error) {
	if err := c.check(ctx, acct, "-"); err != nil {
		return nil, err
	}
	if after >= 1<<62 {
		return []Entry{}, nil // past any ledger (and past LRANGE's int64 indexes)
	}
	stop := int64(-1)
	if limit > 0 && int64(limit) <= math.MaxInt64-int64(after) {
		stop = int64(after) + int64(limit) - 1
	}
	vs, err := c.rdb.LRange(ctx, c.keys(acct)[4], int64(after), stop).Result()
	if err != nil {
		return nil, fmt.Errorf("reading entries of account %q: %w", acct, err)
	}
	out := make([]Entry, 0, len(vs))
	for _, v := range vs {
		e, err := decodeRedisEntry(v)
		if err != nil {
			return nil, fmt.Errorf("reading entries of account %q: %w", acct, err)
		}
		out = append(out, e)
	}
	return out, nil
}

// redisEntry is an entry as the post script writes it: amounts as
// decimal strings.
type redisEntry struct {
	Seq     uint64 `json:"seq"`
	At      string `json:"at"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Amount  string `json:"amount"`
	Balance string `json:"balance"`
	Reason  string `json:"reason"`
}

func decodeRedisEntry(s string) (Entry, error) {
	var r redisEntry
	if err := json.Unmarshal([]byte(s), &r); err != nil {
		return Entry{}, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	amount, err1 := strconv.ParseInt(r.Amount, 10, 64)
	bal, err2 := strconv.ParseInt(r.Balance, 10, 64)
	at, err3 := strconv.ParseInt(r.At, 10, 64)
	kind, err4 := hex.DecodeString(r.Kind)
	key, err5 := hex.DecodeString(r.Key)
	reason, err6 := hex.DecodeString(r.Reason)
	if err := errors.Join(err1, err2, err3, err4, err5, err6); err != nil {
		return Entry{}, fmt.Errorf("%w: entry %d: %v", errCorrupt, r.Seq, err)
	}
	return Entry{Seq: r.Seq, At: at, Kind: string(kind), Key: string(key), Amount: amount, Balance: bal, Reason: string(reason)}, nil
}

// errOr is err, or a new error from format when err is nil.
func errOr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}
