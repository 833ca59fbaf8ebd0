package cdr

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// switchSink sends to whichever sink it points at now.
type switchSink struct{ cur atomic.Pointer[ClickHouse] }

func (s *switchSink) WriteBatch(ctx context.Context, recs []Record) error {
	return s.cur.Load().WriteBatch(ctx, recs)
}

func TestShipperClickHouseOutage(t *testing.T) {
	good, conn, db := testClickHouse(t)
	// The table exists before anything polls it (the sink creates it on
	// its first batch).
	if err := good.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Nothing listens on port 1: every attempt fails at once.
	down, err := NewClickHouse("clickhouse://127.0.0.1:1/"+db, WithDialTimeout(time.Second))
	if err != nil {
		t.Fatal(err)
	}
	defer down.Close()

	dir := t.TempDir()
	reg := prometheus.NewRegistry()
	j := openTestJournal(t, dir, WithSegmentSize(64<<10))
	r, err := j.Reader("clickhouse")
	if err != nil {
		t.Fatal(err)
	}
	const n = 5000
	writeParallel(t, j, 0, n)
	start := committed(j, "clickhouse")

	sink := &switchSink{}
	sink.cur.Store(down)
	opts := []ShipperOption{WithBatchSize(1000), WithBatchInterval(20 * time.Millisecond),
		WithBackoff(5*time.Millisecond, 20*time.Millisecond), WithRegisterer(reg)}
	s := NewShipper(r, sink, opts...)
	errs := s.m.shipErrors.WithLabelValues("clickhouse")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	waitFor(t, func() bool { return testutil.ToFloat64(errs) >= 3 })
	if got := committed(j, "clickhouse"); got != start {
		t.Fatalf("position committed to %+v while ClickHouse is unreachable", got)
	}
	if got, _ := j.Query(context.Background(), Query{Limit: MaxQueryLimit}); len(got) != n {
		t.Fatalf("journal holds %d records during the outage, want %d", len(got), n)
	}

	// ClickHouse is back: everything arrives, and records written since.
	sink.cur.Store(good)
	writeParallel(t, j, n, 1000)
	// Rows can show in ClickHouse before the insert returns: cancelling
	// then would leave the batch uncommitted, to be sent again (at least
	// once is the contract). Exactly once holds when the shipper stops
	// after committing, which is what is waited for.
	waitFor(t, func() bool {
		rows, _ := countRows(t, conn, db, true)
		return rows >= n+1000 && shippedAll(j, "clickhouse")
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}

	// After a restart of the process the shipper resumes from its commit.
	j.Close()
	j = openTestJournal(t, dir, WithSegmentSize(64<<10))
	writeParallel(t, j, n+1000, 500)
	r, _ = j.Reader("clickhouse")
	runShipper(t, NewShipper(r, good, opts...), func() bool {
		rows, _ := countRows(t, conn, db, true)
		return rows >= n+1500 && shippedAll(j, "clickhouse")
	})

	rows, distinct := countRows(t, conn, db, false)
	if rows != n+1500 || distinct != n+1500 {
		t.Fatalf("%d rows, %d distinct (call_id, attempt), want %d each: not delivered exactly once", rows, distinct, n+1500)
	}
	if segs := segmentFiles(t, dir); len(segs) != 1 {
		t.Errorf("%d segments left after everything shipped, want 1", len(segs))
	}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("timed out")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// writeParallel writes testRecord(from) … testRecord(from+n-1) from many
// goroutines, so that group commit makes large test journals quick.
func writeParallel(t testing.TB, j *Journal, from, n int) {
	t.Helper()
	const writers = 64
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := from + w; i < from+n; i += writers {
				if err := j.Write(context.Background(), testRecord(i)); err != nil {
					t.Errorf("Write %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
}

// shippedAll reports whether reader name has committed everything durable
// in j.
func shippedAll(j *Journal, name string) bool {
	j.smu.Lock()
	defer j.smu.Unlock()
	last := j.segs[len(j.segs)-1]
	return !j.readers[name].committed.Less(Position{Segment: last.seq, Offset: last.size})
}
