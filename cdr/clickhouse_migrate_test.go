package cdr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
)

// cdrsTableBeforeSIPCallID is the CDR table as the release before
// sip_call_id created it (commit ff4c9f8).
const cdrsTableBeforeSIPCallID = `CREATE TABLE %s.cdrs (
	call_id String, attempt Int32, final UInt8, node String, customer_id String, auth_method String,
	carrier_id String, source_ip String, caller String, callee String, prefix String, description String,
	setup_time DateTime, setup_ms UInt64, answer_time DateTime, answer_ms UInt64, end_time DateTime,
	end_ms UInt64, pdd_ms Int64, duration Int32, billed Int32, sip_code Int32, reason String,
	hangup_side String, currency String, sell_rate Decimal(18, 6), sell_cost Decimal(18, 6),
	buy_rate Decimal(18, 6), buy_cost Decimal(18, 6), margin Decimal(18, 6), trace String
) ENGINE = ReplacingMergeTree()
PARTITION BY toYYYYMM(setup_time)
ORDER BY (customer_id, setup_time, call_id, attempt)`

// TestClickHouseMigratesTableWithoutSIPCallID starts a sink on a table an
// older release created and filled: the columns appended since (sip_call_id,
// the media columns) are added, the old row reads back with them empty, new
// rows carry them, and the sorting key is kept.
func TestClickHouseMigratesTableWithoutSIPCallID(t *testing.T) {
	ch, conn, db := testClickHouse(t)
	ctx := context.Background()
	if err := conn.Exec(ctx, fmt.Sprintf(cdrsTableBeforeSIPCallID, db)); err != nil {
		t.Fatal(err)
	}
	// The older release's insert: every column before sip_call_id.
	oldCols := chColumns[:slices.IndexFunc(chColumns, func(c chColumn) bool { return c.name == "sip_call_id" })]
	names := make([]string, len(oldCols))
	for i, c := range oldCols {
		names[i] = c.name
	}
	old := testRecord(0)
	batch, err := conn.PrepareBatch(ctx, fmt.Sprintf("INSERT INTO %s.cdrs (%s)", db, strings.Join(names, ", ")))
	if err != nil {
		t.Fatal(err)
	}
	for i, col := range columnValues([]Record{old})[:len(oldCols)] {
		if err := batch.Column(i).Append(col); err != nil {
			t.Fatalf("column %s: %v", names[i], err)
		}
	}
	if err := batch.Send(); err != nil {
		t.Fatal(err)
	}
	old.SIPCallID = ""

	if err := ch.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	for _, col := range []chColumn{{"sip_call_id", "String"}, {"media_relayed", "UInt8"}, {"carrier_rtp_mos", "Float64"}} {
		var typ string
		if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT type FROM system.columns WHERE database = '%s' AND table = 'cdrs' AND name = '%s'", db, col.name)).Scan(&typ); err != nil || typ != col.typ {
			t.Fatalf("%s column: type %q, %v", col.name, typ, err)
		}
	}
	var key string
	if err := conn.QueryRow(ctx, fmt.Sprintf("SELECT sorting_key FROM system.tables WHERE database = '%s' AND name = 'cdrs'", db)).Scan(&key); err != nil || key != "customer_id, setup_time, call_id, attempt" {
		t.Fatalf("sorting key %q, %v", key, err)
	}

	recs := []Record{withMedia(testRecord(1)), testRecord(2)}
	recs[1].SIPCallID = "o'brien\\x@customer.example ☎"
	if err := ch.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := ch.Query(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{recs[1], recs[0], old}
	if len(got) != len(want) {
		t.Fatalf("query returned %d records, want %d", len(got), len(want))
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("record %d:\n got %+v\nwant %+v", k, got[k], want[k])
		}
	}

	// Another node starting on the migrated table has nothing to add.
	other, err := NewClickHouse("clickhouse://" + clickHouseAddr(t) + "/" + db)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.Migrate(ctx); err != nil {
		t.Fatalf("second Migrate: %v", err)
	}
}

// A column another node added between the check and the ALTER is not an
// error; an ALTER that fails for another reason is.
func TestClickHouseAddColumns(t *testing.T) {
	ch, _, _ := testClickHouse(t)
	ctx := context.Background()
	if err := ch.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ch.addColumns(ctx, []chColumn{{"sip_call_id", "String"}}); err != nil {
		t.Errorf("adding a column that exists: %v", err)
	}
	if err := ch.addColumns(ctx, []chColumn{{"bogus", "NoSuchType"}}); err == nil || !strings.Contains(err.Error(), "adding column bogus") {
		t.Errorf("adding a column of an unknown type: %v", err)
	}
	if missing, err := ch.missingColumns(ctx); err != nil || len(missing) != 0 {
		t.Errorf("missing columns after Migrate: %v, %v", missing, err)
	}
}
