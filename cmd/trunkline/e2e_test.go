package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/sip/siptest"
)

// testSwitch is a node started on loopback port 0 with a fresh data
// directory, and a client for its admin API.
type testSwitch struct {
	*node
	api *apiClient
}

// startSwitch starts a switch; tweaks adjust its config before the start.
func startSwitch(t *testing.T, tweaks ...func(*Config)) *testSwitch {
	t.Helper()
	return startSwitchYAML(t, "", tweaks...)
}

// startSwitchYAML starts a node on loopback port 0 with a fresh data
// directory, from the test config plus extra YAML (top-level keys, e.g. a
// cdr: section), then tweaks. The node stops when the test ends.
func startSwitchYAML(t *testing.T, extra string, tweaks ...func(*Config)) *testSwitch {
	t.Helper()
	cfg := testConfig(t, extra)
	for _, tw := range tweaks {
		tw(cfg)
	}
	n, err := start(context.Background(), cfg, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(n.close)
	if n.Token == "" {
		t.Fatal("first start printed no admin token")
	}
	return &testSwitch{node: n, api: &apiClient{t: t, base: "http://" + n.AdminAddr.String(), token: n.Token}}
}

// testConfig is the config of a test node: loopback port 0, a fresh data
// directory, short timeouts, then extra YAML (top-level keys).
func testConfig(t *testing.T, extra string) *Config {
	t.Helper()
	cfg, err := ParseConfig([]byte(`
data: ` + t.TempDir() + `
node: e2e
sip:
  listen: 127.0.0.1:0
  invite_timeout: 2s
  ring_timeout: 10s
admin:
  listen: 127.0.0.1:0
log:
  level: warn
` + extra))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(extra, "clickhouse:") {
		// The test's config decides, not TRUNKLINE_CLICKHOUSE (read
		// here rather than unset: tests that run in parallel cannot).
		cfg.CDR.ClickHouse = ""
	}
	if !strings.Contains(extra, "health:") {
		// Test carriers need not answer OPTIONS: probing is for the
		// tests that ask for it.
		off := false
		cfg.Health.Enabled = &off
	}
	return cfg
}

// e2e numbers: the carrier scripts key on them.
const (
	numAnswer   = "442071234567"
	numBusy     = "442079990486"
	numHold     = "442079990000"
	numFailover = "442075030503" // carrier A answers 503, carrier B answers
	numUnrated  = "99912345"
)

// provision sets up one customer on 127.0.0.2 with a card selling 44 at
// 0.0200/min, and two carriers: A buying 44 at 0.0050, B at 0.0080.
// sipEndpoint is a carrier as provisioning needs it: where it listens.
type sipEndpoint interface {
	Host() string
	Port() int
}

func provision(t *testing.T, sw *testSwitch, carrierA, carrierB sipEndpoint) (customerID, cardA, cardB string) {
	api := sw.api
	customerID = api.create("/api/v1/customers", map[string]any{"name": "Acme Telecom", "currency": "USD"})
	api.create("/api/v1/customers/"+customerID+"/ips", map[string]any{"cidr": "127.0.0.2"})
	ids := make([]string, 2)
	for i, c := range []sipEndpoint{carrierA, carrierB} {
		id := api.create("/api/v1/carriers", map[string]any{"name": "Carrier " + string(rune('A'+i)), "currency": "USD"})
		api.create("/api/v1/carriers/"+id+"/endpoints", map[string]any{"host": c.Host(), "port": c.Port(), "transport": "udp"})
		ids[i] = id
	}
	cardA = api.create("/api/v1/ratecards", map[string]any{"name": "A buy", "kind": "provider", "carrier_id": ids[0], "currency": "USD", "precision": 4})
	cardB = api.create("/api/v1/ratecards", map[string]any{"name": "B buy", "kind": "provider", "carrier_id": ids[1], "currency": "USD", "precision": 4})
	sell := api.create("/api/v1/ratecards", map[string]any{"name": "Acme sell", "kind": "customer", "provider_cards": []string{cardA, cardB}, "currency": "USD", "precision": 4})
	api.do("PUT", "/api/v1/ratecards/"+cardA+"/rates", []map[string]any{{"prefix": "44", "description": "UK", "rate": "0.0050"}}, http.StatusOK, nil)
	api.do("PUT", "/api/v1/ratecards/"+cardB+"/rates", []map[string]any{{"prefix": "44", "description": "UK", "rate": "0.0080"}}, http.StatusOK, nil)
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{
		{"prefix": "44", "description": "United Kingdom", "rate": "0.0200"},
		{"prefix": "4420", "description": "UK London", "rate": "0.0150", "connection_fee": "0.0100"},
	}, http.StatusOK, nil)
	api.create("/api/v1/customers/"+customerID+"/routes", map[string]any{"prefix": "", "card_id": sell})
	return customerID, ids[0], ids[1]
}

