package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"os"
	"sync"
	"time"

	"github.com/trunkline/trunkline/sip"
	"github.com/trunkline/trunkline/store"
)

// Heartbeats: every node of a cluster publishes its state on the store's
// NodeBoard every beatInterval (and at once when it applies a new
// configuration); a node is live while its last beat is younger than
// liveWindow. GET /api/v1/nodes lists the live nodes, and an admin write
// with ?wait= waits until every live node runs the configuration version it
// made. On the embedded store the node is alone: it lists itself.
const (
	beatInterval = time.Second
	liveWindow   = 3*beatInterval + beatInterval/2
)

// heartbeat publishes and reads the nodes' states.
type heartbeat struct {
	board   store.NodeBoard // nil on the embedded store
	version func(context.Context) (int64, error)
	running func() int64 // the configuration version this node runs
	sip     *sip.Server
	self    store.NodeState // its fixed fields
	log     *slog.Logger
	kick    <-chan struct{} // a beat now: the node runs a new configuration

	mu      sync.Mutex
	cps     float64
	taken   uint64
	takenAt time.Time
}

func newHeartbeat(board store.NodeBoard, version func(context.Context) (int64, error), running func() int64, s *sip.Server, kick <-chan struct{}, self store.NodeState, log *slog.Logger) *heartbeat {
	return &heartbeat{board: board, version: version, running: running, sip: s, self: self, log: log,
		kick: kick, takenAt: self.Started}
}

// state returns the node's state at now.
func (h *heartbeat) state(now time.Time) store.NodeState {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.self
	n.Heartbeat = now
	n.ConfigVersion = h.running()
	n.Calls = h.sip.ActiveCalls()
	switch {
	case h.sip.Draining():
		n.Health = "draining"
	case h.sip.Recovering():
		n.Health = "recovering"
	default:
		n.Health = "ready"
	}
	// Calls per second since the previous beat a second or more ago.
	taken := h.sip.CallsTaken()
	if d := now.Sub(h.takenAt); d >= beatInterval {
		h.cps = math.Round(float64(taken-h.taken)/d.Seconds()*10) / 10
		h.taken, h.takenAt = taken, now
	}
	n.CPS = h.cps
	return n
}

// run beats until ctx ends.
func (h *heartbeat) run(ctx context.Context) {
	if h.board == nil {
		return
	}
	t := time.NewTicker(beatInterval)
	defer t.Stop()
	for {
		bctx, cancel := context.WithTimeout(ctx, beatInterval)
		if err := h.board.Beat(bctx, h.state(time.Now())); err != nil && ctx.Err() == nil {
			h.log.Warn("heartbeat not published", "error", err)
		}
		cancel()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-h.kick:
		}
	}
}

// Nodes returns the live nodes, or this one alone on the embedded store.
func (h *heartbeat) Nodes(ctx context.Context) ([]store.NodeState, error) {
	if h.board == nil {
		return []store.NodeState{h.state(time.Now())}, nil
	}
	return h.board.Nodes(ctx, liveWindow)
}

// WaitConfig waits until every live node runs the cluster's configuration
// version as it is now, or ctx ends; it returns the nodes still behind.
func (h *heartbeat) WaitConfig(ctx context.Context) ([]string, error) {
	if h.board == nil {
		return nil, nil // the one node applied it before answering
	}
	// Each read gets readTimeout of its own, however little of the wait is
	// left: a short wait on a busy store still says which nodes are behind.
	read := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(ctx), readTimeout)
	}
	rctx, cancel := read()
	want, err := h.version(rctx)
	cancel()
	if err != nil {
		return nil, err
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		rctx, cancel := read()
		nodes, err := h.Nodes(rctx)
		cancel()
		if err != nil {
			return nil, err
		}
		var behind []string
		for _, n := range nodes {
			if n.ConfigVersion < want {
				behind = append(behind, n.ID)
			}
		}
		if len(behind) == 0 {
			return nil, nil
		}
		select {
		case <-ctx.Done():
			return behind, nil
		case <-tick.C:
		}
	}
}

// readTimeout bounds one read of the node board.
const readTimeout = time.Second

// checkNodeID refuses to start a node under the id of another node that
// is alive: the two would free each other's channels (leases are named by
// node id) and mix their calls. A node restarted soon after its previous
// run died finds that run's last beat on the board: it waits up to two
// beats, and only a beat made meanwhile by another instance is a twin.
// (Two nodes that start under one id at the same moment both start.)
func checkNodeID(ctx context.Context, board store.NodeBoard, id, instance string) error {
	other := func() (store.NodeState, bool, error) {
		rctx, cancel := context.WithTimeout(ctx, readTimeout)
		defer cancel()
		nodes, err := board.Nodes(rctx, liveWindow)
		if err != nil {
			return store.NodeState{}, false, fmt.Errorf("reading the live nodes: %w", err)
		}
		for _, n := range nodes {
			if n.ID == id && n.Instance != instance {
				return n, true, nil
			}
		}
		return store.NodeState{}, false, nil
	}
	first, found, err := other()
	if err != nil || !found {
		return err
	}
	deadline := time.Now().Add(2*beatInterval + beatInterval/2)
	for time.Now().Before(deadline) {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(beatInterval / 4):
		}
		n, found, err := other()
		if err != nil || !found {
			return err
		}
		if !n.Heartbeat.Equal(first.Heartbeat) || n.Instance != first.Instance {
			return fmt.Errorf("node id %q is in use by a live node (host %q, pid %d, SIP %s): give each node its own id (node: in the config)",
				id, n.Host, n.PID, n.SIP)
		}
	}
	return nil
}

// hostname is this machine's name, "" if unknown.
func hostname() string {
	h, _ := os.Hostname()
	return h
}
