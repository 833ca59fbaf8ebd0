package store_test

import (
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// The money path of one call: Reserve the first block at set-up, extend it
// block by block while the call lives, Post the charge dropping the hold.
const (
	benchBlock    = 60_000 // a minute at 0.06/min, in millionths
	benchCharge   = -150_000
	benchAccounts = 1000
	benchTTL      = time.Minute
	// benchParallelism × GOMAXPROCS goroutines run the parallel
	// benchmarks: calls are many and each mostly waits.
	benchParallelism = 64
)

// openBench returns a Credit whose accounts acct/0… can pay for every call
// a benchmark makes.
func openBench(b *testing.B) *store.EmbeddedCredit {
	e, err := store.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { e.Close() })
	c := e.Credit()
	var wg sync.WaitGroup // in parallel, so that the Posts share commits
	for i := range benchAccounts {
		wg.Go(func() {
			if _, err := c.Post(b.Context(), benchAccount(i), "", store.Entry{Kind: "payment", Key: "fund", Amount: store.MaxAmount}); err != nil {
				b.Error(err)
			}
		})
	}
	wg.Wait()
	return c
}

func benchAccount(i int) string { return "acct/" + strconv.Itoa(i%benchAccounts) }

// benchCall runs the money path of call id on acct; settle Posts (true) or
// releases (false) at the end.
func benchCall(b *testing.B, c store.Credit, acct string, id int64, settle bool) {
	ctx := b.Context()
	call := "call/" + strconv.FormatInt(id, 10)
	for range 3 { // first block, then two extensions
		if ok, err := c.Reserve(ctx, acct, call, benchBlock, 0, benchTTL); !ok || err != nil {
			b.Fatalf("Reserve = %v, %v", ok, err)
		}
	}
	if !settle {
		if err := c.Release(ctx, acct, call); err != nil {
			b.Fatal(err)
		}
		return
	}
	if _, err := c.Post(ctx, acct, call, store.Entry{Kind: "charge", Key: call, Amount: benchCharge}); err != nil {
		b.Fatal(err)
	}
}

// runBench runs benchCall serially, in parallel over many accounts and in
// parallel on one hot account.
func runBench(b *testing.B, settle bool) {
	b.Run("serial", func(b *testing.B) {
		c := openBench(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			benchCall(b, c, benchAccount(i), int64(i), settle)
		}
	})
	for _, hot := range []bool{false, true} {
		name := "parallel/accounts"
		if hot {
			name = "parallel/hot"
		}
		b.Run(name, func(b *testing.B) {
			c := openBench(b)
			var ids atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			defer reportCPU(b)()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := ids.Add(1)
					acct := benchAccount(0)
					if !hot {
						acct = benchAccount(int(id))
					}
					benchCall(b, c, acct, id, settle)
				}
			})
		})
	}
}

// BenchmarkCreditCall measures a call's whole money path: three Reserves
// and the Post of its charge (durable, group-committed).
func BenchmarkCreditCall(b *testing.B) { runBench(b, true) }

// BenchmarkCreditReserve measures the in-memory part of the path: three
// Reserves and a Release.
func BenchmarkCreditReserve(b *testing.B) { runBench(b, false) }

// BenchmarkCreditPost measures Post alone, each with a new key.
func BenchmarkCreditPost(b *testing.B) {
	post := func(b *testing.B, c store.Credit, acct string, id int64) {
		key := "call/" + strconv.FormatInt(id, 10)
		if _, err := c.Post(b.Context(), acct, "", store.Entry{Kind: "charge", Key: key, Amount: benchCharge}); err != nil {
			b.Fatal(err)
		}
	}
	b.Run("serial", func(b *testing.B) {
		c := openBench(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			post(b, c, benchAccount(i), int64(i))
		}
	})
	b.Run("parallel", func(b *testing.B) {
		c := openBench(b)
		var ids atomic.Int64
		b.ReportAllocs()
		b.SetParallelism(benchParallelism)
		defer reportCPU(b)()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				id := ids.Add(1)
				post(b, c, benchAccount(int(id)), id)
			}
		})
	})
}

// reportCPU resets the benchmark's timer and returns what reports the
// process's CPU time per op ("cpu-ns/op"): under group commit most of an
// op's wall time is waiting, and the switch pays only the CPU.
func reportCPU(b *testing.B) func() {
	start := cpuTime()
	b.ResetTimer()
	return func() {
		b.StopTimer()
		b.ReportMetric(float64(cpuTime()-start)/float64(b.N), "cpu-ns/op")
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
