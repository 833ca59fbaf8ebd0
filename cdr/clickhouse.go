package cdr

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/shopspring/decimal"

	"github.com/trunkline/trunkline/rating"
)

// BatchSink takes batches of journalled CDRs from a Shipper. WriteBatch
// returns nil only when every record of the batch is stored; on error the
// Shipper sends the same batch again, so a sink must tolerate duplicates of
// (CallID, Attempt). Implementations are safe for concurrent use.
type BatchSink interface {
	WriteBatch(ctx context.Context, recs []Record) error
}

// ClickHouse stores CDRs in a ClickHouse table over the native protocol. It
// is a BatchSink for a Shipper and a Source for queries. The table is created
// or brought up to date (see Migrate) on first use, and again after a
// failure, so ClickHouse may be down when NewClickHouse is called. Safe for
// concurrent use.
type ClickHouse struct {
	conn  driver.Conn
	cfg   clickHouseConfig
	log   *slog.Logger
	table string

	mu       sync.Mutex
	migrated bool

	insertSQL string
}

// NewClickHouse returns a ClickHouse sink for dsn, e.g.
// "clickhouse://user:password@127.0.0.1:9000/database". Only the native
// protocol is supported: ClickHouse 18.16 fails every HTTP call made by
// clickhouse-go. No connection is made until the first call.
func NewClickHouse(dsn string, opts ...ClickHouseOption) (*ClickHouse, error) {
	cfg := clickHouseConfig{
		table:        DefaultClickHouseTable,
		queryTimeout: DefaultClickHouseQueryTimeout,
		dialTimeout:  DefaultClickHouseDialTimeout,
	}
	for _, o := range opts {
		o.applyClickHouse(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = discardLogger()
	}
	if !validIdentifier(cfg.table) {
		return nil, fmt.Errorf("clickhouse: bad table name %q", cfg.table)
	}
	if cfg.queryTimeout <= 0 {
		cfg.queryTimeout = DefaultClickHouseQueryTimeout
	}
	o, err := clickhouse.ParseDSN(dsn)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: parsing dsn: %w", err)
	}
	if o.Protocol != clickhouse.Native {
		return nil, fmt.Errorf("clickhouse: only the native protocol (clickhouse://host:9000) is supported")
	}
	if o.Settings == nil {
		o.Settings = clickhouse.Settings{}
	}
	// A statement the client gave up on keeps running on the server unless
	// it has its own limit.
	o.Settings["max_execution_time"] = int(max(cfg.queryTimeout/time.Second, 1))
	if cfg.dialTimeout > 0 {
		o.DialTimeout = cfg.dialTimeout
	}
	o.ReadTimeout = cfg.queryTimeout
	conn, err := clickhouse.Open(o)
	if err != nil {
		return nil, fmt.Errorf("clickhouse: %w", err)
	}
	return &ClickHouse{
		conn:      conn,
		cfg:       cfg,
		log:       cfg.logger.With("subsystem", "clickhouse"),
		table:     cfg.table,
		insertSQL: fmt.Sprintf("INSERT INTO %s (%s)", cfg.table, columnList()),
	}, nil
}

// WriteBatch inserts recs in one block. Duplicates of an earlier delivery
// are collapsed by the table engine.
func (c *ClickHouse) WriteBatch(ctx context.Context, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := c.Migrate(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.queryTimeout)
	defer cancel()
	batch, err := c.conn.PrepareBatch(ctx, c.insertSQL)
	if err != nil {
		return fmt.Errorf("clickhouse: preparing insert: %w", err)
	}
	defer batch.Abort()
	for i, col := range columnValues(recs) {
		if err := batch.Column(i).Append(col); err != nil {
			return fmt.Errorf("clickhouse: column %s: %w", chColumns[i].name, err)
		}
	}
	if err := batch.Send(); err != nil {
		return fmt.Errorf("clickhouse: inserting %d cdrs: %w", len(recs), err)
	}
	return nil
}

// column is one value of each record.
func column[T any](recs []Record, f func(*Record) T) []T {
	s := make([]T, len(recs))
	for i := range recs {
		s[i] = f(&recs[i])
	}
	return s
}

