package cdr

import (
	"context"
	"fmt"
)

// Migrate brings the CDR table up to this release's schema: it creates the
// table when it does not exist and adds the columns of chColumns that a
// table created by an older release lacks (rows written before keep the
// column's default, an empty string or zero). WriteBatch, Query and Summary
// call it until it has succeeded once. Several nodes may migrate one table
// at the same time. It uses only what ClickHouse 18.16 has:
// system.columns and a plain ALTER TABLE … ADD COLUMN (18.16 rejects ADD
// COLUMN IF NOT EXISTS as a syntax error).
func (c *ClickHouse) Migrate(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.migrated {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.queryTimeout)
	defer cancel()
	if err := c.conn.Exec(ctx, createTableSQL(c.table)); err != nil {
		return fmt.Errorf("clickhouse: creating table %s: %w", c.table, err)
	}
	missing, err := c.missingColumns(ctx)
	if err != nil {
		return err
	}
	if err := c.addColumns(ctx, missing); err != nil {
		return err
	}
	c.migrated = true
	c.log.Info("clickhouse schema ready", "table", c.table)
	return nil
}

// missingColumns returns the columns of chColumns that the table lacks, in
// chColumns order.
func (c *ClickHouse) missingColumns(ctx context.Context) ([]chColumn, error) {
	have, err := c.tableColumns(ctx)
	if err != nil {
		return nil, err
	}
	var missing []chColumn
	for _, col := range chColumns {
		if !have[col.name] {
			missing = append(missing, col)
		}
	}
	return missing, nil
}

// tableColumns returns the names of the table's columns, from
// system.columns.
func (c *ClickHouse) tableColumns(ctx context.Context) (map[string]bool, error) {
	sql := "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = " + quoteString(c.table)
	rows, err := c.conn.Query(ctx, sql)
	if err != nil && connBroken(err) {
		// After a failed ALTER the server may have closed the pooled
		// connection; a read is safe to repeat once (see scan).
		rows, err = c.conn.Query(ctx, sql)
	}
	if err != nil {
		return nil, fmt.Errorf("clickhouse: reading the columns of %s: %w", c.table, err)
	}
	defer rows.Close()
	have := make(map[string]bool, len(chColumns))
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, fmt.Errorf("clickhouse: reading the columns of %s: %w", c.table, err)
		}
		have[name] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("clickhouse: reading the columns of %s: %w", c.table, err)
	}
	if len(have) == 0 {
		return nil, fmt.Errorf("clickhouse: table %s has no columns in system.columns", c.table)
	}
	return have, nil
}

// addColumns adds cols to the table, at its end. A column another node added
// meanwhile is not an error: when an ALTER fails, the table's columns are
// read again and the error stands only if the column is still not there.
func (c *ClickHouse) addColumns(ctx context.Context, cols []chColumn) error {
	for _, col := range cols {
		err := c.conn.Exec(ctx, fmt.Sprintf("ALTER TABLE %s ADD COLUMN %s %s", c.table, col.name, col.typ))
		if err != nil {
			if have, rerr := c.tableColumns(ctx); rerr != nil || !have[col.name] {
				return fmt.Errorf("clickhouse: adding column %s to %s: %w", col.name, c.table, err)
			}
			continue
		}
		c.log.Info("clickhouse column added", "table", c.table, "column", col.name, "type", col.typ)
	}
	return nil
}
