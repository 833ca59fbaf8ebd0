package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/sip/siptest"
)

func clickHouseConfig(addr, db string) string {
	return fmt.Sprintf("cdr:\n  clickhouse: clickhouse://%s/%s\n  batch_size: 100\n  batch_interval: 50ms\n", addr, db)
}

// TestCDRsOfRealCallsInClickHouse places calls of every outcome and checks
// that ClickHouse holds exactly the journal's records, costs to the
// millionth, and that the API (served from ClickHouse) agrees: JSON, CSV and
// summary.
func TestCDRsOfRealCallsInClickHouse(t *testing.T) {
	addr, db, conn := testClickHouseDB(t)
	sw := startSwitchWith(t, clickHouseConfig(addr, db))
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, sw, carrierA, carrierB)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	target := sw.SIPAddr.String()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// Answered (customer and carrier hang up), failover (two attempts),
	// busy, unrated.
	call, err := customer.Dial(ctx, target, numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	seenB := len(carrierB.Invites())
	if _, err = customer.Dial(ctx, target, numFailover); err != nil {
		t.Fatal(err)
	}
	if err := carrierB.Bye(ctx, newInvite(t, carrierB, seenB).CallID().Value()); err != nil {
		t.Fatal(err)
	}
	if _, err := customer.Dial(ctx, target, numBusy); siptest.Status(err) != 486 {
		t.Fatalf("busy: %v", err)
	}
	if _, err := customer.Dial(ctx, target, numUnrated); siptest.Status(err) != 404 {
		t.Fatalf("unrated: %v", err)
	}
	const want = 5 // CDRs: 1 + 2 + 1 + 1
	waitUntil(t, 10*time.Second, "5 CDRs in the journal", func() bool { k, _ := journalKeys(t, sw.journal); return len(k) == want })
	waitUntil(t, 20*time.Second, "5 CDRs in ClickHouse", func() bool { _, final, _, _ := chCounts(t, conn, db); return final == want })

	_, jrecs := journalKeys(t, sw.journal)
	_, crecs := journalKeys(t, sw.ch)
	byKey := func(rs []cdr.Record) map[string]cdr.Record {
		m := map[string]cdr.Record{}
		for _, r := range rs {
			m[fmt.Sprintf("%s/%d", r.CallID, r.Attempt)] = r
		}
		return m
	}
	jm, cm := byKey(jrecs), byKey(crecs)
	if len(jm) != want || len(cm) != want {
		t.Fatalf("journal %d, ClickHouse %d records, want %d", len(jm), len(cm), want)
	}
	var answered int
	for k, jr := range jm {
		if cr := cm[k]; !reflect.DeepEqual(jr, cr) {
			t.Errorf("%s differs:\njournal    %+v\nclickhouse %+v", k, jr, cr)
		}
		if jr.SIPCode == 200 {
			answered++
			if jr.SellCost == 0 || jr.BuyCost == 0 || jr.Margin != jr.SellCost-jr.BuyCost {
				t.Errorf("%s: answered without exact costs: sell %s buy %s margin %s", k, jr.SellCost, jr.BuyCost, jr.Margin)
			}
		}
	}
	if answered != 2 {
		t.Errorf("%d answered CDRs, want 2", answered)
	}
	// The exact decimals as ClickHouse stores them.
	var sell, buy string
	q := fmt.Sprintf("SELECT toString(sum(sell_cost)), toString(sum(buy_cost)) FROM %s.cdrs FINAL", db)
	if err := conn.QueryRow(ctx, q).Scan(&sell, &buy); err != nil {
		t.Fatal(err)
	}
	var wantSell, wantBuy rating.Money
	for _, r := range jrecs {
		wantSell += r.SellCost
		wantBuy += r.BuyCost
	}
	if gs, err1 := rating.ParseMoney(sell); err1 != nil || gs != wantSell {
		t.Errorf("ClickHouse sums sell to %s, the journal to %s", sell, wantSell)
	}
	if gb, err1 := rating.ParseMoney(buy); err1 != nil || gb != wantBuy {
		t.Errorf("ClickHouse sums buy to %s, the journal to %s", buy, wantBuy)
	}

	// The API reads ClickHouse: filters, summary and CSV.
	var page struct{ CDRs []cdr.Record }
	sw.api.do("GET", "/api/v1/cdrs?answered=true&number=4420", nil, http.StatusOK, &page)
	if len(page.CDRs) != 2 {
		t.Errorf("answered to 4420: %d CDRs, want 2", len(page.CDRs))
	}
	var sum struct{ Rows []cdr.SummaryRow }
	sw.api.do("GET", "/api/v1/cdrs/summary?group=customer", nil, http.StatusOK, &sum)
	jsum, err := sw.journal.Summary(ctx, cdr.SummaryQuery{Group: cdr.GroupCustomer})
	if err != nil {
		t.Fatal(err)
	}
	// The unrated call has no currency: it is a row of its own.
	if !reflect.DeepEqual(sum.Rows, jsum) || len(jsum) != 2 || jsum[1].Key != customerID || jsum[1].Currency != "USD" ||
		jsum[1].Attempts != 3 || jsum[1].Answered != 2 || jsum[1].Sell != wantSell || jsum[0].Attempts != 1 || jsum[0].Sell != 0 {
		t.Errorf("summary from ClickHouse %+v, from the journal %+v", sum.Rows, jsum)
	}
	sw.api.do("PUT", "/api/v1/customers/"+customerID+"/cdr-fields", map[string]any{"fields": []string{"call_id", "attempt", "sell_cost", "buy_cost"}}, http.StatusOK, nil)
	req, _ := http.NewRequest("GET", sw.api.base+"/api/v1/cdrs?customer="+customerID+"&sip_code=200", nil)
	req.Header.Set("Authorization", "Bearer "+sw.api.token)
	req.Header.Set("Accept", "text/csv")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(res.Body).ReadAll()
	res.Body.Close()
	if err != nil || len(rows) != 3 || strings.Join(rows[0], ",") != "call_id,attempt,sell_cost,buy_cost" {
		t.Fatalf("CSV %q %v", rows, err)
	}
	for _, row := range rows[1:] {
		jr := jm[row[0]+"/"+row[1]]
		if row[2] != jr.SellCost.String() || row[3] != jr.BuyCost.String() {
			t.Errorf("CSV row %q, journal sell %s buy %s", row, jr.SellCost, jr.BuyCost)
		}
	}
}

