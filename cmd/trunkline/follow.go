package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trunkline/trunkline/store"
)

// configPoll is how often a node of a Redis cluster checks the
// configuration version.
const configPoll = 250 * time.Millisecond

// configState is the configuration version a node of a Redis cluster runs,
// kept with the reloads that change it. One mutex orders every reload and
// the version recorded after it, so a slow reload can never install older
// tables after a newer version was recorded; and a node runs a version
// only if it reloaded after that version was announced.
type configState struct {
	mu      sync.Mutex
	rs      *store.Redis
	reload  func(context.Context) error
	running atomic.Int64 // the version this node runs; read without mu
	beat    chan<- struct{}
	log     *slog.Logger
}

func newConfigState(ctx context.Context, rs *store.Redis, reload func(context.Context) error, beat chan<- struct{}, log *slog.Logger) (*configState, error) {
	c := &configState{rs: rs, reload: reload, beat: beat, log: log}
	v, err := rs.ConfigVersion(ctx)
	if err != nil {
		return nil, err
	}
	c.running.Store(v) // the node's first reload follows
	return c, nil
}

// change applies a change made through this node (its documents are
// written): it reloads, then announces a new version to the other nodes.
// Failing to announce it is an error: the other nodes do not run it.
func (c *configState) change(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	before, verr := c.rs.ConfigVersion(ctx)
	err := c.reload(ctx)
	v, berr := c.rs.BumpConfig(ctx)
	if berr != nil {
		return errors.Join(err, fmt.Errorf("the other nodes were not told of the change: %w", berr))
	}
	switch {
	case err != nil || verr != nil:
		// The next poll reloads again.
	case v == before+1:
		c.ran(v)
	default:
		c.ran(before) // another node's change came between: the next poll takes it
	}
	return err
}

// follow reloads whenever the cluster's version differs from the one this
// node runs (a newer one, or an older one after Redis lost writes),
// checking every configPoll, until ctx ends.
func (c *configState) follow(ctx context.Context) {
	tick := time.NewTicker(configPoll)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			c.poll(ctx)
		}
	}
}

func (c *configState) poll(ctx context.Context) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, err := c.rs.ConfigVersion(ctx)
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("configuration version unreadable", "error", err)
		}
		return
	}
	if v == c.running.Load() {
		return
	}
	if err := c.reload(ctx); err != nil {
		c.log.Error("configuration of another node not applied", "version", v, "error", err)
		return // tried again at the next tick
	}
	c.log.Info("configuration reloaded", "version", v)
	c.ran(v)
}

// ran records that the node runs version v and has the heartbeat tell the
// other nodes at once.
func (c *configState) ran(v int64) {
	c.running.Store(v)
	select {
	case c.beat <- struct{}{}:
	default:
	}
}
