package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"
	"github.com/trunkline/trunkline/cdr"
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
	// Freed on B, the channel serves a call through A. (B answers the
	// BYE before it releases the lease: a 503 is possible for a moment.)
	var next *siptest.Call
	for deadline := time.Now().Add(2 * time.Second); ; {
		next, err = ua.Dial(ctx, a.SIPAddr.String(), numAnswer)
		if err == nil {
			break
		}
		if siptest.Status(err) != 503 || time.Now().After(deadline) {
			t.Fatalf("a call through A once B's call ended: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
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

// A ban is the cluster's: a source banned for wrong passwords on A is
// dropped by B within a second, B lists it, and lifting it through B lets
// the source call through A again.
func TestTwoNodesShareBans(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t, false)
	carrier := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, a, carrier, carrier)
	a.api.create("/api/v1/customers/"+customerID+"/sip-users", map[string]any{"username": "alice", "password": "correct horse battery"})
	time.Sleep(2*configPoll + 500*time.Millisecond) // B follows the configuration version
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	attacker := siptest.NewCustomer(t, "127.0.0.7")
	for i := range 5 {
		if _, err := attacker.DialAuth(ctx, a.SIPAddr.String(), numAnswer, "alice", "guess"); siptest.Status(err) != 403 {
			t.Fatalf("wrong password %d through A: %v, want 403", i+1, err)
		}
	}
	// B drops the source's requests unanswered, and answers another's.
	options := func(p *rawPeer, to net.Addr, branch string) bool {
		p.send(to, "OPTIONS sip:"+to.String()+" SIP/2.0\r\nVia: SIP/2.0/UDP "+p.addr()+";branch=z9hG4bK"+branch+"\r\n"+
			"From: <sip:probe@"+p.Host()+">;tag=1\r\nTo: <sip:"+to.String()+">\r\nCall-ID: "+branch+"\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
		_, ok := p.next("SIP/2.0 200", time.Second)
		return ok
	}
	banned, other := newRawPeer(t, "127.0.0.7", nil), newRawPeer(t, "127.0.0.8", nil)
	deadline := time.Now().Add(1500 * time.Millisecond)
	for i := 0; options(banned, b.SIPAddr, fmt.Sprint("ban", i)); i++ {
		if time.Now().After(deadline) {
			t.Fatal("B still answers the source banned on A 1.5 s later")
		}
		time.Sleep(200 * time.Millisecond) // below the flood limit
	}
	if !options(other, b.SIPAddr, "other") {
		t.Fatal("B does not answer a source nobody banned")
	}
	var bans struct {
		Bans []struct {
			IP string `json:"ip"`
		} `json:"bans"`
	}
	b.api.do("GET", "/api/v1/bans", nil, http.StatusOK, &bans)
	if len(bans.Bans) != 1 || bans.Bans[0].IP != "127.0.0.7" {
		t.Fatalf("B lists bans %+v", bans)
	}
	b.api.do("DELETE", "/api/v1/bans/127.0.0.7", nil, http.StatusNoContent, nil)
	time.Sleep(time.Second) // A reads the lift
	if !options(banned, a.SIPAddr, "lifted") {
		t.Fatal("A does not answer the source whose ban was lifted through B")
	}
	call, err := siptest.NewCustomer(t, "127.0.0.7").DialAuth(ctx, a.SIPAddr.String(), numAnswer, "alice", "correct horse battery")
	if err != nil {
		t.Fatalf("A after the ban was lifted through B: %v", err)
	}
	_ = call.Hangup(ctx)
}

// GET /api/v1/nodes lists the live nodes with the configuration version
// each runs; a write with ?wait= answers once every live node runs it, or
// when the wait is over naming the nodes that do not; a node that stops
// drops off the list.
func TestClusterNodes(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t, false)
	type nodes struct {
		Nodes []store.NodeState `json:"nodes"`
	}
	list := func(sw *testSwitch) []store.NodeState {
		var ns nodes
		sw.api.do("GET", "/api/v1/nodes", nil, http.StatusOK, &ns)
		return ns.Nodes
	}
	waitUntil(t, 5*time.Second, "both nodes on the list", func() bool {
		ns := list(b)
		return len(ns) == 2 && ns[0].ID == "e2e" && ns[1].ID == "e2e-b" && ns[0].Health == "ready" && ns[1].Health == "ready"
	})

	// A write through A with ?wait=true answers once B runs it too.
	carrier := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, a, carrier, carrier)
	put := func(query string, body map[string]any, want int) http.Header {
		t.Helper()
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("PUT", a.api.base+"/api/v1/customers/"+customerID+query, bytes.NewReader(b))
		req.Header.Set("Authorization", "Bearer "+a.api.token)
		req.Header.Set("Content-Type", "application/json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != want {
			t.Fatalf("PUT %s: %d, want %d", query, res.StatusCode, want)
		}
		return res.Header
	}
	if h := put("?wait=true", map[string]any{"name": "Acme", "currency": "USD", "channel_limit": 3}, http.StatusOK); h.Get("Trunkline-Config-Applied") != "true" {
		t.Fatalf("a write with ?wait=true: headers %v", h)
	}
	v, err := a.node.store.(*store.Redis).ConfigVersion(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range list(a) {
		if n.ConfigVersion != v {
			t.Fatalf("after a write with ?wait=true node %s runs version %d, want %d", n.ID, n.ConfigVersion, v)
		}
	}
	put("?wait=soon", map[string]any{"name": "Changed", "currency": "USD"}, http.StatusBadRequest)
	var c struct {
		Name string `json:"name"`
	}
	a.api.do("GET", "/api/v1/customers/"+customerID, nil, http.StatusOK, &c)
	if c.Name != "Acme" {
		t.Fatalf("a write refused for its ?wait= was made: name %q", c.Name)
	}

	// A live node that does not follow: the write is answered when the
	// wait is over, saying which node does not run it.
	stuck := store.NodeState{ID: "stuck", ConfigVersion: 1, Health: "ready", Heartbeat: time.Now()}
	if err := a.node.store.(*store.Redis).Beat(context.Background(), stuck); err != nil {
		t.Fatal(err)
	}
	h := put("?wait=300ms", map[string]any{"name": "Acme", "currency": "USD"}, http.StatusOK)
	if h.Get("Trunkline-Config-Applied") != "false" || !strings.Contains(h.Get("Trunkline-Nodes-Behind"), "stuck") || strings.Contains(h.Get("Trunkline-Nodes-Behind"), "e2e") {
		t.Fatalf("a write some node does not run: headers %v", h)
	}

	// B stops: it leaves the list once its beats are old.
	b.node.close()
	waitUntil(t, liveWindow+2*time.Second, "B off the list", func() bool {
		for _, n := range list(a) {
			if n.ID == "e2e-b" {
				return false
			}
		}
		return true
	})
}

// A node on the embedded store is alone: it lists itself.
func TestNodesEmbedded(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	var ns struct {
		Nodes []store.NodeState `json:"nodes"`
	}
	sw.api.do("GET", "/api/v1/nodes", nil, http.StatusOK, &ns)
	if len(ns.Nodes) != 1 || ns.Nodes[0].ID != "e2e" || ns.Nodes[0].Health != "ready" || ns.Nodes[0].SIP != sw.SIPAddr.String() {
		t.Fatalf("nodes %+v", ns.Nodes)
	}
	sw.api.do("PUT", "/api/v1/carriers/none?wait=true", map[string]any{"name": "x"}, http.StatusNotFound, nil)
}

// Calls in progress are listed and hung up through any node: A's API
// lists the call B carries (with B's node id) and A's own, a customer's
// token on A sees its call on B, and A hangs up B's call (BYE on both
// legs, CDR on B with the admin as the side).
func TestTwoNodesLiveCalls(t *testing.T) {
	t.Parallel()
	a, b := startCluster(t, false)
	carrier := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	spare := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, a, carrier, spare)
	portal := &apiClient{t: t, base: a.api.base, token: customerToken(t, a.api, customerID)}
	time.Sleep(2*configPoll + 500*time.Millisecond) // B follows the configuration version
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	onB, err := ua.Dial(ctx, b.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	onA, err := ua.Dial(ctx, a.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	nodeOf := map[string]string{} // customer Call-ID → node
	for _, c := range a.api.liveCalls("") {
		nodeOf[c.SIPCallID] = c.Node
	}
	if len(nodeOf) != 2 || nodeOf[onB.CallID] != "e2e-b" || nodeOf[onA.CallID] != "e2e" {
		t.Fatalf("A lists calls on nodes %v, want B's call on e2e-b and A's on e2e", nodeOf)
	}
	var bCall cdr.ActiveCall
	for _, c := range portal.liveCalls("") {
		if c.SIPCallID == onB.CallID {
			bCall = c
		}
	}
	if bCall.ID == "" || bCall.CustomerID != customerID || bCall.State != "answered" {
		t.Fatalf("the customer's token on A lists B's call as %+v", bCall)
	}
	if got := a.api.liveCalls("?limit=1"); len(got) != 1 || got[0].SIPCallID != onA.CallID {
		t.Fatalf("?limit=1 through A lists %+v, want the newest call (A's)", got)
	}
	portal.do("DELETE", "/api/v1/calls/"+bCall.ID, nil, http.StatusNoContent, nil)
	if err := onB.WaitBye(ctx); err != nil {
		t.Fatalf("B's call hung up through A: the customer got no BYE: %v", err)
	}
	if err := carrier.WaitBye(ctx, bCall.ID); err != nil {
		t.Fatalf("B's call hung up through A: the carrier got no BYE: %v", err)
	}
	if rs := b.api.cdrs(bCall.ID, 1); len(rs) != 1 || rs[0].HangupSide != "admin" || rs[0].Reason != "Admin Hangup" {
		t.Fatalf("B's CDRs of the call hung up through A: %+v", rs)
	}
	a.api.do("DELETE", "/api/v1/calls/"+bCall.ID, nil, http.StatusNotFound, nil)
	if err := onA.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// A node does not start under the id of a node that is alive (they would
// free each other's channels); it does start beside the last beat of its
// own dead run, or of a run of an older build that did not say its
// instance.
func TestNodeIDInUse(t *testing.T) {
	t.Parallel()
	rdb := storetest.Redis(t)
	url, prefix := "redis://"+storetest.RedisAddr(t)+"/0", storetest.RedisPrefix(t, rdb)
	board := store.NewRedis(rdb, prefix)
	for _, tt := range []struct {
		name  string
		other store.NodeState
		alive bool
	}{
		{"a live twin elsewhere", store.NodeState{Host: "elsewhere", PID: 1, Instance: "twin"}, true},
		{"a live twin here", store.NodeState{Host: hostname(), PID: os.Getpid(), Instance: "twin"}, true},
		{"its own dead run", store.NodeState{Host: hostname(), PID: 1, Instance: "dead"}, false},
		{"an older build's dead run", store.NodeState{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			tt.other.ID = "node-" + strings.ReplaceAll(tt.name, " ", "-")
			beat := func() {
				tt.other.Heartbeat = time.Now()
				if err := board.Beat(ctx, tt.other); err != nil && ctx.Err() == nil {
					t.Error(err)
				}
			}
			beat()
			if tt.alive {
				go func() {
					for ctx.Err() == nil {
						time.Sleep(300 * time.Millisecond)
						beat()
					}
				}()
			}
			cfg := testConfig(t, fmt.Sprintf("store: %q\nstore_prefix: %q\n", url, prefix))
			cfg.Node = tt.other.ID
			n, err := start(context.Background(), cfg, testLogger())
			if err == nil {
				n.close()
			}
			if tt.alive != (err != nil) || (err != nil && !strings.Contains(err.Error(), "is in use by a live node")) {
				t.Fatalf("start beside %+v (alive %v): %v", tt.other, tt.alive, err)
			}
		})
	}
}
