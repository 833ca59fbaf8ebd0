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
	// Beat publishes n (its Heartbeat is the node's own clock, for
	// people; liveness goes by the store's clock).
	Beat(ctx context.Context, n NodeState) error
	// Nodes returns the nodes that beat within the last window, by id.
	Nodes(ctx context.Context, window time.Duration) ([]NodeState, error)
}

// NodeState is what a node tells the others about itself.
type NodeState struct {
	ID            string  `json:"id"`
	ConfigVersion int64   `json:"config_version"` // the configuration version it runs
	Calls         int     `json:"calls"`          // calls up now
	CPS           float64 `json:"cps"`            // new calls a second, over the last beats
	Health        string  `json:"health"`         // "ready", "recovering" or "draining"
	SIP           string  `json:"sip,omitempty"`  // its SIP address
	Host          string  `json:"host,omitempty"` // the machine's host name
	PID           int     `json:"pid,omitempty"`  // the process id on it
	// Instance is random, new at each start: two runs under one ID differ.
	Instance  string    `json:"instance,omitempty"`
	Build     string    `json:"build,omitempty"`
	Started   time.Time `json:"started"`
	Heartbeat time.Time `json:"heartbeat"`
}

var _ NodeBoard = (*Redis)(nil)

// nodeForget is how long a node that stopped beating stays on the board.
const nodeForget = time.Hour

// beatScript stores a node's state (ARGV[2]) and beat, at the server's
// time (one clock for every node), and forgets nodes silent for ARGV[3] ms.
var beatScript = redis.NewScript(nowMsLua + `
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[2], ms, ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', '(' .. (ms - tonumber(ARGV[3])))
for _, id in ipairs(gone) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('HDEL', KEYS[1], id)
end
return #gone`)

// nodeKeys: a hash id → state and a sorted set id → last beat (the
// server's Unix ms), in one hash slot for Redis Cluster.
func (r *Redis) nodeKeys() []string { return []string{r.prefix + "{nodes}", r.prefix + "{nodes}:t"} }

// Beat publishes n.
func (r *Redis) Beat(ctx context.Context, n NodeState) error {
	if err := r.check(ctx, "nodes", n.ID); err != nil {
		return err
	}
	b, err := json.Marshal(n)
	if err != nil {
		return fmt.Errorf("encoding node %q: %w", n.ID, err)
	}
	err = beatScript.Run(ctx, r.rdb, r.nodeKeys(), n.ID, b, nodeForget.Milliseconds()).Err()
	if err != nil {
		return fmt.Errorf("heartbeat of node %q: %w", n.ID, err)
	}
	return nil
}

// nodesScript returns the states of the nodes that beat within ARGV[1] ms
// of the server's time.
var nodesScript = redis.NewScript(nowMsLua + `
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '(' .. (ms - tonumber(ARGV[1])), '+inf')
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[1], unpack(ids))`)

// Nodes returns the nodes that beat within window. A state this build
// cannot read (a newer node's, mid-upgrade) is left out.
func (r *Redis) Nodes(ctx context.Context, window time.Duration) ([]NodeState, error) {
	if err := r.check(ctx, "nodes", "-"); err != nil {
		return nil, err
	}
	vals, err := nodesScript.Run(ctx, r.rdb, r.nodeKeys(), window.Milliseconds()).Slice()
	if err != nil {
		return nil, fmt.Errorf("listing nodes: %w", err)
	}
	out := make([]NodeState, 0, len(vals))
	for _, v := range vals {
		s, ok := v.(string)
		if !ok {
			continue // forgotten between the two reads
		}
		var n NodeState
		if err := json.Unmarshal([]byte(s), &n); err == nil && n.ID != "" {
			out = append(out, n)
		}
	}
	slices.SortFunc(out, func(a, b NodeState) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}
