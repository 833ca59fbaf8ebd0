package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/rating"
)

// quickstartBody is a getting-started set: a carrier at carrierPort, its
// rates as CSV, a 50 % markup, a prepaid customer on 127.0.0.2 with 20 %
// tax, and a first payment of 12.00.
func quickstartBody(carrierPort int) map[string]any {
	return map[string]any{
		"currency":  "USD",
		"carrier":   map[string]any{"name": "First Carrier", "host": "127.0.0.1", "port": carrierPort},
		"rates_csv": "prefix,rate,description\n1,0.0100,North America\n44,0.0200,United Kingdom\n",
		"markup":    map[string]any{"kind": "percent", "value": "50"},
		"customer":  map[string]any{"name": "First Customer", "tax_percent": "20", "credit_limit": "0", "ip": "127.0.0.2"},
		"payment":   "12.00",
	}
}

// postQuickstart posts body with key and returns the status and answer.
func postQuickstart(t *testing.T, api *apiClient, key string, body map[string]any) (int, map[string]any) {
	t.Helper()
	b, _ := json.Marshal(body)
	req, _ := http.NewRequest("POST", api.base+"/api/v1/quickstart", bytes.NewReader(b))
	req.Header.Set("Authorization", "Bearer "+api.token)
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var v map[string]any
	json.NewDecoder(res.Body).Decode(&v)
	return res.StatusCode, v
}

// One quickstart request makes a set that takes a call at once: sipp as
// the customer and as the carrier, the call answered and billed at the
// marked-up rate, the payment's net in the balance. Repeating the request
// makes nothing more; a broken one makes nothing at all.
func TestQuickstartTakesACall(t *testing.T) {
	sippPath(t)
	t.Parallel()
	sw := startSwitch(t)
	carrierPort := freeUDPPort(t, "127.0.0.1")

	// A broken piece (a bad rate) undoes the pieces made before it.
	bad := quickstartBody(carrierPort)
	bad["rates_csv"] = "prefix,rate\n1,ten cents\n"
	code, v := postQuickstart(t, sw.api, "", bad)
	if code != 400 || !strings.Contains(toJSON(v), "rates_csv") {
		t.Fatalf("a quickstart with a bad rate: %d %v", code, v)
	}
	for _, coll := range []string{"carriers", "customers", "ratecards"} {
		var list map[string][]any
		sw.api.do("GET", "/api/v1/"+coll, nil, http.StatusOK, &list)
		if len(list[coll]) != 0 {
			t.Fatalf("the failed quickstart left %s: %v", coll, list[coll])
		}
	}

	code, set := postQuickstart(t, sw.api, "first-set", quickstartBody(carrierPort))
	if code != http.StatusCreated {
		t.Fatalf("quickstart: %d %v", code, set)
	}
	ws := set["warnings"].(map[string]any)
	if len(ws["customer"].([]any)) != 0 || len(ws["carrier"].([]any)) != 0 {
		t.Fatalf("the quickstart set has warnings: %v", ws)
	}
	again, same := postQuickstart(t, sw.api, "first-set", quickstartBody(carrierPort))
	if again != http.StatusOK || same["customer_id"] != set["customer_id"] || same["payment_id"] != set["payment_id"] {
		t.Fatalf("the repeated quickstart: %d %v, first %v", again, same, set)
	}
	other := quickstartBody(carrierPort)
	other["payment"] = "99.00"
	if code, _ := postQuickstart(t, sw.api, "first-set", other); code != http.StatusConflict {
		t.Fatalf("the key with another body: %d", code)
	}
	customerID := set["customer_id"].(string)
	if st := money(t, sw.api, customerID); st.Balance != 10*rating.Scale {
		t.Fatalf("after a 12.00 payment with 20%% tax the balance is %s, want 10.00 (one payment, not two)", st.Balance)
	}

	uas := startSipp(t, scenario(t, "sipp/uas.xml"), "127.0.0.1", carrierPort)
	time.Sleep(100 * time.Millisecond)
	uac := startSipp(t, scenario(t, "sipp/uac.xml"), "127.0.0.2", freeUDPPort(t, "127.0.0.2"),
		"-s", "12125550100", "-d", "1000", sw.SIPAddr.String())
	uac.wait(t, "customer")
	uas.wait(t, "carrier")
	var rs struct {
		CDRs []struct {
			CustomerID string `json:"customer_id"`
			SIPCode    int    `json:"sip_code"`
			SellRate   string `json:"sell_rate"`
			BuyRate    string `json:"buy_rate"`
		} `json:"cdrs"`
	}
	waitUntil(t, 5*time.Second, "the CDR", func() bool {
		sw.api.do("GET", "/api/v1/cdrs?customer="+customerID, nil, http.StatusOK, &rs)
		return len(rs.CDRs) == 1
	})
	if c := rs.CDRs[0]; c.SIPCode != 200 || c.SellRate != "0.015000" || c.BuyRate != "0.010000" {
		t.Fatalf("the call's CDR: %+v, want 200 at 0.015 (0.010 + 50 %%)", c)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
