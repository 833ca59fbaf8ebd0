package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/sip/siptest"
	"github.com/trunkline/trunkline/store/storetest"
)

// Two switch processes on one Redis and one ClickHouse: a customer with 10 channels gets
// exactly 10 calls spread over both; SIGKILL of node A frees its channels
// and its credit holds within their TTLs (10 s here) while B's calls go on;
// A restarted on its data directory writes and charges the CDRs of the
// calls it had up, and the ledger ends at the payment less every CDR's
// price; ClickHouse holds both nodes' CDRs, each once.
func TestSIGKILLNodeOnRedis(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	rdb := storetest.Redis(t)
	url, prefix := "redis://"+storetest.RedisAddr(t)+"/0", storetest.RedisPrefix(t, rdb)
	chAddr, db, conn := testClickHouseDB(t)
	bin, dir := testBinary(t), t.TempDir()
	config := func(name string) string {
		cfg := filepath.Join(dir, name+".yaml")
		yaml := fmt.Sprintf(`data: %s
node: %s
store: %q
store_prefix: %q
sip:
  listen: 127.0.0.1:0
  invite_timeout: 2s
  ring_timeout: 5s
admin:
  listen: 127.0.0.1:0
limits:
  lease_ttl: 10s
credit:
  hold_ttl: 10s
  block_seconds: 300
health:
  enabled: false
cdr:
  clickhouse: clickhouse://%s/%s
  batch_interval: 50ms
log:
  level: info
`, filepath.Join(dir, name), name, url, prefix, chAddr, db)
		if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
			t.Fatal(err)
		}
		return cfg
	}
	cfgA, cfgB := config("kill-a"), config("kill-b")
	a := startProc(t, bin, cfgA)
	if a.token == "" {
		t.Fatal("the first node printed no admin token")
	}
	b := startProc(t, bin, cfgB)
	apiA := &apiClient{t: t, base: "http://" + a.admin, token: a.token}
	apiB := &apiClient{t: t, base: "http://" + b.admin, token: a.token}

	carrier := siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	customer := provisionMoneyTo(t, apiA, carrier, "0.6", map[string]any{"credit_limit": "0", "channel_limit": 10}) // 0.01 a second
	pay(apiA, customer, "100.00")
	time.Sleep(2*configPoll + 500*time.Millisecond) // B follows the configuration version
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	dial := func(p *proc) (*siptest.Call, error) { return ua.Dial(ctx, p.sip, numAnswer) }

	// 6 calls through A, 4 through B: the limit is reached on both.
	var onA, onB []*siptest.Call
	for i := range 10 {
		p, calls := a, &onA
		if i >= 6 {
			p, calls = b, &onB
		}
		c, err := dial(p)
		if err != nil {
			t.Fatalf("call %d of 10: %v", i+1, err)
		}
		*calls = append(*calls, c)
	}
	for _, p := range []*proc{a, b} {
		if _, err := dial(p); siptest.Status(err) != 503 {
			t.Fatalf("an 11th call through %s: %v, want 503", p.sip, err)
		}
	}
	// Each call holds its first second, then a block of 300 s more.
	var held rating.Money
	waitUntil(t, 10*time.Second, "every call to reserve its first block", func() bool {
		held = money(t, apiB, customer).Reserved
		return held >= 10*mustMoney(t, "3.00")
	})
	if held%10 != 0 {
		t.Fatalf("10 like calls up and %s reserved", held)
	}

	// SIGKILL A with its 6 calls up for two of its register's heartbeats
	// (a crash loses at most the time since the last one).
	time.Sleep(2 * time.Second)
	a.kill(t)
	killed := time.Now()
	// Its channels come back within the lease TTL (and the refresh that
	// would have followed): B takes 6 more calls.
	var more []*siptest.Call
	for len(more) < 6 {
		if time.Since(killed) > 10*time.Second+5*time.Second {
			t.Fatalf("%d of A's 6 channels free %s after its SIGKILL", len(more), time.Since(killed).Round(time.Second))
		}
		c, err := dial(b)
		if err == nil {
			more = append(more, c)
			continue
		}
		if siptest.Status(err) != 503 {
			t.Fatalf("a call through B after A died: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Logf("A's channels free %s after its SIGKILL", time.Since(killed).Round(100*time.Millisecond))
	if _, err := dial(b); siptest.Status(err) != 503 {
		t.Fatalf("an 11th call once A's channels were retaken: %v, want 503", err)
	}
	for _, c := range more {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// A's holds expire within the hold TTL: only B's 4 calls hold credit.
	// (Each call holds one 300 s block, never extended in this test.)
	waitUntil(t, 20*time.Second, "A's credit holds to expire", func() bool {
		return money(t, apiB, customer).Reserved == held/10*4
	})

	// A restarts on its data directory: the 6 calls it had up get CDRs and
	// are charged; it takes calls again.
	a2 := startProc(t, bin, cfgA)
	apiA.base = "http://" + a2.admin
	for _, c := range onA {
		rs := apiA.cdrs(c.CallID, 1)
		if len(rs) != 1 || rs[0].AnswerMs == 0 || rs[0].SellCost <= 0 {
			t.Fatalf("after A's restart, CDRs of call %s it had up: %+v", c.CallID, rs)
		}
	}
	for _, c := range onB {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// Every CDR is charged once: the ledger ends at the payment less the
	// price of every call, nothing held. The CDRs are read from ClickHouse,
	// where both nodes ship theirs.
	waitUntil(t, 10*time.Second, "every charge", func() bool {
		st := money(t, apiB, customer)
		return st.Reserved == 0 && len(st.Entries) == 1+6+4+6
	})
	var want rating.Money
	waitUntil(t, 10*time.Second, "both nodes' answered CDRs in ClickHouse", func() bool {
		var answered int
		answered, want = answeredCDRs(apiB, "")
		return answered == 6+4+6
	})
	if _, final, distinct, doubled := chCounts(t, conn, db); final != distinct || doubled != 0 {
		t.Fatalf("ClickHouse: %d CDRs, %d distinct, %d doubled", final, distinct, doubled)
	}
	paid := mustMoney(t, "100.00")
	if st := money(t, apiB, customer); st.Balance != paid-want {
		var kinds []string
		for _, e := range st.Entries {
			kinds = append(kinds, e.Kind+" "+e.Amount)
		}
		t.Fatalf("balance %s, want 100.00 less the CDRs' %s; ledger %s", st.Balance, want, strings.Join(kinds, ", "))
	}
}
