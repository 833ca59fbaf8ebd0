package cdr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// Nodes that share a Redis store deliver each export period once: four
// exporters ticking at the same moment make one run and one file.
func TestExportOncePerCluster(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.RedisPrefix(t, rdb)
	host, port, user, pw := exportServer(t, ProtocolFTP)
	st := store.NewRedis(rdb, prefix)
	ctx := context.Background()
	recs, _ := boundaryRecords()
	j := exportFixtureIn(t, st, "Asia/Tokyo", recs)
	dir := fmt.Sprintf("tl-test-%08x", rand.Uint32())
	x := store.Export{ID: "xc", CustomerID: "cust-ny", Protocol: ProtocolFTP, Host: host, Port: port, Username: user, Password: pw,
		RemoteDir: dir, Format: FormatCSV, Frequency: Weekly}
	cleanRemote(t, x, dir)
	if err := store.PutJSON(ctx, st, store.Exports, x.ID, x); err != nil {
		t.Fatal(err)
	}
	now, _ := time.Parse(time.RFC3339, "2026-03-16T00:00:00Z")
	var wg sync.WaitGroup
	for range 4 {
		e := NewExporter(st, j, WithClock(func() time.Time { return now }))
		wg.Go(func() { e.tick(ctx) })
	}
	wg.Wait()
	runs, err := Runs(ctx, st, x.ID)
	if err != nil || len(runs) != 1 || runs[0].Status != RunOK || runs[0].Period != "2026-W11" {
		t.Fatalf("runs %+v, %v: want one successful run", runs, err)
	}
	if _, names := fetch(t, &x, dir, "cdrs_cust-ny_2026-W11.csv"); len(names) != 1 {
		t.Errorf("remote dir %v, want the one file", names)
	}
	// A later tick of any node finds it delivered.
	NewExporter(st, j, WithClock(func() time.Time { return now })).tick(ctx)
	if runs, _ := Runs(ctx, st, x.ID); len(runs) != 1 {
		t.Errorf("%d runs after a later tick, want 1", len(runs))
	}
}
