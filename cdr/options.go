package cdr

import (
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// JournalOption configures OpenJournal.
type JournalOption interface{ applyJournal(*journalConfig) }

// ShipperOption configures NewShipper.
type ShipperOption interface{ applyShipper(*shipperConfig) }

// ClickHouseOption configures NewClickHouse.
type ClickHouseOption interface{ applyClickHouse(*clickHouseConfig) }

// SharedOption is accepted by every constructor of this package.
type SharedOption interface {
	JournalOption
	ShipperOption
	ClickHouseOption
	ExportOption
	LiveOption
}

// Defaults of the journal options.
const (
	DefaultSegmentSize  = 64 << 20
	DefaultPollInterval = 200 * time.Millisecond
)

type journalConfig struct {
	logger       *slog.Logger
	registerer   prometheus.Registerer
	segmentSize  int64
	retention    time.Duration
	pollInterval time.Duration
	commitDelay  time.Duration
}

type journalOptionFunc func(*journalConfig)

func (f journalOptionFunc) applyJournal(c *journalConfig) { f(c) }

// WithSegmentSize sets the size at which the journal starts a new segment
// file (default DefaultSegmentSize). A segment can exceed it by one group
// commit.
func WithSegmentSize(bytes int64) JournalOption {
	return journalOptionFunc(func(c *journalConfig) { c.segmentSize = bytes })
}

// WithRetention keeps closed segments for at least d after their last write,
// even when every reader has committed past them (default 0: remove them as
// soon as every reader has).
func WithRetention(d time.Duration) JournalOption {
	return journalOptionFunc(func(c *journalConfig) { c.retention = d })
}

// WithPollInterval sets how often a blocked Reader.Next looks for new
// records besides being woken by each group commit (default
// DefaultPollInterval).
func WithPollInterval(d time.Duration) JournalOption {
	return journalOptionFunc(func(c *journalConfig) { c.pollInterval = d })
}

// WithCommitDelay makes each group commit wait d after the first record
// of the group arrives before writing and fsyncing, so that more records
// share one fsync. Write then returns up to d later; throughput under load
// rises and fsyncs per second fall to at most 1/d (default 0: commit at
// once, grouping only the records that arrive during an fsync).
func WithCommitDelay(d time.Duration) JournalOption {
	return journalOptionFunc(func(c *journalConfig) { c.commitDelay = d })
}

type loggerOption struct{ l *slog.Logger }

func (o loggerOption) applyJournal(c *journalConfig)       { c.logger = o.l }
func (o loggerOption) applyShipper(c *shipperConfig)       { c.logger = o.l }
func (o loggerOption) applyClickHouse(c *clickHouseConfig) { c.logger = o.l }
func (o loggerOption) applyExport(c *exportConfig)         { c.logger = o.l }
func (o loggerOption) applyLive(c *liveConfig)             { c.logger = o.l }

// WithLogger sets the logger (default: discard). Each part adds a
// "subsystem" attribute (journal, shipper, clickhouse, live).
func WithLogger(l *slog.Logger) SharedOption { return loggerOption{l} }

type registererOption struct{ r prometheus.Registerer }

func (o registererOption) applyJournal(c *journalConfig)       { c.registerer = o.r }
func (o registererOption) applyShipper(c *shipperConfig)       { c.registerer = o.r }
func (o registererOption) applyClickHouse(c *clickHouseConfig) { c.registerer = o.r }
func (o registererOption) applyExport(c *exportConfig)         { c.registerer = o.r }
func (o registererOption) applyLive(c *liveConfig)             { c.registerer = o.r }

// WithRegisterer registers the component's metrics on r (default: metrics
// are kept but not registered). Registering a second component of the same
// kind on r shares the already registered collectors.
func WithRegisterer(r prometheus.Registerer) SharedOption { return registererOption{r} }

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