func scriptFor(failover int) func(req *sip.Request) siptest.Script {
	return func(req *sip.Request) siptest.Script {
		switch req.Recipient.User {
		case numBusy:
			return siptest.Script{Ring: true, Code: 486}
		case numHold:
			return siptest.Script{Hold: true}
		case numFailover:
			return siptest.Script{Code: failover}
		}
		return siptest.Script{Ring: true}
	}
}

func TestEndToEndCalls(t *testing.T) {
	sw := startSwitch(t)
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, carrierAID, carrierBID := provision(t, sw, carrierA, carrierB)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	target := sw.SIPAddr.String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	checkAnswered := func(t *testing.T, r cdr.Record, side string) {
		t.Helper()
		if !r.Final || r.Attempt != 1 || r.CustomerID != customerID || r.CarrierID != carrierAID || r.AuthMethod != "ip" {
			t.Errorf("CDR identity: %+v", r)
		}
		if r.SIPCode != 200 || r.HangupSide != side || r.Callee != numAnswer || r.SourceIP != "127.0.0.2" {
			t.Errorf("CDR outcome: code %d side %q callee %q source %q", r.SIPCode, r.HangupSide, r.Callee, r.SourceIP)
		}
		if r.Prefix != "4420" || r.Description != "UK London" || r.Currency != "USD" {
			t.Errorf("CDR rate: prefix %q %q %q", r.Prefix, r.Description, r.Currency)
		}
		if r.AnswerMs < r.SetupMs || r.EndMs < r.AnswerMs || r.PDDMs < 0 || r.PDDMs > r.AnswerMs-r.SetupMs {
			t.Errorf("CDR times: setup %d answer %d end %d pdd %d", r.SetupMs, r.AnswerMs, r.EndMs, r.PDDMs)
		}
		// 60/60 billing: any call of 1..60 s bills 60 s.
		// sell = 0.0100 fee + 60 × 0.0150 / 60; buy = 60 × 0.0050 / 60.
		if r.Duration < 1 || r.Duration > 3 || r.Billed != 60 {
			t.Errorf("CDR duration %d billed %d, want 1..3 and 60", r.Duration, r.Billed)
		}
		want := func(s string) rating.Money { m, _ := rating.ParseMoney(s); return m }
		if r.SellRate != want("0.015") || r.SellCost != want("0.025") || r.BuyRate != want("0.005") ||
			r.BuyCost != want("0.005") || r.Margin != want("0.02") {
			t.Errorf("CDR money: sell %s/%s buy %s/%s margin %s", r.SellRate, r.SellCost, r.BuyRate, r.BuyCost, r.Margin)
		}
		if r.Trace == "" {
			t.Error("CDR has no rating trace")
		}
	}

	t.Run("answered, customer hangs up", func(t *testing.T) {
		seen := len(carrierA.Invites())
		call, err := customer.Dial(ctx, target, numAnswer)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if !contains(call.Responses, 180) {
			t.Errorf("180 not relayed: %v", call.Responses)
		}
		inv := newInvite(t, carrierA, seen)
		id := inv.CallID().Value()
		time.Sleep(1100 * time.Millisecond)
		if err := call.Hangup(ctx); err != nil {
			t.Fatalf("hangup: %v", err)
		}
		if err := carrierA.WaitBye(ctx, id); err != nil {
			t.Fatalf("carrier got no BYE: %v", err)
		}
		rs := sw.api.cdrs(id, 1)
		if len(rs) != 1 {
			t.Fatalf("want 1 CDR, got %d", len(rs))
		}
		checkAnswered(t, rs[0], "customer")
		// The carrier saw the normalised number on a leg of the switch's
		// own: its Call-ID, no Record-Route, Max-Forwards one less.
		if inv.Recipient.User != numAnswer || inv.RecordRoute() != nil || id == call.CallID {
			t.Fatalf("carrier INVITE: %v", inv)
		}
		if mf := inv.MaxForwards(); mf == nil || mf.Val() != 69 {
			t.Errorf("Max-Forwards not decremented: %v", mf)
		}
	})

	t.Run("answered, carrier hangs up", func(t *testing.T) {
		seen := len(carrierA.Invites())
		call, err := customer.Dial(ctx, target, numAnswer)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		id := newInvite(t, carrierA, seen).CallID().Value()
		time.Sleep(1100 * time.Millisecond)
		if err := carrierA.Bye(ctx, id); err != nil {
			t.Fatalf("carrier BYE: %v", err)
		}
		if err := call.WaitBye(ctx); err != nil {
			t.Fatalf("customer got no BYE: %v", err)
		}
		rs := sw.api.cdrs(id, 1)
		if len(rs) != 1 {
			t.Fatalf("want 1 CDR, got %d", len(rs))
		}
		checkAnswered(t, rs[0], "carrier")
	})

	t.Run("unknown source IP is refused", func(t *testing.T) {
		seen := len(carrierA.Invites()) + len(carrierB.Invites())
		stranger := siptest.NewCustomer(t, "127.0.0.3")
		call, err := stranger.Dial(ctx, target, numAnswer)
		if code := siptest.Status(err); code != 403 {
			t.Fatalf("got %v (code %d), want 403", err, code)
		}
		if rs := sw.api.cdrs(call.CallID, 0); len(rs) != 0 {
			t.Fatalf("unauthenticated call wrote CDRs: %+v", rs)
		}
		if n := len(carrierA.Invites()) + len(carrierB.Invites()); n != seen {
			t.Fatal("unauthenticated call reached a carrier")
		}
	})

	t.Run("unrated number is refused with 404", func(t *testing.T) {
		call, err := customer.Dial(ctx, target, numUnrated)
		if code := siptest.Status(err); code != 404 {
			t.Fatalf("got %v (code %d), want 404", err, code)
		}
		rs := sw.api.cdrs(call.CallID, 1)
		if len(rs) != 1 || rs[0].SIPCode != 404 || rs[0].CarrierID != "" || !rs[0].Final || rs[0].SellCost != 0 {
			t.Fatalf("CDRs: %+v", rs)
		}
		if !strings.Contains(rs[0].Reason, "Rate") {
			t.Errorf("reason %q does not say why", rs[0].Reason)
		}
	})

	t.Run("CANCEL before answer", func(t *testing.T) {
		dialCtx, hangup := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := customer.Dial(dialCtx, target, numHold)
			done <- err
		}()
		waitInvite(t, carrierA, numHold)
		time.Sleep(200 * time.Millisecond) // let the 180 reach the customer
		hangup()
		if err := <-done; err == nil {
			t.Fatal("cancelled call was answered")
		}
		inv := waitInvite(t, carrierA, numHold)
		if err := carrierA.WaitCancel(ctx, inv.CallID().Value()); err != nil {
			t.Fatalf("carrier saw no CANCEL: %v", err)
		}
		rs := sw.api.cdrs(inv.CallID().Value(), 1)
		if len(rs) != 1 || rs[0].SIPCode != 487 || rs[0].HangupSide != "customer" || rs[0].Duration != 0 || rs[0].SellCost != 0 {
			t.Fatalf("CDRs: %+v", rs)
		}
	})

	t.Run("carrier 486 is relayed", func(t *testing.T) {
		seen, seenB := len(carrierA.Invites()), len(carrierB.Invites())
		_, err := customer.Dial(ctx, target, numBusy)
		if code := siptest.Status(err); code != 486 {
			t.Fatalf("got %v (code %d), want 486", err, code)
		}
		rs := sw.api.cdrs(newInvite(t, carrierA, seen).CallID().Value(), 1)
		if len(rs) != 1 || rs[0].SIPCode != 486 || rs[0].CarrierID != carrierAID || rs[0].HangupSide != "carrier" {
			t.Fatalf("CDRs: %+v", rs)
		}
		if len(carrierB.Invites()) != seenB {
			t.Fatal("486 is final but the call went to the next carrier")
		}
	})

	t.Run("503 fails over to the next carrier", func(t *testing.T) {
		seen := len(carrierA.Invites())
		call, err := customer.Dial(ctx, target, numFailover)
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		rs := sw.api.cdrs(newInvite(t, carrierA, seen).CallID().Value(), 2)
		if len(rs) != 2 {
			t.Fatalf("want 2 CDRs, got %+v", rs)
		}
		if rs[0].Attempt != 1 || rs[0].Final || rs[0].SIPCode != 503 || rs[0].CarrierID != carrierAID {
			t.Errorf("attempt 1: %+v", rs[0])
		}
		if rs[1].Attempt != 2 || !rs[1].Final || rs[1].SIPCode != 200 || rs[1].CarrierID != carrierBID {
			t.Errorf("attempt 2: %+v", rs[1])
		}
		want, _ := rating.ParseMoney("0.008")
		if rs[1].BuyRate != want || rs[1].BuyCost != want {
			t.Errorf("attempt 2 buy: %s / %s", rs[1].BuyRate, rs[1].BuyCost)
		}
	})

	if n := sw.sip.ActiveCalls(); n != 0 {
		t.Errorf("%d calls left in the table", n)
	}
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

