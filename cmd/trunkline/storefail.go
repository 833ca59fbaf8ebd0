package main

import (
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// storeFailures counts the limit checks a store failure let pass (limits
// on_store_error: admit) and says so in the log at most every
// storeFailLogEvery, with how many since: a Redis that is down must show,
// and must not flood the log at thousands of calls a second.
type storeFailures struct {
	passed *prometheus.CounterVec
	log    *slog.Logger

	mu      sync.Mutex
	last    time.Time
	pending int
}

const storeFailLogEvery = 10 * time.Second

func newStoreFailures(reg prometheus.Registerer, log *slog.Logger) *storeFailures {
	f := &storeFailures{log: log, passed: prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "trunkline_limits_store_failures_total",
		Help: "Limit checks that could not reach the store and were let pass (limits.on_store_error: admit), by operation.",
	}, []string{"op"})}
	reg.MustRegister(f.passed)
	return f
}

// passedLimit records a limit check op that failed with err and passed.
func (f *storeFailures) passedLimit(op string, err error) {
	f.passed.WithLabelValues(op).Inc()
	f.mu.Lock()
	defer f.mu.Unlock()
	f.pending++
	if now := time.Now(); now.Sub(f.last) >= storeFailLogEvery {
		f.log.Warn("store unavailable: calls admitted without their limits", "checks", f.pending, "error", err)
		f.last, f.pending = now, 0
	}
}
