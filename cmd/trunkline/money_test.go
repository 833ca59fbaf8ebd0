package main

import (
	"context"
	"net/http"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip/siptest"
)

// moneySetup is a switch with one customer on 127.0.0.2 whose card sells
// 44 at sellRate per minute billed 1/1, one carrier buying it for less that
// answers every call and never hangs up, and the customer's money settings.
type moneySetup struct {
	sw       *testSwitch
	customer string
	carrier  *siptest.Carrier
	ua       *siptest.Customer
}

func newMoneySetup(t *testing.T, sellRate string, settings map[string]any) *moneySetup {
	t.Helper()
	sw := startSwitch(t)
	return provisionMoney(t, sw.api, sw, sellRate, settings)
}

// provisionMoney provisions a money setup through api (sw may be nil when
// the switch is a process) with a siptest carrier.
func provisionMoney(t *testing.T, api *apiClient, sw *testSwitch, sellRate string, settings map[string]any) *moneySetup {
	t.Helper()
	m := &moneySetup{sw: sw}
	m.carrier = siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	m.customer = provisionMoneyTo(t, api, m.carrier, sellRate, settings)
	m.ua = siptest.NewCustomer(t, "127.0.0.2")
	return m
}

// udpEndpoint is a carrier at a fixed address (a sipp UAS).
type udpEndpoint struct {
	host string
	port int
}

func (e udpEndpoint) Host() string { return e.host }
func (e udpEndpoint) Port() int    { return e.port }

// provisionMoneyTo provisions the customer of a money setup, with its
// settings, and a carrier at carrier; it returns the customer's id.
func provisionMoneyTo(t *testing.T, api *apiClient, carrierAt sipEndpoint, sellRate string, settings map[string]any) string {
	t.Helper()
	cust := map[string]any{"name": "Prepaid Ltd", "currency": "USD"}
	for k, v := range settings {
		cust[k] = v
	}
	customer := api.create("/api/v1/customers", cust)
	api.create("/api/v1/customers/"+customer+"/ips", map[string]any{"cidr": "127.0.0.2"})
	carrier := api.create("/api/v1/carriers", map[string]any{"name": "Carrier", "currency": "USD"})
	api.create("/api/v1/carriers/"+carrier+"/endpoints", map[string]any{"host": carrierAt.Host(), "port": carrierAt.Port(), "transport": "udp"})
	buy := api.create("/api/v1/ratecards", map[string]any{"name": "buy", "kind": "provider", "carrier_id": carrier, "currency": "USD", "precision": 6})
	sell := api.create("/api/v1/ratecards", map[string]any{"name": "sell", "kind": "customer", "provider_cards": []string{buy}, "currency": "USD", "precision": 6})
	api.do("PUT", "/api/v1/ratecards/"+buy+"/rates", []map[string]any{{"prefix": "44", "rate": "0.0001", "initial_increment": 1, "subsequent_increment": 1}}, http.StatusOK, nil)
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{{"prefix": "44", "rate": sellRate, "initial_increment": 1, "subsequent_increment": 1}}, http.StatusOK, nil)
	api.create("/api/v1/customers/"+customer+"/routes", map[string]any{"prefix": "", "card_id": sell})
	return customer
}

// pay records a completed payment of total (no tax).
func pay(api *apiClient, customer, total string) {
	api.do("POST", "/api/v1/customers/"+customer+"/payments", map[string]any{"total": total, "status": "completed"}, http.StatusCreated, nil)
}

// moneyState is a customer's balance and ledger as the API shows them.
type moneyState struct {
	Balance, Available, Reserved rating.Money
	Entries                      []ledgerEntry
}

