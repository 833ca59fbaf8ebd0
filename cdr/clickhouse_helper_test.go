package cdr

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/trunkline/trunkline/store/storetest"
)

// clickHouseAddr returns the test ClickHouse's native address from
// TRUNKLINE_TEST_CLICKHOUSE. Without it the test is skipped, except in CI,
// where a missing service is a failure.
func clickHouseAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("TRUNKLINE_TEST_CLICKHOUSE")
	if addr == "" {
		msg := `TRUNKLINE_TEST_CLICKHOUSE is not set; start ClickHouse with: eval "$(scripts/services.sh up)"`
		storetest.Missing(t, msg)
	}
	return addr
}

// testClickHouse creates a database of its own for the test on the test
// ClickHouse, drops it afterwards, and returns a sink on it and a raw
// connection for checks.
func testClickHouse(t testing.TB, opts ...ClickHouseOption) (*ClickHouse, driver.Conn, string) {
	t.Helper()
	addr := clickHouseAddr(t)
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:        []string{addr},
		DialTimeout: 5 * time.Second,
		Settings:    clickhouse.Settings{"max_execution_time": 60},
	})
	if err != nil {
		t.Fatal(err)
	}
	db := fmt.Sprintf("trunkline_test_%d_%08x", os.Getpid(), rand.Uint32())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := conn.Exec(ctx, "CREATE DATABASE "+db); err != nil {
		t.Fatalf("creating test database on %s: %v", addr, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+db); err != nil {
			t.Errorf("dropping %s: %v", db, err)
		}
		conn.Close()
	})
	dsn := "clickhouse://" + addr + "/" + db
	ch, err := NewClickHouse(dsn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ch.Close() })
	return ch, conn, db
}

// countRows returns count() and the number of distinct (call_id, attempt)
// of db.cdrs, with FINAL when final is set.
func countRows(t testing.TB, conn driver.Conn, db string, final bool) (rows, distinct uint64) {
	t.Helper()
	fin := ""
	if final {
		fin = " FINAL"
	}
	q := fmt.Sprintf("SELECT count(), uniqExact(call_id, attempt) FROM %s.cdrs%s", db, fin)
	if err := conn.QueryRow(context.Background(), q).Scan(&rows, &distinct); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return rows, distinct
}
