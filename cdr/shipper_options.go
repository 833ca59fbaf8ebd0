package cdr

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the shipper options.
const (
	DefaultBatchSize     = 10_000
	DefaultBatchInterval = time.Second
	DefaultBackoffMin    = 100 * time.Millisecond
	DefaultBackoffMax    = 30 * time.Second
)

type shipperConfig struct {
	logger        *slog.Logger
	registerer    prometheus.Registerer
	batchSize     int
	batchInterval time.Duration
	backoffMin    time.Duration
	backoffMax    time.Duration
}

type shipperOptionFunc func(*shipperConfig)

func (f shipperOptionFunc) applyShipper(c *shipperConfig) { f(c) }

// WithBatchSize sets the most records sent in one batch (default
// DefaultBatchSize).
func WithBatchSize(n int) ShipperOption {
	return shipperOptionFunc(func(c *shipperConfig) { c.batchSize = n })
}

// WithBatchInterval sets how long a partial batch waits for more records
// before it is sent (default DefaultBatchInterval).
func WithBatchInterval(d time.Duration) ShipperOption {
	return shipperOptionFunc(func(c *shipperConfig) { c.batchInterval = d })
}

// WithBackoff sets the first and the largest pause between failed attempts
// to send a batch; the pause doubles after each failure (defaults
// DefaultBackoffMin, DefaultBackoffMax).
func WithBackoff(first, max time.Duration) ShipperOption {
	return shipperOptionFunc(func(c *shipperConfig) { c.backoffMin, c.backoffMax = first, max })
}
