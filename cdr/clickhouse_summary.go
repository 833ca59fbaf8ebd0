package cdr

import (
	"context"
	"fmt"
	"strings"

	"github.com/shopspring/decimal"
)

// Summary implements Summarizer with one GROUP BY over the deduplicated
// (FINAL) table, in SQL that ClickHouse 18.16 accepts.
func (c *ClickHouse) Summary(ctx context.Context, sq SummaryQuery) ([]SummaryRow, error) {
	q, err := sq.query()
	if err != nil {
		return nil, err
	}
	if err := c.Migrate(ctx); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.queryTimeout)
	defer cancel()
	rows, err := c.conn.Query(ctx, c.summarySQL(sq, q))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: summarising cdrs: %w", err)
	}
	defer rows.Close()
	acc := summaryAcc{}
	for rows.Next() {
		var (
			at                 int64
			key, currency      string
			attempts, answered uint64
			seconds, billed    int64
			pddSum, pddCalls   int64
			sell, buy, margin  decimal.Decimal
		)
		if err := rows.Scan(&at, &key, &currency, &attempts, &answered, &seconds, &billed, &pddSum, &pddCalls, &sell, &buy, &margin); err != nil {
			return nil, fmt.Errorf("clickhouse: reading summary: %w", err)
		}
		row := acc.row(at, key, currency)
		row.Attempts, row.Answered = int64(attempts), int64(answered)
		row.pddSum, row.PDDCalls = pddSum, pddCalls
		row.Seconds, row.Billed = seconds, billed
		row.Sell, row.Buy, row.Margin = toMoney(sell), toMoney(buy), toMoney(margin)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: reading summary: %w", err)
	}
	return acc.rows(), nil
}

// summarySQL builds the GROUP BY of sq over the CDRs of q (normalized).
// The integer sums are cast so their type does not depend on the release.
func (c *ClickHouse) summarySQL(sq SummaryQuery, q Query) string {
	key := "carrier_id"
	where := whereSQL(q)
	at := "toInt64(0)"
	if sq.BucketMs > 0 {
		at = fmt.Sprintf("toInt64(intDiv(setup_ms, %d) * %d)", sq.BucketMs, sq.BucketMs)
	}
	if sq.Group == GroupCustomer {
		key = "customer_id"
		where = append(where, "final = 1")
	} else {
		where = append(where, "carrier_id != ''")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s AS at, %s, currency, count(), countIf(answer_ms > 0), "+
		"toInt64(sum(duration)), toInt64(sum(billed)), toInt64(sumIf(pdd_ms, pdd_ms > 0)), toInt64(countIf(pdd_ms > 0)), "+
		"sum(sell_cost), sum(buy_cost), sum(margin) FROM %s FINAL WHERE %s "+
		"GROUP BY at, %s, currency", at, key, c.table, strings.Join(where, " AND "), key)
	return b.String()
}