type ledgerEntry struct {
	Seq     uint64 `json:"seq"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Amount  string `json:"amount"`
	Balance string `json:"balance"`
}

// money reads a customer's balance and ledger; the ledger must sum to the
// balance (read again while charges land between the two reads).
func money(t *testing.T, api *apiClient, customer string) moneyState {
	t.Helper()
	for try := 0; ; try++ {
		var c struct {
			Balance, Available, Reserved string
		}
		api.do("GET", "/api/v1/customers/"+customer, nil, http.StatusOK, &c)
		var l struct {
			Entries []ledgerEntry `json:"entries"`
		}
		api.do("GET", "/api/v1/customers/"+customer+"/ledger?limit=1000", nil, http.StatusOK, &l)
		st := moneyState{Balance: mustMoney(t, c.Balance), Available: mustMoney(t, c.Available), Reserved: mustMoney(t, c.Reserved), Entries: l.Entries}
		// Each running balance is the sum of the entries up to it.
		var sum rating.Money
		for i, e := range l.Entries {
			sum += mustMoney(t, e.Amount)
			if e.Seq != uint64(i+1) || mustMoney(t, e.Balance) != sum {
				t.Fatalf("ledger entry %d: %+v, running sum %s", i, e, sum)
			}
		}
		if sum == st.Balance {
			return st
		}
		if try == 20 {
			t.Fatalf("ledger sums to %s, balance %s", sum, st.Balance)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func mustMoney(t *testing.T, s string) rating.Money {
	t.Helper()
	m, err := rating.ParseMoney(s)
	if err != nil {
		t.Fatalf("money %q: %v", s, err)
	}
	return m
}

// A prepaid customer with balance for 30 s at 0.0600/min (1/1) is cut at
// 30 s on both legs, billed exactly its balance, and left with 0.
func TestPrepaidCallCutWhenBalanceEnds(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", map[string]any{"credit_limit": "0"})
	pay(m.sw.api, m.customer, "0.03")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	answered := time.Now()
	if err := call.WaitBye(ctx); err != nil {
		t.Fatalf("the customer got no BYE: %v", err)
	}
	cut := time.Since(answered)
	inv := m.carrier.Invites()
	if len(inv) != 1 {
		t.Fatalf("%d INVITEs at the carrier", len(inv))
	}
	if err := m.carrier.WaitBye(ctx, inv[0].CallID().Value()); err != nil {
		t.Fatalf("the carrier got no BYE: %v", err)
	}
	if cut < 29*time.Second || cut > 31*time.Second {
		t.Errorf("cut after %s, want 30 s ± 1 s", cut)
	}
	rs := m.sw.api.cdrs(call.CallID, 1)
	if len(rs) != 1 {
		t.Fatalf("%d CDRs", len(rs))
	}
	r := rs[0]
	if r.Duration != 30 || r.Billed != 30 || r.SellCost != 30_000 || r.Reason != "credit exhausted" || r.HangupSide != "switch" {
		t.Errorf("CDR: duration %d billed %d sell %s reason %q side %q", r.Duration, r.Billed, r.SellCost, r.Reason, r.HangupSide)
	}
	waitUntil(t, 5*time.Second, "the charge", func() bool { return money(t, m.sw.api, m.customer).Balance == 0 })
	st := money(t, m.sw.api, m.customer)
	if st.Available != 0 || st.Reserved != 0 || len(st.Entries) != 2 || st.Entries[1].Kind != "charge" {
		t.Errorf("after the call: %+v", st)
	}
}

// A prepaid customer without balance gets 402 and a CDR saying so.
func TestPrepaidWithoutBalanceGets402(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", map[string]any{"credit_limit": "0"})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if siptest.Status(err) != 402 {
		t.Fatalf("Dial: %v, want 402", err)
	}
	if n := len(m.carrier.Invites()); n != 0 {
		t.Errorf("%d INVITEs reached the carrier", n)
	}
	rs := m.sw.api.cdrs(call.CallID, 1)
	if len(rs) != 1 || rs[0].SIPCode != 402 || rs[0].SellCost != 0 {
		t.Errorf("CDRs %+v", rs)
	}
	// A payment lets the next call through.
	pay(m.sw.api, m.customer, "1.00")
	call, err = m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatalf("after a payment: %v", err)
	}
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// 50 concurrent calls against a balance that covers 10 minutes in total
// share it: none gets it all, the balance never goes below zero, and at
// least 95 % of it is used.
func TestConcurrentCallsShareTheBalance(t *testing.T) {
	t.Parallel()
	const n = 50
	m := newMoneySetup(t, "0.06", map[string]any{"credit_limit": "0"})
	pay(m.sw.api, m.customer, "0.60") // 600 s at 0.001/s
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	calls := make([]*siptest.Call, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			calls[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var total rating.Money
	for i, c := range calls {
		if err := c.WaitBye(ctx); err != nil {
			t.Fatalf("call %d was never cut: %v", i, err)
		}
		rs := m.sw.api.cdrs(c.CallID, 1)
		if len(rs) != 1 || rs[0].Reason != "credit exhausted" {
			t.Fatalf("call %d CDRs %+v", i, rs)
		}
		total += rs[0].SellCost
	}
	var st moneyState
	waitUntil(t, 5*time.Second, "every charge", func() bool {
		st = money(t, m.sw.api, m.customer)
		return len(st.Entries) == n+1
	})
	if st.Balance < 0 || st.Balance != 600_000-total || st.Reserved != 0 {
		t.Fatalf("balance %s reserved %s after charges of %s", st.Balance, st.Reserved, total)
	}
	if total < 570_000 {
		t.Errorf("the calls used %s of 0.60, less than 95 %%", total)
	}
}

// A postpaid customer with credit limit 5.00 stops at −5.00.
func TestPostpaidStopsAtCreditLimit(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "60", map[string]any{"credit_limit": "5.00"}) // 1.00 a second
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.WaitBye(ctx); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 5*time.Second, "the charge", func() bool { return money(t, m.sw.api, m.customer).Balance != 0 })
	if st := money(t, m.sw.api, m.customer); st.Balance != -5_000_000 || st.Available != -5_000_000 || st.Reserved != 0 {
		t.Fatalf("balance %s available %s reserved %s, want -5.00, -5.00, 0", st.Balance, st.Available, st.Reserved)
	}
	if _, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer); siptest.Status(err) != 402 {
		t.Fatalf("a call at the limit: %v, want 402", err)
	}
}

// A customer without a credit limit is never cut for money, but every
// answered call is charged to its ledger once.
func TestUncontrolledCustomerIsCharged(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var cost rating.Money
	for range 3 {
		call, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond)
		if err := call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		rs := m.sw.api.cdrs(call.CallID, 1)
		if len(rs) != 1 || rs[0].SellCost == 0 {
			t.Fatalf("CDRs %+v", rs)
		}
		cost += rs[0].SellCost
	}
	waitUntil(t, 5*time.Second, "the charges", func() bool { return len(money(t, m.sw.api, m.customer).Entries) == 3 })
	if st := money(t, m.sw.api, m.customer); st.Balance != -cost {
		t.Fatalf("balance %s after calls costing %s", st.Balance, cost)
	}
}

// chargesByCall maps each call charge in a ledger to its amount.
func chargesByCall(t *testing.T, es []ledgerEntry) map[string][]rating.Money {
	out := map[string][]rating.Money{}
	for _, e := range es {
		if e.Kind == "charge" || e.Kind == "rerate" {
			out[e.Key] = append(out[e.Key], mustMoney(t, e.Amount))
		}
	}
	return out
}

// kill -9 of the switch during 20 prepaid calls, then a restart: every call
// has one CDR and one charge of its cost, nothing is left reserved, and the
// ledger sums to the balance.
func TestSIGKILLDuringPrepaidCalls(t *testing.T) {
	t.Parallel()
	const n = 20
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	cfg := procConfig(t, dir, "")
	bin := testBinary(t)
	p := startProc(t, bin, cfg)
	api := &apiClient{t: t, base: "http://" + p.admin, token: p.token}
	m := provisionMoney(t, api, nil, "0.06", map[string]any{"credit_limit": "0"})
	pay(api, m.customer, "10.00")
	calls := make([]*siptest.Call, n)
	for i := range calls {
		c, err := m.ua.Dial(ctx, p.sip, numAnswer)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		calls[i] = c
	}
	time.Sleep(2500 * time.Millisecond) // past the first extension and a heartbeat
	if st := money(t, api, m.customer); st.Reserved == 0 || st.Available >= st.Balance {
		t.Fatalf("no credit reserved by %d live calls: %+v", n, st)
	}
	p.kill(t)

	p2 := startProc(t, bin, cfg)
	api.base = "http://" + p2.admin
	for i, c := range calls {
		if err := c.WaitBye(ctx); err != nil {
			t.Fatalf("call %d got no BYE after the restart: %v", i, err)
		}
	}
	st := money(t, api, m.customer)
	if st.Reserved != 0 || st.Available != st.Balance {
		t.Errorf("after the restart: reserved %s available %s balance %s", st.Reserved, st.Available, st.Balance)
	}
	charges := chargesByCall(t, st.Entries)
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p2.exited
	p2.exited <- nil
	byCall := journalByCall(t, dir)
	var total rating.Money
	for _, inv := range m.carrier.Invites() {
		id := inv.CallID().Value()
		rs := byCall[id]
		if len(rs) != 1 || rs[0].SellCost == 0 {
			t.Fatalf("call %s: CDRs %+v", id, rs)
		}
		if got := charges[routing.CallKey(id, time.UnixMilli(rs[0].SetupMs))]; len(got) != 1 || got[0] != -rs[0].SellCost {
			t.Errorf("call %s: charges %v for a CDR costing %s", id, got, rs[0].SellCost)
		}
		total += rs[0].SellCost
	}
	if len(charges) != n || st.Balance != 10_000_000-total {
		t.Errorf("%d calls charged, balance %s, want %d and %s", len(charges), st.Balance, n, rating.Money(10_000_000)-total)
	}
}

// sipp as customer and carrier: a prepaid call is cut when its balance ends
// (both sipps get the switch's BYE), and a call without balance gets 402.
func TestSippPrepaid(t *testing.T) {
	sippPath(t)
	sw := startSwitch(t)
	carrierPort := freeUDPPort(t, "127.0.0.1")
	customer := provisionMoneyTo(t, sw.api, udpEndpoint{"127.0.0.1", carrierPort}, "0.20", map[string]any{"credit_limit": "0"})
	pay(sw.api, customer, "0.01") // 3 s

	uas := startSipp(t, scenario(t, "sipp/uas.xml"), "127.0.0.1", carrierPort)
	time.Sleep(100 * time.Millisecond) // let it bind
	uac := startSipp(t, scenario(t, "drachtio-server/uac-recv-bye.xml"), "127.0.0.2", freeUDPPort(t, "127.0.0.2"),
		"-s", "442071234567", sw.SIPAddr.String())
	uac.wait(t, "customer")
	uas.wait(t, "carrier")
	var out struct {
		CDRs []cdr.Record `json:"cdrs"`
	}
	waitUntil(t, 5*time.Second, "the CDR", func() bool {
		sw.api.do("GET", "/api/v1/cdrs?limit=10", nil, http.StatusOK, &out)
		return len(out.CDRs) == 1
	})
	if r := out.CDRs[0]; r.Reason != "credit exhausted" || r.Duration != 3 || r.SellCost != 10_000 {
		t.Fatalf("CDR %+v", r)
	}
	waitUntil(t, 5*time.Second, "the charge", func() bool { return money(t, sw.api, customer).Balance == 0 })

	refused := startSipp(t, scenario(t, "drachtio-server/uac-expect-486.xml", `response="486"`, `response="402"`),
		"127.0.0.2", freeUDPPort(t, "127.0.0.2"), "-s", "442071234567", sw.SIPAddr.String())
	refused.wait(t, "customer without balance")
}

// answeredCDRs reads the CDRs api serves and returns how many answered
// calls of customer ("" for any) they hold and what those calls cost it.
func answeredCDRs(api *apiClient, customer string) (n int, cost rating.Money) {
	var out struct {
		CDRs []struct {
			CustomerID string       `json:"customer_id"`
			AnswerMs   int64        `json:"answer_ms"`
			SellCost   rating.Money `json:"sell_cost"`
		} `json:"cdrs"`
	}
	api.do("GET", "/api/v1/cdrs?limit=1000", nil, http.StatusOK, &out)
	for _, r := range out.CDRs {
		if r.AnswerMs > 0 && (customer == "" || r.CustomerID == customer) {
			n++
			cost += r.SellCost
		}
	}
	return n, cost
}
