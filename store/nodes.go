package store

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// NodeBoard is where the nodes that share a store say they are alive and
// what they run: each beats every second or so, and a node is live while
// its last beat is recent. Only the Redis store is one. Methods are safe
// for concurrent use.
type NodeBoard interface {
	// Beat publishes n (its Heartbeat is set by the caller).
	Beat(ctx context.Context, n NodeState) error
	// Nodes returns the nodes whose last beat is after since, by id.
	Nodes(ctx context.Context, since time.Time) ([]NodeState, error)
}

// NodeState is what a node tells the others about itself.
type NodeState struct {
	ID            string    `json:"id"`
	ConfigVersion int64     `json:"config_version"` // the configuration version it runs
	Calls         int       `json:"calls"`          // calls up now
	CPS           float64   `json:"cps"`            // new calls a second, over the last beats
	Health        string    `json:"health"`         // "ready", "recovering" or "draining"
	SIP           string    `json:"sip,omitempty"`  // its SIP address
	Build         string    `json:"build,omitempty"`
	Started       time.Time `json:"started"`
	Heartbeat     time.Time `json:"heartbeat"`
}

var _ NodeBoard = (*Redis)(nil)

// nodeForget is how long a node that stopped beating stays on the board.
const nodeForget = time.Hour

// beatScript stores a node's state (ARGV[2]) and beat time (ARGV[3], Unix
// ms) and forgets nodes silent since ARGV[4].
var beatScript = redis.NewScript(`
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. ARGV[4])
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[1], id)
end
return #gone`)

func (r *Redis) nodeKeys() []string { return []string{r.prefix + "nodes", r.prefix + "nodes:t"} }

// Beat publishes n.
func (r *Redis) Beat(ctx context.Context, n NodeState) error {
	if err := r.check(ctx, "nodes", n.ID); err != nil {
		return err
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encoding node %q: %w", n.ID, err)
	}
	err = beatScript.Run(ctx, r.rdb, r.nodeKeys(), n.ID, b, n.Heartbeat.UnixMilli(), n.Heartbeat.Add(-nodeForget).UnixMilli()).Err()
	if err != nil {
		return fmt.Errorf("heartbeat of node %q: %w", n.ID, err)
	}
	return nil
}

// Nodes returns the nodes that beat after since.
func (r *Redis) Nodes(ctx context.Context, since time.Time) ([]NodeState, error) {
	if err := r.check(ctx, "nodes", "-"); err != nil {
		return nil, err
	}
	keys := r.nodeKeys()
	ids, err := r.rdb.ZRangeByScore(ctx, keys[1], &redis.ZRangeBy{Min: fmt.Sprintf("(%d", since.UnixMilli()), Max: "+inf"}).Result()
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	if len(ids) == 0 {
		return []NodeState{}, nil
	}
	vals, err := r.rdb.HMGet(ctx, keys[0], ids...).Result()
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	out := make([]NodeState, 0, len(ids))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // forgotten between the two reads
		}
		var n NodeState
		if err := json.Unmarshal([]byte(s), &n); err != nil {
			return nil, fmt.Errorf("decoding a node: %w", err)
		}
		out = append(out, n)
	}
	slices.SortFunc(out, func(a, b NodeState) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
