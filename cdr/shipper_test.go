package cdr

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

// fakeSink records batches and fails the first failures calls.
type fakeSink struct {
	mu       sync.Mutex
	failures int
	calls    int
	batches  [][]Record
}

func (f *fakeSink) WriteBatch(ctx context.Context, recs []Record) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failures > 0 {
		f.failures--
		return errors.New("sink down")
	}
	f.batches = append(f.batches, slices.Clone(recs))
	return nil
}

func (f *fakeSink) delivered() (n int, sizes []int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, b := range f.batches {
		n += len(b)
		sizes = append(sizes, len(b))
	}
	return n, sizes
}

// runShipper runs s until cond holds, then stops it.
func runShipper(t *testing.T, s *Shipper, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			cancel()
			t.Fatal("timed out waiting for the shipper")
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}

func committed(j *Journal, name string) Position {
	j.smu.Lock()
	defer j.smu.Unlock()
	return j.readers[name].committed
}

func TestShipperBatches(t *testing.T) {
	tests := []struct {
		name     string
		records  int
		size     int
		failures int
		sizes    []int
	}{
		{"full batches and a partial one", 25, 10, 0, []int{10, 10, 5}},
		{"one partial batch", 3, 10, 0, []int{3}},
		{"retried after failures", 12, 10, 3, []int{10, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reg := prometheus.NewRegistry()
			j := openTestJournal(t, t.TempDir())
			r, err := j.Reader("fake")
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, j, 0, tt.records)
			sink := &fakeSink{failures: tt.failures}
			s := NewShipper(r, sink, WithBatchSize(tt.size), WithBatchInterval(20*time.Millisecond),
				WithBackoff(time.Millisecond, 4*time.Millisecond), WithRegisterer(reg))
			runShipper(t, s, func() bool { n, _ := sink.delivered(); return n >= tt.records })

			n, sizes := sink.delivered()
			if !slices.Equal(sizes, tt.sizes) {
				t.Errorf("batch sizes %v, want %v", sizes, tt.sizes)
			}
			var all []Record
			for _, b := range sink.batches {
				all = append(all, b...)
			}
			for i := range n {
				if all[i] != testRecord(i) {
					t.Fatalf("record %d is %q", i, all[i].CallID)
				}
			}
			if got := committed(j, "fake"); got.Offset != j.size {
				t.Errorf("committed %+v, want the end of the journal (%d)", got, j.size)
			}
			if got := testutil.ToFloat64(s.m.shipErrors.WithLabelValues("fake")); got != float64(tt.failures) {
				t.Errorf("ship errors metric %v, want %d", got, tt.failures)
			}
			if got := testutil.ToFloat64(s.m.shipped.WithLabelValues("fake")); got != float64(tt.records) {
				t.Errorf("shipped metric %v, want %d", got, tt.records)
			}
			if got := testutil.ToFloat64(j.m.backlog.WithLabelValues("fake")); got != 0 {
				t.Errorf("backlog %v bytes, want 0", got)
			}
		})
	}
}

func TestShipperDoesNotCommitFailedBatch(t *testing.T) {
	j := openTestJournal(t, t.TempDir())
	r, _ := j.Reader("down")
	start := committed(j, "down")
	writeN(t, j, 0, 5)
	sink := &fakeSink{failures: 1 << 30}
	s := NewShipper(r, sink, WithBatchInterval(time.Millisecond), WithBackoff(time.Millisecond, 2*time.Millisecond))
	runShipper(t, s, func() bool { sink.mu.Lock(); defer sink.mu.Unlock(); return sink.calls >= 5 })
	if got := committed(j, "down"); got != start {
		t.Fatalf("committed %+v while the sink is down, want %+v", got, start)
	}
	// A new shipper (as after a restart) starts again from the commit.
	r.Rewind()
	sink2 := &fakeSink{}
	runShipper(t, NewShipper(r, sink2, WithBatchInterval(time.Millisecond)), func() bool { n, _ := sink2.delivered(); return n == 5 })
}
