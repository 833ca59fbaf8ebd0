package cdr

import (
	"context"
	"testing"
	"time"
)

// BenchmarkClickHouseShip measures the shipping path end to end: records
// already in the journal are read, sent to ClickHouse in batches and
// committed.
func BenchmarkClickHouseShip(b *testing.B) {
	ch, _, _ := testClickHouse(b)
	if err := ch.Migrate(context.Background()); err != nil {
		b.Fatal(err)
	}
	j := openTestJournal(b, b.TempDir())
	r, err := j.Reader("bench")
	if err != nil {
		b.Fatal(err)
	}
	j.mu.Lock()
	for i := range b.N {
		rec := testRecord(i)
		j.pending = appendFrame(j.pending, &rec)
		j.pendingN++
	}
	j.mu.Unlock()
	if err := j.Write(context.Background(), testRecord(b.N)); err != nil {
		b.Fatal(err)
	}
	end := Position{Segment: 1, Offset: j.size}
	s := NewShipper(r, ch, WithBatchSize(50_000), WithBatchInterval(10*time.Millisecond))

	b.ReportAllocs()
	b.ResetTimer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for committed(j, "bench").Less(end) {
		time.Sleep(time.Millisecond)
	}
	b.StopTimer()
	cancel()
	if err := <-done; err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(b.N+1)/b.Elapsed().Seconds(), "rows/s")
}
