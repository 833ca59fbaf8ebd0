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
	rows, err := c.conn.Query(ctx, c.summarySQL(sq.Group, q))
	if err != nil {
		return nil, fmt.Errorf("clickhouse: summarising cdrs: %w", err)
	}
	defer rows.Close()
	acc := summaryAcc{}
	for rows.Next() {
		var (
			key, currency      string
			attempts, answered uint64
			seconds, billed    int64
			sell, buy, margin  decimal.Decimal
		)
		if err := rows.Scan(&key, &currency, &attempts, &answered, &seconds, &billed, &sell, &buy, &margin); err != nil {
			return nil, fmt.Errorf("clickhouse: reading summary: %w", err)
		}
		row := acc.row(key, currency)
		row.Attempts, row.Answered = int64(attempts), int64(answered)
		row.Seconds, row.Billed = seconds, billed
		row.Sell, row.Buy, row.Margin = toMoney(sell), toMoney(buy), toMoney(margin)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: reading summary: %w", err)
	}
	return acc.rows(), nil
}

// summarySQL builds the GROUP BY for group over the CDRs of q (normalized).
// The integer sums are cast so their type does not depend on the release.
func (c *ClickHouse) summarySQL(group string, q Query) string {
	key := "carrier_id"
	where := whereSQL(q)
	if group == GroupCustomer {
		key = "customer_id"
		where = append(where, "final = 1")
	} else {
		where = append(where, "carrier_id != ''")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "SELECT %s, currency, count(), countIf(answer_ms > 0), "+
		"toInt64(sum(duration)), toInt64(sum(billed)), sum(sell_cost), sum(buy_cost), sum(margin) FROM %s FINAL WHERE %s "+
		"GROUP BY %s, currency", key, c.table, strings.Join(where, " AND "), key)
	return b.String()
}
