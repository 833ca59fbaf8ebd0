package cdr

import (
	"context"
	"testing"
)

// BenchmarkJournalAppend measures durable appends from many concurrent
// writers, as a busy switch produces them: every Write waits for its fsync,
// and group commit shares each fsync between the writers waiting on it.
func BenchmarkJournalAppend(b *testing.B) {
	j := openTestJournal(b, b.TempDir())
	r := testRecord(1)
	b.ReportAllocs()
	b.SetParallelism(256) // 256 writers per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if err := j.Write(ctx, r); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "records/s")
}

// BenchmarkJournalRead measures a reader draining the journal.
func BenchmarkJournalRead(b *testing.B) {
	j := openTestJournal(b, b.TempDir())
	r := testRecord(1)
	ctx := context.Background()
	j.mu.Lock()
	for range b.N {
		j.pending = appendFrame(j.pending, &r)
		j.pendingN++
	}
	j.mu.Unlock()
	if err := j.Write(ctx, r); err != nil {
		b.Fatal(err)
	}
	rd, err := j.Reader("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	n := 0
	for n < b.N {
		recs, _, err := rd.Next(ctx, 10_000)
		if err != nil {
			b.Fatal(err)
		}
		n += len(recs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
}
