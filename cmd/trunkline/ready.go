package main

import (
	"context"
	"errors"
	"time"

	"github.com/trunkline/trunkline/store"
)

// ready is /readyz's verdict: the node takes calls when it is not
// draining, its journal writes (a CDR is durable before a call's end is
// acknowledged) and its store answers. A CDR database that is down or
// behind does not make it unready (the journal keeps every CDR): the
// lag shows in readyInfo.
func (n *node) ready() error {
	if n.sip.Draining() {
		return errors.New("draining: shutting down")
	}
	if err := n.journal.Err(); err != nil {
		n.log.Error("not ready: the CDR journal failed", "error", err)
		return errors.New("the CDR journal failed")
	}
	if r, ok := n.store.(*store.Redis); ok {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		if err := r.Ping(ctx); err != nil {
			n.log.Warn("not ready: the store does not answer", "error", err)
			return errors.New("the store does not answer")
		}
	}
	return nil
}

// readyInfo is what /readyz found: the store, the journal, and how far
// behind CDR shipping to ClickHouse is.
func (n *node) readyInfo(ctx context.Context) map[string]any {
	// Terse: /readyz answers anyone; the errors are in the log.
	status := func(err error) string {
		if err != nil {
			return "failing"
		}
		return "ok"
	}
	info := map[string]any{"journal": status(n.journal.Err()), "store": "ok (embedded)"}
	if r, ok := n.store.(*store.Redis); ok {
		info["store"] = status(r.Ping(ctx))
	}
	if n.shipper != nil {
		lag := n.shipper.Lag()
		info["cdr_ship_lag_seconds"] = int64(lag / time.Second)
		info["clickhouse"] = "ok"
		if lag > time.Minute {
			info["clickhouse"] = "behind: CDRs wait in the journal"
		}
	}
	return info
}
