package main

import (
	"context"
	"log/slog"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// A node's reloads are ordered with the versions it records: another
// node's change whose reload is slow cannot install older tables after
// this node's own change recorded a newer version; and a version counter
// that goes back (Redis lost writes) is followed too.
func TestConfigStateOrdersReloads(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.RedisPrefix(t, rdb)
	rs := store.NewRedis(rdb, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var docs, installed atomic.Int64 // what the store holds, what the node runs
	started, gate := make(chan struct{}), make(chan struct{})
	var slow atomic.Bool
	reload := func(context.Context) error {
		d := docs.Load()
		if slow.CompareAndSwap(true, false) {
			close(started)
			<-gate
		}
		installed.Store(d)
		return nil
	}
	c, err := newConfigState(ctx, rs, reload, make(chan struct{}, 1), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	go c.follow(ctx)

	// Another node writes version 1; this node's reload of it is slow.
	slow.Store(true)
	docs.Store(1)
	if _, err := rs.BumpConfig(ctx); err != nil {
		t.Fatal(err)
	}
	<-started
	// This node's own change (version 2) comes meanwhile.
	docs.Store(2)
	changed := make(chan error, 1)
	go func() { changed <- c.change(ctx) }()
	time.Sleep(100 * time.Millisecond)
	close(gate)
	if err := <-changed; err != nil {
		t.Fatal(err)
	}
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(3 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 3 s for %s: runs %d, installed %d", what, c.running.Load(), installed.Load())
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	waitFor("version 2 with its tables", func() bool { return c.running.Load() == 2 && installed.Load() == 2 })

	// The counter goes back (a Redis restored from an older snapshot): the
	// node reloads rather than wait for it to pass 2 again.
	docs.Store(3)
	if err := rdb.Set(ctx, prefix+"config:version", 1, 0).Err(); err != nil {
		t.Fatal(err)
	}
	waitFor("the older version to be followed", func() bool { return c.running.Load() == 1 && installed.Load() == 3 })
}