// columnValues turns recs into one slice per column of chColumns.
func columnValues(recs []Record) []any {
	str := func(f func(*Record) string) []string { return column(recs, f) }
	i64 := func(f func(*Record) int64) []int64 { return column(recs, f) }
	f64 := func(f func(*Record) float64) []float64 { return column(recs, f) }
	i32 := func(f func(*Record) int) []int32 { return column(recs, func(r *Record) int32 { return int32(f(r)) }) }
	ms := func(f func(*Record) int64) []uint64 {
		return column(recs, func(r *Record) uint64 { return uint64(max(f(r), 0)) })
	}
	tm := func(f func(*Record) int64) []time.Time {
		return column(recs, func(r *Record) time.Time { return time.UnixMilli(max(f(r), 0)) })
	}
	money := func(f func(*Record) rating.Money) []decimal.Decimal {
		return column(recs, func(r *Record) decimal.Decimal { return decimal.New(int64(f(r)), -rating.Digits) })
	}
	flag := func(f func(*Record) bool) []uint8 {
		return column(recs, func(r *Record) uint8 {
			if f(r) {
				return 1
			}
			return 0
		})
	}
	return []any{
		str(func(r *Record) string { return r.CallID }),
		i32(func(r *Record) int { return r.Attempt }),
		flag(func(r *Record) bool { return r.Final }),
		str(func(r *Record) string { return r.Node }),
		str(func(r *Record) string { return r.CustomerID }),
		str(func(r *Record) string { return r.AuthMethod }),
		str(func(r *Record) string { return r.CarrierID }),
		str(func(r *Record) string { return r.SourceIP }),
		str(func(r *Record) string { return r.Caller }),
		str(func(r *Record) string { return r.Callee }),
		str(func(r *Record) string { return r.Prefix }),
		str(func(r *Record) string { return r.Description }),
		tm(func(r *Record) int64 { return r.SetupMs }),
		ms(func(r *Record) int64 { return r.SetupMs }),
		tm(func(r *Record) int64 { return r.AnswerMs }),
		ms(func(r *Record) int64 { return r.AnswerMs }),
		tm(func(r *Record) int64 { return r.EndMs }),
		ms(func(r *Record) int64 { return r.EndMs }),
		i64(func(r *Record) int64 { return r.PDDMs }),
		i32(func(r *Record) int { return r.Duration }),
		i32(func(r *Record) int { return r.Billed }),
		i32(func(r *Record) int { return r.SIPCode }),
		str(func(r *Record) string { return r.Reason }),
		str(func(r *Record) string { return r.HangupSide }),
		str(func(r *Record) string { return r.Currency }),
		money(func(r *Record) rating.Money { return r.SellRate }),
		money(func(r *Record) rating.Money { return r.SellCost }),
		money(func(r *Record) rating.Money { return r.BuyRate }),
		money(func(r *Record) rating.Money { return r.BuyCost }),
		money(func(r *Record) rating.Money { return r.Margin }),
		str(func(r *Record) string { return r.Trace }),
		str(func(r *Record) string { return r.SIPCallID }),
		flag(func(r *Record) bool { return r.MediaRelayed }),
		i64(func(r *Record) int64 { return r.CustomerRTP.Packets }),
		i64(func(r *Record) int64 { return r.CustomerRTP.Bytes }),
		i64(func(r *Record) int64 { return r.CustomerRTP.Lost }),
		i64(func(r *Record) int64 { return r.CustomerRTP.JitterUs }),
		f64(func(r *Record) float64 { return r.CustomerRTP.MOS }),
		str(func(r *Record) string { return r.CustomerRTP.PayloadTypes }),
		i64(func(r *Record) int64 { return r.CarrierRTP.Packets }),
		i64(func(r *Record) int64 { return r.CarrierRTP.Bytes }),
		i64(func(r *Record) int64 { return r.CarrierRTP.Lost }),
		i64(func(r *Record) int64 { return r.CarrierRTP.JitterUs }),
		f64(func(r *Record) float64 { return r.CarrierRTP.MOS }),
		str(func(r *Record) string { return r.CarrierRTP.PayloadTypes }),
		i64(func(r *Record) int64 { return r.CustomerRTP.ReportedLost }),
		i64(func(r *Record) int64 { return r.CustomerRTP.ReportedJitterUs }),
		i64(func(r *Record) int64 { return r.CarrierRTP.ReportedLost }),
		i64(func(r *Record) int64 { return r.CarrierRTP.ReportedJitterUs }),
	}
}

// Ping checks that ClickHouse answers.
func (c *ClickHouse) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.queryTimeout)
	defer cancel()
	if err := c.conn.Ping(ctx); err != nil {
		return fmt.Errorf("clickhouse: %w", err)
	}
	return nil
}

// Close closes the connections.
func (c *ClickHouse) Close() error { return c.conn.Close() }