// newInvite returns the first INVITE the carrier got after the first seen.
func newInvite(t *testing.T, c *siptest.Carrier, seen int) *sip.Request {
	t.Helper()
	invs := c.Invites()
	if len(invs) <= seen {
		t.Fatalf("the carrier got no new INVITE (%d)", len(invs))
	}
	return invs[seen]
}

func waitInvite(t *testing.T, c *siptest.Carrier, number string) *sip.Request {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		for _, r := range c.Invites() {
			if r.Recipient.User == number {
				return r
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("carrier got no INVITE for %s", number)
	return nil
}

// testLogger discards logs unless TRUNKLINE_TEST_LOG=debug asks for them.
func testLogger() *slog.Logger {
	if os.Getenv("TRUNKLINE_TEST_LOG") == "debug" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.NewTextHandler(io.Discard, nil))
}

// anotherCustomer creates a customer named name calling from cidr and
// routed to the card of like's first route.
func anotherCustomer(api *apiClient, like, name, cidr string) string {
	var routes struct {
		Routes []struct {
			CardID string `json:"card_id"`
		} `json:"routes"`
	}
	api.do("GET", "/api/v1/customers/"+like+"/routes", nil, http.StatusOK, &routes)
	id := api.create("/api/v1/customers", map[string]any{"name": name, "currency": "USD"})
	api.create("/api/v1/customers/"+id+"/ips", map[string]any{"cidr": cidr})
	api.create("/api/v1/customers/"+id+"/routes", map[string]any{"prefix": "", "card_id": routes.Routes[0].CardID})
	return id
}
