package cdr

import (
	"context"
	"strconv"
	"sync/atomic"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
)

// BenchmarkLiveUpDown measures a call's two durable changes as a busy switch
// makes them: many goroutines each put a call up and take it down, every
// Up and Down waiting for its fsync, group commit sharing each fsync between
// the callers waiting on it. The log compacts at its default size. One op is
// one Up+Down pair; ops/commit and fsync-ms show how well the fsyncs are
// shared and what they cost on this disk.
func BenchmarkLiveUpDown(b *testing.B) {
	reg := prometheus.NewRegistry()
	l := openTestLive(b, b.TempDir(), WithLiveRegisterer(reg))
	data := make([]byte, 300) // a dialog's route sets, tags and CSeqs
	var next atomic.Uint64
	b.ReportAllocs()
	b.SetParallelism(256) // 256 calls per CPU
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		buf := []byte("call-")
		for pb.Next() {
			key := string(strconv.AppendUint(buf[:5], next.Add(1), 10))
			if err := l.Up(ctx, key, data); err != nil {
				b.Error(err)
				return
			}
			if err := l.Down(ctx, key); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "pairs/s")
	mfs, err := reg.Gather()
	if err != nil {
		b.Fatal(err)
	}
	for _, mf := range mfs {
		h := mf.GetMetric()[0].GetHistogram()
		switch mf.GetName() {
		case "trunkline_cdr_live_group_commit_ops":
			b.ReportMetric(h.GetSampleSum()/float64(h.GetSampleCount()), "ops/commit")
		case "trunkline_cdr_live_fsync_seconds":
			b.ReportMetric(1000*h.GetSampleSum()/float64(h.GetSampleCount()), "fsync-ms")
		}
	}
}

// BenchmarkLiveReplay measures replaying a 4 MiB log at open.
func BenchmarkLiveReplay(b *testing.B) {
	log := append([]byte(nil), liveLogMagic[:]...)
	data := make([]byte, 300)
	for i := 0; len(log) < DefaultLiveCompactSize; i++ {
		key := "call-" + strconv.Itoa(i)
		log = appendLiveUp(log, key, liveEntry{data: data, upMs: int64(i)})
		if i%10 != 0 {
			log = appendLiveDown(log, key, int64(i))
		}
	}
	b.SetBytes(int64(len(log)))
	b.ReportAllocs()
	for b.Loop() {
		if r, err := replayLive(log); err != nil || r.torn != nil {
			b.Fatal(err, r.torn)
		}
	}
}
