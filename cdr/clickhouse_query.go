package cdr

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"time"

	"github.com/shopspring/decimal"

	"github.com/trunkline/trunkline/rating"
)

// Query implements Source: the newest setup time first, each (CallID,
// Attempt) once even when it was delivered more than once. ClickHouse 18.16
// has no server-side parameters, so the SQL is built from validated numbers
// and escaped string literals only.
func (c *ClickHouse) Query(ctx context.Context, q Query) ([]Record, error) {
	q, err := q.normalized()
	if err != nil {
		return nil, err
	}
	if q.FromMs == 0 && q.unfiltered() && q.Offset+q.Limit <= maxNarrowed {
		// The newest page of a big table: look in the last hour, day,
		// week, month first (recent partitions, few rows to merge), and
		// take the first window that fills the page: the rows before it
		// are older than every row in it.
		end := q.ToMs
		if end == 0 {
			end = time.Now().Add(time.Minute).UnixMilli()
		}
		for _, w := range narrowWindows {
			nq := q
			nq.FromMs = end - w.Milliseconds()
			out, err := c.query(ctx, nq)
			if err != nil || len(out) == q.Limit {
				return out, err
			}
		}
	}
	return c.query(ctx, q)
}

// unfiltered tells whether q selects by nothing but time: a filter may
// leave every window short of a page (each try then costs a query), and a
// customer's CDRs are found by the table's key anyway.
func (q Query) unfiltered() bool {
	return q.CustomerID == "" && q.CarrierID == "" && q.CalleePrefix == "" && q.SIPCode == 0 && q.Answered == nil
}

// A newest page of at most maxNarrowed rows is looked for in these
// windows first (see Query).
var narrowWindows = []time.Duration{time.Hour, 24 * time.Hour, 7 * 24 * time.Hour, 31 * 24 * time.Hour}

const maxNarrowed = 10_000

// query runs the SELECT of q (normalized).
func (c *ClickHouse) query(ctx context.Context, q Query) ([]Record, error) {
	out := make([]Record, 0, min(q.Limit, 1024))
	err := c.scan(ctx, c.querySQL(q), func(r *Record) error {
		out = append(out, *r)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// each streams every match of q (normalized) in Query's order in one
// statement, so rows shipped meanwhile cannot shift pages.
func (c *ClickHouse) each(ctx context.Context, q Query, fn func(r *Record) error) error {
	sql := c.querySQL(q)
	sql = sql[:strings.LastIndex(sql, " LIMIT ")]
	return c.scan(ctx, sql, fn)
}

// scan runs a SELECT of columnList() and calls fn for each row.
func (c *ClickHouse) scan(ctx context.Context, sql string, fn func(r *Record) error) error {
	if err := c.Migrate(ctx); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.queryTimeout)
	defer cancel()
	rows, err := c.conn.Query(ctx, sql)
	if err != nil && connBroken(err) {
		// The server may have closed a pooled connection (it does after an
		// exception); the driver drops it on error, and a read is safe to
		// repeat once on a fresh one.
		rows, err = c.conn.Query(ctx, sql)
	}
	if err != nil {
		return fmt.Errorf("clickhouse: querying cdrs: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			r                                          Record
			attempt, duration, billed, sipCode         int32
			final, relayed                             uint8
			setupMs, answerMs, endMs                   uint64
			setupT, answerT, endT                      time.Time
			sellRate, sellCost, buyRate, buyCost, marg decimal.Decimal
		)
		cu, ca := &r.CustomerRTP, &r.CarrierRTP
		if err := rows.Scan(&r.CallID, &attempt, &final, &r.Node, &r.CustomerID, &r.AuthMethod,
			&r.CarrierID, &r.SourceIP, &r.Caller, &r.Callee, &r.Prefix, &r.Description,
			&setupT, &setupMs, &answerT, &answerMs, &endT, &endMs, &r.PDDMs,
			&duration, &billed, &sipCode, &r.Reason, &r.HangupSide, &r.Currency,
			&sellRate, &sellCost, &buyRate, &buyCost, &marg, &r.Trace, &r.SIPCallID, &relayed,
			&cu.Packets, &cu.Bytes, &cu.Lost, &cu.JitterUs, &cu.MOS, &cu.PayloadTypes,
			&ca.Packets, &ca.Bytes, &ca.Lost, &ca.JitterUs, &ca.MOS, &ca.PayloadTypes,
			&cu.ReportedLost, &cu.ReportedJitterUs, &ca.ReportedLost, &ca.ReportedJitterUs); err != nil {
			return fmt.Errorf("clickhouse: reading cdr: %w", err)
		}
		r.Attempt, r.Final, r.MediaRelayed = int(attempt), final == 1, relayed == 1
		r.SetupMs, r.AnswerMs, r.EndMs = int64(setupMs), int64(answerMs), int64(endMs)
		r.Duration, r.Billed, r.SIPCode = int(duration), int(billed), int(sipCode)
		r.SellRate, r.SellCost = toMoney(sellRate), toMoney(sellCost)
		r.BuyRate, r.BuyCost, r.Margin = toMoney(buyRate), toMoney(buyCost), toMoney(marg)
		if err := fn(&r); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("clickhouse: reading cdrs: %w", err)
	}
	return nil
}

// querySQL builds the SELECT for a normalized q. Every value is either an
// integer formatted by the program or a string through quoteString.
func (c *ClickHouse) querySQL(q Query) string {
	where := whereSQL(q)
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s FROM %s FINAL", columnList(), c.table)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	fmt.Fprintf(&b, " ORDER BY setup_ms DESC, call_id DESC, attempt DESC LIMIT %d, %d", q.Offset, q.Limit)
	return b.String()
}

// whereSQL returns the conditions of q's filters (q normalized), to be
// joined with AND.
func whereSQL(q Query) []string {
	var where []string
	if q.CustomerID != "" {
		where = append(where, "customer_id = "+quoteString(q.CustomerID))
	}
	if q.CarrierID != "" {
		where = append(where, "carrier_id = "+quoteString(q.CarrierID))
	}
	if q.CalleePrefix != "" {
		// Digits only (normalized checks), so LIKE has no wildcard to escape.
		where = append(where, "callee LIKE "+quoteString(q.CalleePrefix+"%"))
	}
	if q.SIPCode != 0 {
		where = append(where, fmt.Sprintf("sip_code = %d", q.SIPCode))
	}
	if q.FinalOnly {
		where = append(where, "final = 1")
	}
	if q.Answered != nil {
		if *q.Answered {
			where = append(where, "answer_ms > 0")
		} else {
			where = append(where, "answer_ms = 0")
		}
	}
	if q.FromMs > 0 {
		// setup_time narrows the partitions and the primary key range;
		// setup_ms is exact.
		where = append(where,
			fmt.Sprintf("setup_time >= toDateTime(%d)", q.FromMs/1000),
			fmt.Sprintf("setup_ms >= %d", q.FromMs))
	}
	if q.ToMs > 0 {
		where = append(where,
			fmt.Sprintf("setup_time <= toDateTime(%d)", q.ToMs/1000),
			fmt.Sprintf("setup_ms < %d", q.ToMs))
	}
	return where
}

// toMoney converts a Decimal(18, 6) value back to Money exactly.
func toMoney(d decimal.Decimal) rating.Money {
	return rating.Money(d.Shift(rating.Digits).IntPart())
}

// connBroken reports whether err means the connection itself failed, as
// opposed to the query.
func connBroken(err error) bool {
	return errors.Is(err, net.ErrClosed) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}
