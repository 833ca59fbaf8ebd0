package cdr

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// LiveOption configures OpenLive. WithLogger and WithRegisterer are
// accepted too.
type LiveOption interface{ applyLive(*liveConfig) }

// Defaults and limits of the live call register.
const (
	// DefaultLiveHeartbeat is how often Live.Run writes the heartbeat.
	DefaultLiveHeartbeat = time.Second
	// DefaultLiveCompactSize is the log size past which the register
	// rewrites its log to hold only the calls that are up.
	DefaultLiveCompactSize = 64 << 20
	// MaxLiveKeySize is the longest key Live.Up accepts, in bytes.
	MaxLiveKeySize = 1 << 10
	// MaxLiveDataSize is the most data Live.Up accepts for one call, in bytes.
	MaxLiveDataSize = 16 << 10
)

type liveConfig struct {
	logger      *slog.Logger
	registerer  prometheus.Registerer
	heartbeat   time.Duration
	compactSize int64
	commitDelay time.Duration
}

type liveOptionFunc func(*liveConfig)

func (f liveOptionFunc) applyLive(c *liveConfig) { f(c) }

// WithLiveHeartbeat sets how often Live.Run writes the heartbeat (default
// DefaultLiveHeartbeat). A crashed process's calls are closed at its last
// heartbeat, so the interval bounds how much of a call's time is lost.
func WithLiveHeartbeat(d time.Duration) LiveOption {
	return liveOptionFunc(func(c *liveConfig) { c.heartbeat = d })
}

// WithLiveCommitDelay makes the register wait d after the first change of a
// group before writing it, so that the changes of many calls share one
// fsync (the journal's commit delay, for the same reason). Up and Down then
// take up to d longer.
func WithLiveCommitDelay(d time.Duration) LiveOption {
	return liveOptionFunc(func(c *liveConfig) { c.commitDelay = d })
}

// WithLiveLogger sets the register's logger (default: discard); it adds
// subsystem=live.
func WithLiveLogger(l *slog.Logger) LiveOption {
	return liveOptionFunc(func(c *liveConfig) { c.logger = l })
}

// WithLiveRegisterer registers the register's metrics on r (default: kept
// but not registered).
func WithLiveRegisterer(r prometheus.Registerer) LiveOption {
	return liveOptionFunc(func(c *liveConfig) { c.registerer = r })
}

// WithLiveCompactSize sets the log size past which the register compacts its
// log in the background (default DefaultLiveCompactSize). The log is
// compacted only once it is also twice the size of the calls that are up, so
// a large live set does not make it compact over and over.
func WithLiveCompactSize(bytes int64) LiveOption {
	return liveOptionFunc(func(c *liveConfig) { c.compactSize = bytes })
}
