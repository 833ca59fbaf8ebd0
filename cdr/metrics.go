package cdr

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// journalMetrics are the journal's collectors. Labels are bounded: reader
// names come from configuration, never from traffic.
type journalMetrics struct {
	appended     prometheus.Counter
	appendErrors prometheus.Counter
	fsync        prometheus.Histogram
	groupSize    prometheus.Histogram
	segments     prometheus.Gauge
	tornBytes    prometheus.Counter
	corrupt      prometheus.Counter
	backlog      *prometheus.GaugeVec
	backlogRecs  *prometheus.GaugeVec
}

func newJournalMetrics(reg prometheus.Registerer) *journalMetrics {
	m := &journalMetrics{
		appended: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_journal_appended_total",
			Help: "CDRs appended to the journal and fsynced.",
		}),
		appendErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_journal_append_errors_total",
			Help: "CDRs the journal failed to make durable.",
		}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trunkline_cdr_journal_fsync_seconds",
			Help:    "Time to write and fsync one group commit.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trunkline_cdr_journal_group_commit_records",
			Help:    "CDRs made durable by one fsync.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		segments: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkline_cdr_journal_segments",
			Help: "Segment files in the journal directory.",
		}),
		tornBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_journal_torn_bytes_total",
			Help: "Bytes of torn tail cut off the last segment when the journal was opened.",
		}),
		corrupt: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_journal_corrupt_frames_total",
			Help: "Bad frames met inside closed segments; the rest of such a segment is skipped.",
		}),
		backlog: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trunkline_cdr_journal_backlog_bytes",
			Help: "Journal bytes a reader has not committed yet.",
		}, []string{"reader"}),
		backlogRecs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trunkline_cdr_journal_backlog_records",
			Help: "CDRs a reader (the ClickHouse shipper) has not committed yet: its backlog bytes over the mean size of the CDRs this journal wrote (an estimate; 0 until it wrote one).",
		}, []string{"reader"}),
	}
	m.appended = register(reg, m.appended)
	m.appendErrors = register(reg, m.appendErrors)
	m.fsync = register(reg, m.fsync)
	m.groupSize = register(reg, m.groupSize)
	m.segments = register(reg, m.segments)
	m.tornBytes = register(reg, m.tornBytes)
	m.corrupt = register(reg, m.corrupt)
	m.backlog = register(reg, m.backlog)
	m.backlogRecs = register(reg, m.backlogRecs)
	return m
}

// shipperMetrics are the shipper's collectors, labelled by sink name.
type shipperMetrics struct {
	shipped    *prometheus.CounterVec
	shipErrors *prometheus.CounterVec
	batch      *prometheus.HistogramVec
}

func newShipperMetrics(reg prometheus.Registerer) *shipperMetrics {
	m := &shipperMetrics{
		shipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_cdr_shipped_total",
			Help: "CDRs delivered to a sink and committed in the journal.",
		}, []string{"sink"}),
		shipErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_cdr_ship_errors_total",
			Help: "Failed attempts to deliver a batch of CDRs to a sink.",
		}, []string{"sink"}),
		batch: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "trunkline_cdr_ship_batch_seconds",
			Help:    "Time to deliver one batch to a sink.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2, 14),
		}, []string{"sink"}),
	}
	m.shipped = register(reg, m.shipped)
	m.shipErrors = register(reg, m.shipErrors)
	m.batch = register(reg, m.batch)
	return m
}

// liveMetrics are the live call register's collectors. The only label,
// file, is "log" or "heartbeat".
type liveMetrics struct {
	calls       prometheus.Gauge
	ops         prometheus.Counter
	writeErrors *prometheus.CounterVec
	fsync       prometheus.Histogram
	groupSize   prometheus.Histogram
	compactions prometheus.Counter
	logBytes    prometheus.Gauge
	tornBytes   prometheus.Counter
}

func newLiveMetrics(reg prometheus.Registerer) *liveMetrics {
	m := &liveMetrics{
		calls: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkline_cdr_live_calls",
			Help: "Calls up in the live call register.",
		}),
		ops: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_live_ops_total",
			Help: "Ups and Downs written to the live call register and fsynced.",
		}),
		writeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_cdr_live_write_errors_total",
			Help: "Failed writes or fsyncs of the live call register, by file.",
		}, []string{"file"}),
		fsync: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trunkline_cdr_live_fsync_seconds",
			Help:    "Time to write and fsync one group commit of the live call register.",
			Buckets: prometheus.ExponentialBuckets(0.0001, 2, 14),
		}),
		groupSize: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "trunkline_cdr_live_group_commit_ops",
			Help:    "Ups and Downs made durable by one fsync.",
			Buckets: prometheus.ExponentialBuckets(1, 4, 8),
		}),
		compactions: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_live_compactions_total",
			Help: "Rewrites of the live call log down to the calls that are up.",
		}),
		logBytes: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkline_cdr_live_log_bytes",
			Help: "Size of the live call log.",
		}),
		tornBytes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_cdr_live_torn_bytes_total",
			Help: "Bytes of torn tail dropped from the live call log when it was opened.",
		}),
	}
	m.calls = register(reg, m.calls)
	m.ops = register(reg, m.ops)
	m.writeErrors = register(reg, m.writeErrors)
	m.fsync = register(reg, m.fsync)
	m.groupSize = register(reg, m.groupSize)
	m.compactions = register(reg, m.compactions)
	m.logBytes = register(reg, m.logBytes)
	m.tornBytes = register(reg, m.tornBytes)
	return m
}

// register registers c on reg and returns the collector to use: c, or the
// one already registered under the same description. A nil reg registers
// nothing.
func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		// A conflicting registration is a programming error in the wiring;
		// keep the unregistered collector so the component still works.
	}
	return c
}
