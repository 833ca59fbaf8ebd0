package load

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestHistogramQuantiles(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	var h Histogram
	var xs []uint64
	for range 100000 {
		v := uint64(r.ExpFloat64() * 2000) // µs, a long tail
		h.Record(v)
		xs = append(xs, v)
	}
	slices.Sort(xs)
	for _, q := range []float64{0.5, 0.9, 0.99, 0.999} {
		want := xs[int(q*float64(len(xs)))-1]
		got := h.Quantile(q)
		if d := float64(got) - float64(want); d > float64(want)/64+1 || -d > float64(want)/64+1 {
			t.Errorf("q%.3f: got %d µs, want %d ± 1.6 %%", q, got, want)
		}
	}
	if s := h.Summary(); s.Count != 100000 || s.MaxUS != xs[len(xs)-1] {
		t.Errorf("summary %+v", s)
	}
	var empty Histogram
	if empty.Quantile(0.5) != 0 {
		t.Error("quantile of nothing is not 0")
	}
}

func TestHistogramBuckets(t *testing.T) {
	prev := -1
	for _, v := range []uint64{0, 1, 63, 64, 127, 128, 129, 255, 256, 1 << 20, 1<<40 + 12345, 1<<64 - 1} {
		b := histBucket(v)
		if b < prev || b >= histBuckets {
			t.Fatalf("bucket of %d is %d (previous %d)", v, b, prev)
		}
		if lo := histLow(b); lo > v || (b+1 < histBuckets && histLow(b+1) <= v) {
			t.Fatalf("value %d in bucket %d [%d, %d)", v, b, lo, histLow(b+1))
		}
		prev = b
	}
}
