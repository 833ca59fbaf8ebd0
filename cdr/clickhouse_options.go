package cdr

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Defaults of the ClickHouse options.
const (
	DefaultClickHouseTable        = "cdrs"
	DefaultClickHouseQueryTimeout = 30 * time.Second
	DefaultClickHouseDialTimeout  = 5 * time.Second
)

type clickHouseConfig struct {
	logger       *slog.Logger
	registerer   prometheus.Registerer
	table        string
	queryTimeout time.Duration
	dialTimeout  time.Duration
}

type clickHouseOptionFunc func(*clickHouseConfig)

func (f clickHouseOptionFunc) applyClickHouse(c *clickHouseConfig) { f(c) }

// WithTable sets the table name (default DefaultClickHouseTable). It must be
// a plain identifier: letters, digits and underscores.
func WithTable(name string) ClickHouseOption {
	return clickHouseOptionFunc(func(c *clickHouseConfig) { c.table = name })
}

// WithQueryTimeout bounds every statement, on the client (context deadline)
// and on the server (max_execution_time), default
// DefaultClickHouseQueryTimeout.
func WithQueryTimeout(d time.Duration) ClickHouseOption {
	return clickHouseOptionFunc(func(c *clickHouseConfig) { c.queryTimeout = d })
}

// WithDialTimeout bounds connecting to ClickHouse, default
// DefaultClickHouseDialTimeout.
func WithDialTimeout(d time.Duration) ClickHouseOption {
	return clickHouseOptionFunc(func(c *clickHouseConfig) { c.dialTimeout = d })
}
