package cdr

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/trunkline/trunkline/rating"
)

func TestClickHouseRoundTrip(t *testing.T) {
	ch, conn, db := testClickHouse(t)
	ctx := context.Background()
	var recs []Record
	for i := range 5 {
		recs = append(recs, testRecord(i))
	}
	recs[0].SellRate = rating.Money(1)                      // 0.000001
	recs[1].SellCost = rating.Money(-123_456_789)           // -123.456789
	recs[2].BuyCost = rating.Money(999_999_999_999_999)     // 999999999.999999
	recs[3].Margin = rating.Money(-999_999_999_999_999_999) // all 18 digits
	recs[4].AnswerMs, recs[4].Duration, recs[4].Billed = 0, 0, 0
	recs[4].Description = "Côte d'Ivoire \\ 'mobile' ☎\n"
	if err := ch.WriteBatch(ctx, recs); err != nil {
		t.Fatal(err)
	}
	got, err := ch.Query(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(recs) {
		t.Fatalf("query returned %d records, want %d", len(got), len(recs))
	}
	for k, r := range got {
		if want := recs[len(recs)-1-k]; r != want {
			t.Errorf("record %d:\n got %+v\nwant %+v", k, r, want)
		}
	}
	// Money columns hold the exact decimal.
	var s string
	if err := conn.QueryRow(ctx, "SELECT toString(sell_cost) FROM "+db+".cdrs WHERE call_id = '"+recs[1].CallID+"'").Scan(&s); err != nil {
		t.Fatal(err)
	}
	if s != "-123.456789" {
		t.Errorf("sell_cost stored as %q, want -123.456789", s)
	}
}

func TestClickHouseQuery(t *testing.T) {
	ch, _, _ := testClickHouse(t)
	recs := make([]Record, 200)
	for i := range recs {
		recs[i] = testRecord(i)
	}
	ctx := context.Background()
	// Delivered twice, as after a crash between send and commit.
	for range 2 {
		if err := ch.WriteBatch(ctx, recs); err != nil {
			t.Fatal(err)
		}
	}
	testSourceQueries(t, ch)
}

func TestClickHouseDuplicateDelivery(t *testing.T) {
	ch, conn, db := testClickHouse(t)
	ctx := context.Background()
	recs := make([]Record, 1000)
	for i := range recs {
		recs[i] = testRecord(i)
	}
	for _, batch := range [][]Record{recs, recs, recs[100:200]} {
		if err := ch.WriteBatch(ctx, batch); err != nil {
			t.Fatal(err)
		}
	}
	if rows, distinct := countRows(t, conn, db, true); rows != 1000 || distinct != 1000 {
		t.Fatalf("FINAL: %d rows, %d distinct keys, want 1000 each", rows, distinct)
	}
	got, err := ch.Query(ctx, Query{Limit: MaxQueryLimit})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1000 {
		t.Fatalf("query returned %d records, want 1000", len(got))
	}
}

func TestClickHouseOptions(t *testing.T) {
	tests := []struct {
		name string
		dsn  string
		opts []ClickHouseOption
		ok   bool
	}{
		{"native", "clickhouse://127.0.0.1:9000/default", nil, true},
		{"table", "clickhouse://127.0.0.1:9000/default", []ClickHouseOption{WithTable("cdrs_v2")}, true},
		{"bad table", "clickhouse://127.0.0.1:9000/default", []ClickHouseOption{WithTable("cdrs; DROP TABLE x")}, false},
		{"http", "http://127.0.0.1:8123/default", nil, false},
		{"garbage", "::", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ch, err := NewClickHouse(tt.dsn, tt.opts...)
			if (err == nil) != tt.ok {
				t.Fatalf("NewClickHouse: %v, want ok=%v", err, tt.ok)
			}
			if ch != nil {
				ch.Close()
			}
		})
	}
}

func TestQuoteString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "''"},
		{"cust-1", "'cust-1'"},
		{"o'brien", `'o\'brien'`},
		{`back\slash`, `'back\\slash'`},
		{"nl\nnul\x00", `'nl\x0anul\x00'`},
		{"é", `'\xc3\xa9'`},
	}
	for _, tt := range tests {
		if got := quoteString(tt.in); got != tt.want {
			t.Errorf("quoteString(%q) = %s, want %s", tt.in, got, tt.want)
		}
	}
}

// The newest page of a table whose CDRs are recent is looked for in
// narrow windows first: the pages are the same as over the whole table,
// across window edges and when a window cannot fill them.
func TestClickHouseNewestPages(t *testing.T) {
	ch, _, _ := testClickHouse(t)
	now := time.Now().UnixMilli()
	recs := make([]Record, 60)
	for i := range recs {
		recs[i] = testRecord(i)
		recs[i].SetupMs = now - int64(i)*int64(5*time.Hour/time.Millisecond) // 5 h apart: 12 days back
		recs[i].AnswerMs, recs[i].EndMs = recs[i].SetupMs+2000, recs[i].SetupMs+62000
	}
	if err := ch.WriteBatch(context.Background(), recs); err != nil {
		t.Fatal(err)
	}
	for _, q := range []Query{{Limit: 1}, {Limit: 3}, {Limit: 10, Offset: 5}, {Limit: 40}, {Limit: 100}, {Limit: 5, CarrierID: "carrier-2"}} {
		got, err := ch.Query(context.Background(), q)
		if err != nil {
			t.Fatal(err)
		}
		var want []string
		for i := range recs { // newest first
			if (q.CarrierID == "" || recs[i].CarrierID == q.CarrierID) && len(want) < q.Offset+q.Limit {
				want = append(want, recs[i].CallID)
			}
		}
		want = want[min(q.Offset, len(want)):]
		var ids []string
		for _, r := range got {
			ids = append(ids, r.CallID)
		}
		if !slices.Equal(ids, want) {
			t.Errorf("Query(%+v):\n got %v\nwant %v", q, ids, want)
		}
	}
}
