package main

import (
	"context"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"
	"github.com/trunkline/trunkline/sip/siptest"
	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// startCluster starts two nodes, A ("e2e") and B ("e2e-b"), on the test
// Redis under a prefix of the test's own; B uses A's admin token. With
// ghost, B's previous run left a lease that its start must free.
func startCluster(t *testing.T, ghost bool) (a, b *testSwitch) {
	t.Helper()
	rdb := storetest.Redis(t)
	url, prefix := "redis://"+storetest.RedisAddr(t)+"/0", storetest.RedisPrefix(t, rdb)
	yaml := fmt.Sprintf("store: %q\nstore_prefix: %q\n", url, prefix)
	a = startSwitchYAML(t, yaml) // first start: creates the admin token in Redis
	cfgB := testConfig(t, yaml)
	cfgB.Node = "e2e-b"
	var l *store.RedisLimits
	if ghost {
		// Node B's previous run died holding a channel: its start frees it.
		l = ghostLease(t, rdb, prefix, "e2e-b/ghost-call")
	}
	nb, err := start(context.Background(), cfgB, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nb.close)
	if l != nil {
		if n, err := l.Leases(context.Background(), "ghost-key"); n != 0 || err != nil {
			t.Errorf("node B started with its dead run's lease still held: %d, %v", n, err)
		}
	}
	if nb.Token != "" {
		t.Error("the second node made an admin token of its own")
	}
	return a, &testSwitch{node: nb, api: &apiClient{t: t, base: "http://" + nb.AdminAddr.String(), token: a.api.token}}
}

// A prepaid balance is one balance on both nodes: with balance for one
// second, a call through A holds all of it, B refuses the next with 402
// (not a second grant of the same money), A's call is cut when its second
// is up, and the balance ends at 0, never below.
func TestTwoNodesPrepaid(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t, false)
	carrier := siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	customer := provisionMoneyTo(t, a.api, carrier, "60", map[string]any{"credit_limit": "0"}) // 1.00 a second, 1/1
	pay(a.api, customer, "1.00")
	time.Sleep(2*configPoll + 500*time.Millisecond) // B follows the configuration version
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := ua.Dial(ctx, a.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ua.Dial(ctx, b.SIPAddr.String(), numAnswer); siptest.Status(err) != 402 {
		t.Fatalf("a call through B while A's call holds the whole balance: %v, want 402", err)
	}
	if err := first.WaitBye(ctx); err != nil {
		t.Fatalf("A's call was not cut when its paid second ended: %v", err)
	}
	waitUntil(t, 5*time.Second, "the charge", func() bool {
		st := money(t, b.api, customer) // read through B: the same ledger
		return len(st.Entries) == 2 && st.Reserved == 0
	})
	if st := money(t, b.api, customer); st.Balance != 0 || st.Available != 0 {
		t.Fatalf("after the only call the balance could pay: %+v, want 0", st)
	}
	if _, err := ua.Dial(ctx, b.SIPAddr.String(), numAnswer); siptest.Status(err) != 402 {
		t.Fatalf("a call through B with nothing left: %v, want 402", err)
	}
}

// Two nodes on one Redis are one switch: what is provisioned through one
// routes calls through the other within a second or two, the admin token
// works on both, a channel limit counts the calls of both, and a rate
// changed through A prices B's next call within a second.
func TestTwoNodesShareRedis(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t, true)

	// Provisioned through A, after both started.
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, a, carrierA, carrierB)
	a.api.do("PUT", "/api/v1/customers/"+customerID, map[string]any{"name": "Acme Telecom", "currency": "USD", "channel_limit": 2}, http.StatusOK, nil)
	var got struct {
		ID string `json:"id"`
	}
	b.api.do("GET", "/api/v1/customers/"+customerID, nil, http.StatusOK, &got) // A's token, B's API, A's customer
	if got.ID != customerID {
		t.Fatalf("node B reads customer %q, want %q", got.ID, customerID)
	}

	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	// Node B learns of the change from the configuration version, within
	// two polls. (Dialling it earlier would get 403s, and unknown sources
	// that fail get banned.)
	time.Sleep(2*configPoll + 500*time.Millisecond)
	onB, err := ua.Dial(ctx, b.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatalf("node B does not route the customer provisioned through A: %v", err)
	}
	onA, err := ua.Dial(ctx, a.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatalf("a second call, through A: %v", err)
	}
	// Both channels are held, one on each node: each node refuses a third.
	for _, sw := range []*testSwitch{a, b} {
		if _, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer); siptest.Status(err) != 503 {
			t.Fatalf("a third call through %s while each node holds one of the two channels: %v, want 503", sw.AdminAddr, err)
		}
	}
	if err := onB.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	// Freed on B, the channel serves a call through A.
	next, err := ua.Dial(ctx, a.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatalf("a call through A once B's call ended: %v", err)
	}
	for _, c := range []*siptest.Call{onA, next} {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}

	// A rate changed through A prices the next call through B within 1 s.
	var cards struct {
		RateCards []struct{ ID, Kind string } `json:"ratecards"`
	}
	a.api.do("GET", "/api/v1/ratecards", nil, http.StatusOK, &cards)
	for _, c := range cards.RateCards {
		if c.Kind == "customer" {
			a.api.do("PUT", "/api/v1/ratecards/"+c.ID+"/rates", []map[string]any{{"prefix": "44", "description": "United Kingdom", "rate": "0.0300"}}, http.StatusOK, nil)
		}
	}
	time.Sleep(time.Second)
	priced, err := ua.Dial(ctx, b.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if err := priced.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if rs := b.api.cdrs(priced.CallID, 1); len(rs) != 1 || rs[0].SellRate != 30_000 {
		t.Fatalf("the call through B a second after the change: %+v, want sell rate 0.0300", rs)
	}
}

// ghostLease takes a lease named lease on "ghost-key" in the Redis store
// under prefix, as a node's run that died would have left it.
func ghostLease(t *testing.T, rdb redis.UniversalClient, prefix, lease string) *store.RedisLimits {
	l := store.NewRedisLimits(rdb, prefix)
	if ok, err := l.Acquire(context.Background(), "ghost-key", lease, 5, time.Hour); !ok || err != nil {
		t.Fatalf("ghost lease: %v, %v", ok, err)
	}
	return l
}
