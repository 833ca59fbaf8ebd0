package rating

import (
	"bytes"
	"runtime"
	"sync"
	"testing"
)

const benchPrefixes = 1_000_000

var benchDeck = sync.OnceValue(func() []Row { return genRows(benchPrefixes) })

// heapInUse returns the live heap after a full collection.
func heapInUse() uint64 {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapAlloc
}

func BenchmarkLookup1M(b *testing.B) {
	rows := benchDeck()
	c, err := NewCard(Settings{ID: "bench"}, rows)
	if err != nil {
		b.Fatal(err)
	}
	for _, k := range []struct {
		name string
		n    int
	}{{"hot64k", 1 << 16}, {"spread1M", 1 << 20}} {
		nums := genNumbers(rows, k.n)
		b.Run(k.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := c.Lookup(nums[i&(len(nums)-1)], 1e9); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

func BenchmarkCharge(b *testing.B) {
	c, _ := NewCard(Settings{ID: "bench", Precision: 4, Rounding: RoundHalfEven}, []Row{{Prefix: "49", PerMinute: 12345, Initial: 30, Increment: 6}})
	r, _ := c.Lookup("4930123", 0)
	b.ReportAllocs()
	for b.Loop() {
		_ = c.Charge(&r, 97)
	}
}

// BenchmarkNewCard1M builds a 1M-prefix card and reports the heap it keeps
// per prefix.
func BenchmarkNewCard1M(b *testing.B) {
	rows := benchDeck()
	b.ReportAllocs()
	var perPrefix float64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		c, err := NewCard(Settings{ID: "bench"}, rows)
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		after := heapInUse()
		perPrefix = float64(after-before) / float64(c.Len())
		runtime.KeepAlive(c)
		b.StartTimer()
	}
	b.ReportMetric(perPrefix, "B/prefix")
}

// BenchmarkImportCSV1M imports a 1M-row deck and reports the heap the card
// keeps per prefix.
func BenchmarkImportCSV1M(b *testing.B) {
	deck := deckCSV(benchDeck())
	b.SetBytes(int64(len(deck)))
	b.ReportAllocs()
	var perPrefix float64
	for b.Loop() {
		b.StopTimer()
		before := heapInUse()
		b.StartTimer()
		c, rep, err := ImportCSV(bytes.NewReader(deck), Settings{ID: "bench", Currency: "USD"}, nil)
		if err != nil || !rep.OK() {
			b.Fatal(err, rep.Problems[:min(3, len(rep.Problems))])
		}
		b.StopTimer()
		rep = nil
		after := heapInUse()
		perPrefix = float64(after-before) / float64(c.Len())
		runtime.KeepAlive(c)
		b.StartTimer()
	}
	b.ReportMetric(perPrefix, "B/prefix")
}

// BenchmarkGCWithCard1M times a full collection while a 1M-prefix card is
// live: what a deck adds to every mark of a running switch (run with
// -cpu 1, as the switch runs on one core). Run it alone: the benchmarks
// that use benchDeck keep its 1M Rows (two strings each) live after them.
func BenchmarkGCWithCard1M(b *testing.B) {
	c, err := NewCard(Settings{ID: "bench"}, genRows(benchPrefixes))
	if err != nil {
		b.Fatal(err)
	}
	runtime.GC()
	for b.Loop() {
		runtime.GC()
	}
	runtime.KeepAlive(c)
}

func BenchmarkLookupRead1M(b *testing.B) {
	rows := benchDeck()
	c, err := NewCard(Settings{ID: "bench"}, rows)
	if err != nil {
		b.Fatal(err)
	}
	nums := genNumbers(rows, 1<<20)
	var sink int64
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		r, err := c.Lookup(nums[i&(len(nums)-1)], 1e9)
		if err != nil {
			b.Fatal(err)
		}
		sink += int64(r.PerMinute) + int64(len(r.Description))
		i++
	}
	_ = sink
}
