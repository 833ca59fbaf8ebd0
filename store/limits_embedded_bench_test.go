package store_test

import (
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// The limits path of one call: a Hit on its customer's calls-per-second
// key, then a channel lease on its customer, source IP entry, carrier and
// endpoint, released when it ends.
const (
	benchLimitCustomers = 1000
	benchLimitCarriers  = 20
	benchLimitTTL       = time.Minute
	benchCPSWindow      = time.Second
	// benchLimitHigh is a limit the benchmarks never reach, so every call
	// takes the whole path.
	benchLimitHigh = 1 << 24
	// benchLimitOps is the number of Limits calls in a call's path.
	benchLimitOps = 1 + 4 + 4
)

// benchLimitKeys are the keys of one customer's calls.
type benchLimitKeys struct {
	cps      string
	channels [4]string
}

func makeBenchLimitKeys() []benchLimitKeys {
	keys := make([]benchLimitKeys, benchLimitCustomers)
	for i := range keys {
		c := strconv.Itoa(i)
		keys[i] = benchLimitKeys{
			cps: "cps/cust/" + c,
			channels: [4]string{
				"chan/cust/" + c,
				"chan/ip/" + c,
				"chan/carrier/" + strconv.Itoa(i%benchLimitCarriers),
				"chan/endpoint/" + c,
			},
		}
	}
	return keys
}

// benchLimitsCall runs the limits path of call id; its one allocation is
// the lease name.
func benchLimitsCall(b *testing.B, l store.Limits, k *benchLimitKeys, id int64) {
	ctx := b.Context()
	if ok, err := l.Hit(ctx, k.cps, benchLimitHigh, benchCPSWindow); !ok || err != nil {
		b.Fatalf("Hit = %v, %v", ok, err)
	}
	var buf [32]byte
	lease := string(strconv.AppendInt(append(buf[:0], "node1/"...), id, 10))
	for _, key := range k.channels {
		if ok, err := l.Acquire(ctx, key, lease, benchLimitHigh, benchLimitTTL); !ok || err != nil {
			b.Fatalf("Acquire = %v, %v", ok, err)
		}
	}
	for _, key := range k.channels {
		if err := l.Release(ctx, key, lease); err != nil {
			b.Fatal(err)
		}
	}
}

// reportPerStoreOp reports the wall time per Limits call of the path.
func reportPerStoreOp(b *testing.B) {
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*benchLimitOps), "ns/storeop")
}

// BenchmarkLimitsCall measures a call's whole limits path (a Hit, four
// Acquires, four Releases; 9 Limits calls per op): serially, in parallel
// over many customers, and in parallel on one hot customer (every call on
// the same five keys, so on the same shard locks).
func BenchmarkLimitsCall(b *testing.B) {
	keys := makeBenchLimitKeys()
	b.Run("serial", func(b *testing.B) {
		_, l := openLimits(b)
		b.ReportAllocs()
		b.ResetTimer()
		for i := range b.N {
			benchLimitsCall(b, l, &keys[i%benchLimitCustomers], int64(i))
		}
		reportPerStoreOp(b)
	})
	for _, hot := range []bool{false, true} {
		name := "parallel/keys"
		if hot {
			name = "parallel/hot"
		}
		b.Run(name, func(b *testing.B) {
			_, l := openLimits(b)
			var ids atomic.Int64
			b.ReportAllocs()
			b.SetParallelism(benchParallelism)
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					id := ids.Add(1)
					k := &keys[0]
					if !hot {
						k = &keys[id%benchLimitCustomers]
					}
					benchLimitsCall(b, l, k, id)
				}
			})
			reportPerStoreOp(b)
		})
	}
}

// BenchmarkLimitsHit measures Hit alone on one key: passing (a limit never
// reached in a short window) and refused (a full window).
func BenchmarkLimitsHit(b *testing.B) {
	for _, tt := range []struct {
		name   string
		limit  int
		window time.Duration
		fill   int // Hits before the timer starts
		want   bool
	}{
		{"passing", benchLimitHigh, 10 * time.Millisecond, 0, true},
		{"refused", 100, time.Hour, 100, false},
	} {
		b.Run(tt.name, func(b *testing.B) {
			_, l := openLimits(b)
			ctx := b.Context()
			for range tt.fill {
				if _, err := l.Hit(ctx, "cps", tt.limit, tt.window); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for range b.N {
				if ok, err := l.Hit(ctx, "cps", tt.limit, tt.window); ok != tt.want || err != nil {
					b.Fatalf("Hit = %v, %v; want %v", ok, err, tt.want)
				}
			}
		})
	}
}
