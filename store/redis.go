package store

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is the store of several nodes that share one Redis (a single
// server, Sentinel or Redis Cluster, through go-redis's UniversalClient):
// documents, and the runtime state of Credit and Limits, all under one key
// prefix. A collection is one hash, id → document:
//
//	<prefix>d:<collection>  hash: id → JSON
//
// Writes are as durable as the server's persistence (see RedisCredit).
type Redis struct {
	rdb    redis.UniversalClient
	prefix string
	owned  bool // Close closes rdb
	closed atomic.Bool
	credit *RedisCredit
	limits *RedisLimits
}

var _ Store = (*Redis)(nil)

// DefaultRedisPrefix is where a switch keeps its keys unless told.
const DefaultRedisPrefix = "trunkline:"

// Timeouts of the client OpenRedis makes. A call waits on Redis at most a
// read timeout (plus a write) before it fails: the switch must never hold
// a call long on a slow store.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 200 * time.Millisecond
)

// OpenRedis connects to the Redis at url and checks that it answers. The
// URL is one of go-redis's:
//
//	redis://[user:password@]host:port[/db]              one server (rediss:// for TLS)
//	redis://[user:password@]sentinel:port[/db]?master_name=NAME&addr=sentinel2:port&password=P
//	                                                     Sentinel: the primary NAME and its failovers
//	redis://[user:password@]node:port?addr=node2:port   Redis Cluster
//
// For Sentinel the user and password are the sentinels', password= the
// primary's. Set by the URL or not, a call's context bounds each command
// (its deadline closes the connection), and a single or Sentinel client
// sends a command again only when it surely did not run or only reads
// (see retryHook), so a failover costs a wait, not an error. A Redis Cluster client does resend one
// whose connection failed (up to its redirect limit, which MOVED answers
// need): on Redis Cluster a reservation or lease whose reply was lost may
// be taken twice, and holds too much until its TTL.
func OpenRedis(ctx context.Context, url, prefix string) (*Redis, error) {
	o, err := redisOptions(url)
	if err != nil {
		return nil, fmt.Errorf("store URL: %w", err)
	}
	o.DialTimeout, o.ReadTimeout, o.WriteTimeout = redisDialTimeout, redisIOTimeout, redisIOTimeout
	o.ContextTimeoutEnabled = true
	o.MaxRetries = -1 // a script whose reply was lost must not run twice (see RedisCredit)
	rdb := redis.NewUniversalClient(o)
	rdb.AddHook(retryHook{})
	ping, cancel := context.WithTimeout(ctx, redisDialTimeout)
	defer cancel()
	if err := rdb.Ping(ping).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("store %s: %w", redactURL(url), err)
	}
	r := NewRedis(rdb, prefix)
	r.owned = true
	return r, nil
}

// redisOptions reads a store URL (see OpenRedis) into the options of a
// single, Sentinel or Cluster client.
func redisOptions(url string) (*redis.UniversalOptions, error) {
	switch q := urlQuery(url); {
	case strings.Contains(q, "master_name="):
		f, err := redis.ParseFailoverURL(url)
		if err != nil {
			return nil, err
		}
		if f.MasterName == "" {
			return nil, errors.New("master_name is empty")
		}
		return &redis.UniversalOptions{Addrs: f.SentinelAddrs, MasterName: f.MasterName, SentinelUsername: f.SentinelUsername,
			SentinelPassword: f.SentinelPassword, Username: f.Username, Password: f.Password, DB: f.DB, TLSConfig: f.TLSConfig}, nil
	case strings.Contains(q, "addr="):
		c, err := redis.ParseClusterURL(url)
		if err != nil {
			return nil, err
		}
		if len(c.Addrs) < 2 {
			return nil, errors.New("a cluster URL names its nodes with addr=")
		}
		return &redis.UniversalOptions{Addrs: c.Addrs, Username: c.Username, Password: c.Password, TLSConfig: c.TLSConfig, IsClusterMode: true}, nil
	}
	o, err := redis.ParseURL(url)
	if err != nil {
		return nil, err
	}
	return &redis.UniversalOptions{Addrs: []string{o.Addr}, Username: o.Username, Password: o.Password, DB: o.DB, TLSConfig: o.TLSConfig}, nil
}

// urlQuery returns the query of url, "" if none.
func urlQuery(url string) string {
	_, q, _ := strings.Cut(url, "?")
	return q
}

