package cdr

import (
	"context"
	"errors"
	"github.com/prometheus/client_golang/prometheus"
	"log/slog"
	"math/rand/v2"
	"sync/atomic"
	"time"
)

// Shipper moves CDRs from a journal Reader to a BatchSink: it reads a batch
// (up to the batch size, or what arrived within the batch interval), sends
// it, and commits the reader's position only after the sink accepted it. A
// failed send is retried, with the same records, after an exponential
// backoff, for as long as it takes: the records stay in the journal
// meanwhile. Delivery is at least once; the sink deduplicates.
type Shipper struct {
	r    *Reader
	sink BatchSink
	cfg  shipperConfig
	log  *slog.Logger
	m    *shipperMetrics

	// oldestMs is the end time (unix ms) of the oldest CDR read and not
	// yet delivered; 0 when there is none.
	oldestMs atomic.Int64
}

// Lag returns how long ago the oldest CDR not yet delivered ended: 0 when
// the shipper has delivered all it read. While the sink is down it grows.
func (s *Shipper) Lag() time.Duration {
	ms := s.oldestMs.Load()
	if ms == 0 {
		return 0
	}
	return max(time.Since(time.UnixMilli(ms)), 0)
}

// NewShipper returns a shipper from r to sink. Its metrics carry the reader's
// name as the sink label.
func NewShipper(r *Reader, sink BatchSink, opts ...ShipperOption) *Shipper {
	cfg := shipperConfig{
		batchSize:     DefaultBatchSize,
		batchInterval: DefaultBatchInterval,
		backoffMin:    DefaultBackoffMin,
		backoffMax:    DefaultBackoffMax,
	}
	for _, o := range opts {
		o.applyShipper(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = discardLogger()
	}
	if cfg.batchSize <= 0 {
		cfg.batchSize = DefaultBatchSize
	}
	if cfg.batchInterval <= 0 {
		cfg.batchInterval = DefaultBatchInterval
	}
	if cfg.backoffMin <= 0 {
		cfg.backoffMin = DefaultBackoffMin
	}
	cfg.backoffMax = max(cfg.backoffMax, cfg.backoffMin)
	s := &Shipper{
		r:    r,
		sink: sink,
		cfg:  cfg,
		log:  cfg.logger.With("subsystem", "shipper", "sink", r.Name()),
		m:    newShipperMetrics(cfg.registerer),
	}
	// The sink's series exist from the start, at 0: an alert on a rise
	// has something to compare with.
	s.m.shipErrors.WithLabelValues(r.Name())
	s.m.shipped.WithLabelValues(r.Name())
	if cfg.registerer != nil {
		_ = cfg.registerer.Register(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name:        "trunkline_cdr_ship_lag_seconds",
			Help:        "How long ago the oldest CDR not yet delivered to the sink ended (0: all delivered).",
			ConstLabels: prometheus.Labels{"sink": r.Name()},
		}, func() float64 { return s.Lag().Seconds() }))
	}
	return s
}

// Run ships until ctx ends (it then returns nil) or the journal closes
// (ErrClosed). A batch being retried when ctx ends is not committed; it is
// sent again by the next Run, from this or a later process.
func (s *Shipper) Run(ctx context.Context) error {
	for {
		recs, pos, err := s.fill(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		if err := s.deliver(ctx, recs, pos); err != nil {
			return nil // ctx ended
		}
	}
}

// fill reads one batch: it blocks for the first record, then collects more
// until the batch is full or the batch interval has passed.
func (s *Shipper) fill(ctx context.Context) ([]Record, Position, error) {
	recs, pos, err := s.r.Next(ctx, s.cfg.batchSize)
	if err != nil {
		return nil, pos, err
	}
	if len(recs) >= s.cfg.batchSize {
		return recs, pos, nil
	}
	wait, cancel := context.WithTimeout(ctx, s.cfg.batchInterval)
	defer cancel()
	for len(recs) < s.cfg.batchSize {
		more, p, err := s.r.Next(wait, s.cfg.batchSize-len(recs))
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				break // the interval is over: send what we have
			}
			if errors.Is(err, ErrClosed) {
				break // ship what was read before the journal closed
			}
			return nil, pos, err
		}
		recs, pos = append(recs, more...), p
	}
	return recs, pos, nil
}

// deliver sends recs until the sink takes them, then commits pos. It returns
// an error only when ctx ends first.
func (s *Shipper) deliver(ctx context.Context, recs []Record, pos Position) error {
	name := s.r.Name()
	oldest := int64(0)
	for i := range recs {
		if ms := recs[i].EndMs; ms > 0 && (oldest == 0 || ms < oldest) {
			oldest = ms
		}
	}
	s.oldestMs.Store(oldest)
	// Delivered, the lag drops to 0 only if the reader has caught up (a
	// short batch): with more behind it, the next batch sets it at once.
	defer func() {
		if len(recs) < s.cfg.batchSize {
			s.oldestMs.Store(0)
		}
	}()
	backoff := s.cfg.backoffMin
	for attempt := 1; ; attempt++ {
		start := time.Now()
		err := s.sink.WriteBatch(ctx, recs)
		if err == nil {
			s.m.batch.WithLabelValues(name).Observe(time.Since(start).Seconds())
			s.m.shipped.WithLabelValues(name).Add(float64(len(recs)))
			if attempt > 1 {
				s.log.Info("cdr shipping resumed", "records", len(recs), "attempts", attempt)
			}
			if err := s.r.Commit(pos); err != nil {
				// The batch is delivered; the next commit covers it. After a
				// crash before then it is delivered again, which the sink
				// tolerates.
				s.log.Error("committing shipped position", "err", err)
			}
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.m.shipErrors.WithLabelValues(name).Inc()
		level := slog.LevelDebug
		if attempt == 1 || backoff == s.cfg.backoffMax {
			level = slog.LevelWarn
		}
		s.log.Log(ctx, level, "cdr shipping failed, will retry", "records", len(recs), "attempt", attempt, "retry_in", backoff, "err", err)
		// Full jitter on the upper half keeps several nodes from retrying
		// in step.
		pause := backoff/2 + rand.N(backoff/2+1)
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, s.cfg.backoffMax)
	}
}