// TestClickHouseOutageDuring1000Calls points the switch at ClickHouse
// through a proxy, takes the proxy down, places 1,000 calls, brings it back
// and checks that every CDR arrives exactly once.
func TestClickHouseOutageDuring1000Calls(t *testing.T) {
	addr, db, conn := testClickHouseDB(t)
	proxy := newTCPProxy(t, addr)
	sw := startSwitchWith(t, clickHouseConfig(proxy.addr, db))
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	provision(t, sw, carrierA, carrierB)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Some CDRs reach ClickHouse before the outage.
	if n := placeCalls(ctx, customer, sw.SIPAddr.String(), 20, 4, nil); n != 20 {
		t.Fatalf("%d of 20 calls completed", n)
	}
	waitUntil(t, 20*time.Second, "the first 20 rows", func() bool { _, f, _, _ := chCounts(t, conn, db); return f == 20 })

	proxy.Down()
	start := time.Now()
	const calls = 1000
	if n := placeCalls(ctx, customer, sw.SIPAddr.String(), calls, 16, nil); n != calls {
		t.Fatalf("%d of %d calls completed", n, calls)
	}
	took := time.Since(start)
	// A CDR is journalled just after the call's last answer went out.
	var jkeys map[string]int
	waitUntil(t, 10*time.Second, "every CDR in the journal", func() bool { jkeys, _ = journalKeys(t, sw.journal); return len(jkeys) >= calls+20 })
	if len(jkeys) != calls+20 {
		t.Fatalf("journal holds %d CDRs, want %d", len(jkeys), calls+20)
	}
	if _, f, _, _ := chCounts(t, conn, db); f != 20 {
		t.Fatalf("ClickHouse got %d rows during the outage", f)
	}
	// Meanwhile the API answers CDRs from the journal, and says so, in
	// JSON and in CSV.
	for _, accept := range []string{"application/json", "text/csv"} {
		req, _ := http.NewRequest("GET", sw.api.base+"/api/v1/cdrs?limit=10000", nil)
		req.Header.Set("Authorization", "Bearer "+sw.api.token)
		req.Header.Set("Accept", accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK || res.Header.Get("Trunkline-CDR-Source") != "journal" {
			t.Fatalf("GET /cdrs (%s) with ClickHouse down: %d, source %q: %.300s", accept, res.StatusCode, res.Header.Get("Trunkline-CDR-Source"), body)
		}
		ids := map[string]bool{}
		if accept == "application/json" {
			var v struct{ CDRs []cdr.Record }
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatal(err)
			}
			for _, r := range v.CDRs {
				ids[r.CallID] = true
			}
			if len(ids) != calls+20 {
				t.Fatalf("GET /cdrs from the journal: %d calls, want %d", len(ids), calls+20)
			}
		}
	}
	// Still ready (the journal keeps every CDR), with the lag said.
	res, err := http.Get(sw.api.base + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	var ready struct {
		Status string
		Checks struct {
			Lag        *int64 `json:"cdr_ship_lag_seconds"`
			ClickHouse string `json:"clickhouse"`
		}
	}
	json.NewDecoder(res.Body).Decode(&ready)
	res.Body.Close()
	if res.StatusCode != http.StatusOK || ready.Checks.Lag == nil || ready.Checks.ClickHouse == "" {
		t.Fatalf("/readyz with ClickHouse down: %d %+v", res.StatusCode, ready)
	}
	if lag := metricValue(t, sw.api.base, "trunkline_cdr_ship_lag_seconds"); lag <= 0 {
		t.Errorf("trunkline_cdr_ship_lag_seconds %v with ClickHouse down for %s", lag, time.Since(start))
	}
	if err := proxy.Up(); err != nil {
		t.Fatalf("proxy back up: %v", err)
	}
	back := time.Now()
	waitUntil(t, 45*time.Second, "every row after the outage", func() bool { _, f, _, _ := chCounts(t, conn, db); return f >= calls+20 })
	raw, final, distinct, doubled := chCounts(t, conn, db)
	t.Logf("%d calls in %s (%.0f calls/s) during the outage; caught up %s after ClickHouse returned; rows %d raw, %d final",
		calls, took.Round(time.Millisecond), calls/took.Seconds(), time.Since(back).Round(time.Millisecond), raw, final)
	if final != calls+20 || distinct != calls+20 || doubled != 0 {
		t.Fatalf("ClickHouse: %d rows (FINAL), %d distinct keys, %d doubled; want %d, %d, 0", final, distinct, doubled, calls+20, calls+20)
	}
	if errs := shipErrors(t, sw.api.base); errs == 0 {
		t.Error("the shipper saw no error: the outage was not real")
	} else {
		t.Logf("shipper errors during the outage: %d", errs)
	}
	ckeys := chKeys(t, conn, db)
	for k := range jkeys {
		if ckeys[k] != 1 {
			t.Fatalf("%s is in ClickHouse %d times", k, ckeys[k])
		}
	}
}

// shipErrors reads trunkline_cdr_ship_errors_total from the node's /metrics.
func shipErrors(t *testing.T, base string) int {
	return int(metricValue(t, base, "trunkline_cdr_ship_errors_total"))
}

// metricValue reads the first sample of /metrics whose line starts with
// series (a name, or a name and labels); 0 when there is none.
func metricValue(t *testing.T, base, series string) float64 {
	t.Helper()
	res, err := http.Get(base + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, series) {
			f := strings.Fields(line)
			n, _ := strconv.ParseFloat(f[len(f)-1], 64)
			return n
		}
	}
	return 0
}