// redactURL hides the passwords in url: its user info's and a password=
// in its query.
func redactURL(url string) string {
	if scheme, rest, ok := strings.Cut(url, "://"); ok {
		if at := strings.LastIndexByte(strings.SplitN(rest, "?", 2)[0], '@'); at >= 0 {
			url = scheme + "://…@" + rest[at+1:]
		}
	}
	base, q, ok := strings.Cut(url, "?")
	if !ok {
		return url
	}
	params := strings.Split(q, "&")
	for i, p := range params {
		if k, _, _ := strings.Cut(p, "="); strings.HasSuffix(k, "password") {
			params[i] = k + "=…"
		}
	}
	return base + "?" + strings.Join(params, "&")
}

// NewRedis returns the store kept in rdb under prefix; rdb stays its
// caller's to close.
func NewRedis(rdb redis.UniversalClient, prefix string) *Redis {
	return &Redis{rdb: rdb, prefix: prefix, credit: NewRedisCredit(rdb, prefix), limits: NewRedisLimits(rdb, prefix)}
}

// Credit returns the store's balances, ledgers and holds.
func (r *Redis) Credit() *RedisCredit { return r.credit }

// Limits returns the store's channel leases and call-rate windows.
func (r *Redis) Limits() *RedisLimits { return r.limits }

func (r *Redis) check(ctx context.Context, coll, id string) error {
	return checkCall(ctx, r.closed.Load(), coll, id)
}

func (r *Redis) collKey(coll string) string { return r.prefix + "d:" + coll }

// Get returns the document coll/id or ErrNotFound.
func (r *Redis) Get(ctx context.Context, coll, id string) ([]byte, error) {
	if err := r.check(ctx, coll, id); err != nil {
		return nil, err
	}
	b, err := r.rdb.HGet(ctx, r.collKey(coll), id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("reading %s/%s: %w", coll, id, err)
	}
	return b, nil
}

// Put creates or replaces the document coll/id.
func (r *Redis) Put(ctx context.Context, coll, id string, data []byte) error {
	if err := r.check(ctx, coll, id); err != nil {
		return err
	}
	if err := r.rdb.HSet(ctx, r.collKey(coll), id, data).Err(); err != nil {
		return fmt.Errorf("writing %s/%s: %w", coll, id, err)
	}
	return nil
}

// Delete removes coll/id, or returns ErrNotFound.
func (r *Redis) Delete(ctx context.Context, coll, id string) error {
	if err := r.check(ctx, coll, id); err != nil {
		return err
	}
	n, err := r.rdb.HDel(ctx, r.collKey(coll), id).Result()
	if err != nil {
		return fmt.Errorf("deleting %s/%s: %w", coll, id, err)
	}
	if n == 0 {
		return ErrNotFound
	}
	return nil
}

// List returns every document of coll, sorted by id.
func (r *Redis) List(ctx context.Context, coll string) ([]Doc, error) {
	if err := r.check(ctx, coll, "-"); err != nil {
		return nil, err
	}
	m, err := r.rdb.HGetAll(ctx, r.collKey(coll)).Result()
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", coll, err)
	}
	docs := make([]Doc, 0, len(m))
	for id, data := range m {
		docs = append(docs, Doc{ID: id, Data: []byte(data)})
	}
	slices.SortFunc(docs, func(a, b Doc) int { return strings.Compare(a.ID, b.ID) })
	return docs, nil
}

// ConfigVersion is the cluster's configuration version: 0 at first,
// raised by BumpConfig after every change; each node reloads what it
// derives from the documents when it sees it move.
func (r *Redis) ConfigVersion(ctx context.Context) (int64, error) {
	if err := r.check(ctx, "-", "-"); err != nil {
		return 0, err
	}
	v, err := r.rdb.Get(ctx, r.prefix+"config:version").Int64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("reading the configuration version: %w", err)
	}
	return v, nil
}

// BumpConfig raises the configuration version and returns it.
func (r *Redis) BumpConfig(ctx context.Context) (int64, error) {
	if err := r.check(ctx, "-", "-"); err != nil {
		return 0, err
	}
	v, err := r.rdb.Incr(ctx, r.prefix+"config:version").Result()
	if err != nil {
		return 0, fmt.Errorf("raising the configuration version: %w", err)
	}
	return v, nil
}

// Close makes every later call fail (Credit and Limits too) and closes
// the client if OpenRedis made it.
func (r *Redis) Close() error {
	if r.closed.Swap(true) {
		return nil
	}
	r.credit.Close()
	r.limits.close()
	if r.owned {
		return r.rdb.Close()
	}
	return nil
}

// Ping checks that the Redis server answers.
func (r *Redis) Ping(ctx context.Context) error {
	if err := r.check(ctx, "-", "-"); err != nil {
		return err
	}
	return r.rdb.Ping(ctx).Err()
}
