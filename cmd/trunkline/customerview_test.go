package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
)

// A customer's token never sees the operator's side of its calls: its
// JSON and CSV CDRs, live calls, routes and account have no carrier, buy
// rate, buy cost, margin, rating trace or routing rule, while an admin's
// have them. Selecting by carrier is refused.
func TestCustomerTokenSeesNoBuySide(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503)) // fails numFailover over to B
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	acme, carrierAID, _ := provision(t, sw, carrierA, carrierB)
	sw.api.do("PUT", "/api/v1/customers/"+acme, map[string]any{"name": "Acme Telecom", "currency": "USD", "min_margin_percent": "5"}, http.StatusOK, nil)
	portal := &apiClient{t: t, base: sw.api.base, token: customerToken(t, sw.api, acme)}
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := done.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	held, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Hangup(ctx)
	if rs := sw.api.cdrs(done.CallID, 1); len(rs) != 1 || rs[0].CarrierID != carrierAID || rs[0].BuyCost == 0 {
		t.Fatalf("the admin's CDR: %+v", rs)
	}
	sw.api.waitLiveCall(held.CallID, "answered")

	forbidden := []string{"carrier_id", "carriers", "buy_rate", "buy_cost", "margin", "trace", "pin", "block", "strategy", "min_margin", "min_margin_percent"}
	raw := func(a *apiClient, path, accept string) string {
		t.Helper()
		req, _ := http.NewRequest("GET", a.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+a.token)
		req.Header.Set("Accept", accept)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d %s", path, res.StatusCode, b)
		}
		return string(b)
	}
	var keys func(v any, into map[string]bool)
	keys = func(v any, into map[string]bool) {
		switch x := v.(type) {
		case map[string]any:
			for k, e := range x {
				into[k] = true
				keys(e, into)
			}
		case []any:
			for _, e := range x {
				keys(e, into)
			}
		}
	}
	for _, path := range []string{"/api/v1/cdrs", "/api/v1/calls", "/api/v1/customers/" + acme, "/api/v1/customers/" + acme + "/routes"} {
		seen := map[string]map[string]bool{}
		for who, a := range map[string]*apiClient{"admin": sw.api, "customer": portal} {
			var v any
			if err := json.Unmarshal([]byte(raw(a, path, "application/json")), &v); err != nil {
				t.Fatal(err)
			}
			seen[who] = map[string]bool{}
			keys(v, seen[who])
		}
		for _, k := range forbidden {
			if seen["customer"][k] {
				t.Errorf("GET %s with the customer's token shows %q", path, k)
			}
		}
		if path == "/api/v1/cdrs" && (!seen["admin"]["buy_cost"] || !seen["customer"]["sell_cost"]) {
			t.Errorf("GET %s: the admin sees %v, the customer %v", path, seen["admin"], seen["customer"])
		}
	}
	for who, a := range map[string]*apiClient{"admin": sw.api, "customer": portal} {
		rows, err := csv.NewReader(strings.NewReader(raw(a, "/api/v1/cdrs", "text/csv"))).ReadAll()
		if err != nil || len(rows) < 2 {
			t.Fatalf("%s's CSV: %v, %d rows", who, err, len(rows))
		}
		hasBuy := slices.Contains(rows[0], "buy_cost") && slices.Contains(rows[0], "carrier_id")
		if who == "admin" != hasBuy {
			t.Errorf("%s's CSV columns: %v", who, rows[0])
		}
		if who == "customer" {
			for _, k := range forbidden {
				if slices.Contains(rows[0], k) {
					t.Errorf("the customer's CSV has column %q", k)
				}
			}
			if !slices.Contains(rows[0], "sell_cost") {
				t.Errorf("the customer's CSV lacks sell_cost: %v", rows[0])
			}
		}
	}
	// A field set of buy-side columns only does not open every column.
	sw.api.do("PUT", "/api/v1/customers/"+acme+"/cdr-fields", map[string]any{"fields": []string{"margin", "buy_cost"}}, http.StatusOK, nil)
	rows, err := csv.NewReader(strings.NewReader(raw(portal, "/api/v1/cdrs", "text/csv"))).ReadAll()
	if err != nil || len(rows) < 2 {
		t.Fatalf("the customer's CSV: %v", err)
	}
	for _, k := range forbidden {
		if slices.Contains(rows[0], k) {
			t.Errorf("with a buy-side field set, the customer's CSV has column %q", k)
		}
	}
	// A call that failed over: the admin sees both attempts, the customer
	// its final CDR only.
	failover, err := ua.Dial(ctx, sw.SIPAddr.String(), numFailover)
	if err != nil {
		t.Fatal(err)
	}
	failover.Hangup(ctx)
	if rs := sw.api.cdrs(failover.CallID, 2); len(rs) != 2 {
		t.Fatalf("the admin's CDRs of the failed-over call: %+v", rs)
	}
	if rs := portal.cdrs(failover.CallID, 2); len(rs) != 1 || !rs[0].Final {
		t.Fatalf("the customer's CDRs of the failed-over call: %+v, want its final one only", rs)
	}
	portal.do("GET", "/api/v1/cdrs?carrier="+carrierAID, nil, http.StatusForbidden, nil)
	portal.do("GET", "/api/v1/calls?carrier="+carrierAID, nil, http.StatusForbidden, nil)
}
