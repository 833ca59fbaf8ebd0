package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/sip/siptest"
	"github.com/trunkline/trunkline/store/storetest"
)

// startSwitchWith starts a node like startSwitch, with extra YAML appended
// to its config (top-level keys, e.g. a cdr: section).
func startSwitchWith(t *testing.T, extra string) *testSwitch {
	t.Helper()
	return startSwitchYAML(t, extra)
}

// testClickHouseDB creates a database of the test's own on the ClickHouse of
// TRUNKLINE_TEST_CLICKHOUSE (skipping without it, failing in CI) and drops
// it afterwards. It returns the server address, the database and a raw
// connection for checks.
func testClickHouseDB(t *testing.T) (addr, db string, conn driver.Conn) {
	t.Helper()
	addr = os.Getenv("TRUNKLINE_TEST_CLICKHOUSE")
	if addr == "" {
		msg := `TRUNKLINE_TEST_CLICKHOUSE is not set; start ClickHouse with: eval "$(scripts/services.sh up)"`
		storetest.Missing(t, msg)
	}
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{addr}, DialTimeout: 5 * time.Second,
		Settings: clickhouse.Settings{"max_execution_time": 60}})
	if err != nil {
		t.Fatal(err)
	}
	db = fmt.Sprintf("trunkline_test_e2e_%d_%08x", os.Getpid(), rand.Uint32())
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
	return addr, db, conn
}

// chCounts returns, over db.cdrs, the rows without and with FINAL, the
// distinct (call_id, attempt) keys, and the keys held by more than one row
// after FINAL. A table not created yet counts as empty.
func chCounts(t *testing.T, conn driver.Conn, db string) (raw, final, distinct, doubled uint64) {
	t.Helper()
	raw, final, distinct, doubled, err := chCount(conn, db)
	if err != nil {
		t.Fatal(err)
	}
	return raw, final, distinct, doubled
}

// chCount is chCounts for any goroutine: it returns the error.
func chCount(conn driver.Conn, db string) (raw, final, distinct, doubled uint64, err error) {
	q := fmt.Sprintf("SELECT (SELECT count() FROM %[1]s.cdrs), count(), uniqExact(call_id, attempt), "+
		"(SELECT count() FROM (SELECT call_id, attempt, count() AS c FROM %[1]s.cdrs FINAL GROUP BY call_id, attempt HAVING c > 1)) "+
		"FROM %[1]s.cdrs FINAL", db)
	if err := conn.QueryRow(context.Background(), q).Scan(&raw, &final, &distinct, &doubled); err != nil {
		if strings.Contains(err.Error(), "doesn't exist") {
			return 0, 0, 0, 0, nil
		}
		return 0, 0, 0, 0, fmt.Errorf("%s: %w", q, err)
	}
	return raw, final, distinct, doubled, nil
}

// chKeys returns every (call_id, attempt) of db.cdrs with its row count
// after FINAL.
func chKeys(t *testing.T, conn driver.Conn, db string) map[string]int {
	t.Helper()
	rows, err := conn.Query(context.Background(), fmt.Sprintf("SELECT call_id, attempt, count() FROM %s.cdrs FINAL GROUP BY call_id, attempt", db))
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var id string
		var attempt int32
		var n uint64
		if err := rows.Scan(&id, &attempt, &n); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprintf("%s/%d", id, attempt)] = int(n)
	}
	return out
}

// journalKeys returns every (call_id, attempt) in src with its count.
func journalKeys(t *testing.T, src cdr.Source) (map[string]int, []cdr.Record) {
	t.Helper()
	out := map[string]int{}
	var recs []cdr.Record
	err := cdr.Each(context.Background(), src, cdr.Query{}, func(r *cdr.Record) error {
		out[fmt.Sprintf("%s/%d", r.CallID, r.Attempt)]++
		recs = append(recs, *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out, recs
}

// waitUntil polls cond every 50 ms until it holds or d passes.
func waitUntil(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// placeCalls places n short calls through the switch at target with the
// given concurrency, stopping early when stop returns true: every fifth is
// answered and hung up at once, every fifth gets 486 from the carrier, the
// rest are refused as unrated (404). Each call writes one CDR. It returns
// how many calls got their final answer.
func placeCalls(ctx context.Context, customer *siptest.Customer, target string, n, workers int, stop func() bool) int {
	var next, done atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) || ctx.Err() != nil || stop != nil && stop() {
					return
				}
				cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
				// A call to a switch that died may wait out Timer B (32 s)
				// whatever its context says: leave it behind.
				res := make(chan error, 1)
				go func() { res <- oneCall(cctx, customer, target, i) }()
				var err error
				select {
				case err = <-res:
				case <-cctx.Done():
					err = cctx.Err()
				}
				cancel()
				if err == nil {
					done.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return int(done.Load())
}

// oneCall places call i of placeCalls.
func oneCall(ctx context.Context, customer *siptest.Customer, target string, i int64) error {
	switch i % 5 {
	case 0:
		call, err := customer.Dial(ctx, target, numAnswer)
		if err != nil {
			return err
		}
		return call.Hangup(ctx)
	case 1:
		_, err := customer.Dial(ctx, target, numBusy)
		if siptest.Status(err) == 486 {
			return nil
		}
		return err
	default:
		_, err := customer.Dial(ctx, target, fmt.Sprintf("%s%04d", numUnrated, i))
		if siptest.Status(err) == 404 {
			return nil
		}
		return err
	}
}

// tcpProxy forwards connections from a loopback port to target. Down
// closes the listener and every forwarded connection, a real outage for
// the client; Up listens on the same port again.
type tcpProxy struct {
	target string
	addr   string

	mu    sync.Mutex
	ln    net.Listener
	conns map[net.Conn]bool
}

func newTCPProxy(t *testing.T, target string) *tcpProxy {
	t.Helper()
	p := &tcpProxy{target: target, addr: "127.0.0.1:0", conns: map[net.Conn]bool{}}
	if err := p.Up(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Down)
	return p
}

// Up starts listening (on the port of the first Up after that).
func (p *tcpProxy) Up() error {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		return err
	}
	p.mu.Lock()
	p.ln, p.addr = ln, ln.Addr().String()
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go p.forward(c)
		}
	}()
	return nil
}

func (p *tcpProxy) track(c net.Conn, on bool) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if on && p.ln == nil {
		return false
	}
	if on {
		p.conns[c] = true
	} else {
		delete(p.conns, c)
	}
	return true
}

func (p *tcpProxy) forward(c net.Conn) {
	up, err := net.DialTimeout("tcp", p.target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !p.track(c, true) || !p.track(up, true) {
		c.Close()
		up.Close()
		return
	}
	defer func() {
		p.track(c, false)
		p.track(up, false)
	}()
	done := make(chan struct{}, 2)
	pipe := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, src)
		dst.Close()
		src.Close()
		done <- struct{}{}
	}
	go pipe(up, c)
	go pipe(c, up)
	<-done
	<-done
}

// Down closes the listener and every open connection.
func (p *tcpProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		_ = p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
	clear(p.conns)
}
