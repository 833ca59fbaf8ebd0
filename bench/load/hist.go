package load

import "math/bits"

// Histogram counts durations in microseconds in log-linear buckets: exact
// below 64 µs, then 64 buckets per power of two, so a quantile it reports
// is within 1/64 (1.6 %) of the true value. Recording costs a few
// instructions and no allocation. Not safe for concurrent use.
type Histogram struct {
	counts   [histBuckets]uint64
	n        uint64
	sum, top uint64
}

const (
	histSub     = 64 // buckets per power of two
	histShift   = 6  // log2(histSub)
	histBuckets = (64 - histShift + 1) * histSub
)

func histBucket(v uint64) int {
	if v < histSub {
		return int(v)
	}
	e := bits.Len64(v) - histShift - 1 // v >> e is in [64, 128)
	return (e+1)*histSub + int(v>>e) - histSub
}

// histLow returns the smallest value of bucket i.
func histLow(i int) uint64 {
	if i < histSub {
		return uint64(i)
	}
	e := i/histSub - 1
	return uint64(i%histSub+histSub) << e
}

// Record adds one duration of us microseconds.
func (h *Histogram) Record(us uint64) {
	h.counts[histBucket(us)]++
	h.n++
	h.sum += us
	h.top = max(h.top, us)
}

// Count returns how many durations were recorded.
func (h *Histogram) Count() uint64 { return h.n }

// Quantile returns the duration (µs) below which a fraction q of the
// recorded ones lie: the middle of the bucket that holds it, and never more
// than the largest recorded. It returns 0 when nothing was recorded.
func (h *Histogram) Quantile(q float64) uint64 {
	if h.n == 0 {
		return 0
	}
	rank := uint64(q*float64(h.n) + 0.5)
	rank = min(max(rank, 1), h.n)
	var seen uint64
	for i, c := range h.counts {
		if seen += c; seen >= rank {
			lo := histLow(i)
			width := histLow(i+1) - lo
			return min(lo+width/2, h.top)
		}
	}
	return h.top
}

// Summary is what a histogram reports.
type Summary struct {
	Count  uint64 `json:"count"`
	MeanUS uint64 `json:"mean_us"`
	P50US  uint64 `json:"p50_us"`
	P90US  uint64 `json:"p90_us"`
	P99US  uint64 `json:"p99_us"`
	P999US uint64 `json:"p99_9_us"`
	MaxUS  uint64 `json:"max_us"`
}

// Summary returns the count, mean, quantiles and maximum.
func (h *Histogram) Summary() Summary {
	s := Summary{Count: h.n, MaxUS: h.top,
		P50US: h.Quantile(0.5), P90US: h.Quantile(0.9), P99US: h.Quantile(0.99), P999US: h.Quantile(0.999)}
	if h.n > 0 {
		s.MeanUS = h.sum / h.n
	}
	return s
}
