package cdr

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
)

// With a commit delay, writers that arrive within the delay share one
// fsync, and every record is still durable (readable) when Write returns.
// The writers arrive one per millisecond, so without the delay most of them
// would get an fsync of their own.
func TestJournalCommitDelayGroupsWriters(t *testing.T) {
	reg := prometheus.NewRegistry()
	j := openTestJournal(t, t.TempDir(), WithCommitDelay(50*time.Millisecond), WithRegisterer(reg))
	const writers = 40
	var wg sync.WaitGroup
	for i := 0; i < writers; i++ {
		wg.Add(1)
		time.Sleep(time.Millisecond)
		go func(i int) {
			defer wg.Done()
			if err := j.Write(context.Background(), testRecord(i)); err != nil {
				t.Error(err)
			}
		}(i)
	}
	wg.Wait()
	recs, err := j.Query(context.Background(), Query{Limit: 100})
	if err != nil || len(recs) != writers {
		t.Fatalf("query: %d records, %v", len(recs), err)
	}
	groups := histogramCount(t, reg, "trunkline_cdr_journal_group_commit_records")
	if groups < 1 || groups > 3 {
		t.Fatalf("%d writers took %d group commits; want them grouped (1..3)", writers, groups)
	}
}

func histogramCount(t *testing.T, reg *prometheus.Registry, name string) uint64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && mf.GetType() == dto.MetricType_HISTOGRAM {
			return mf.GetMetric()[0].GetHistogram().GetSampleCount()
		}
	}
	t.Fatalf("no histogram %s", name)
	return 0
}
