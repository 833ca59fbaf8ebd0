package admin_test

import (
	"encoding/csv"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/cdr"
)

func TestCDRFilters(t *testing.T) {
	src := &fakeCDRs{}
	e := newEnv(t, admin.WithCDRs(src))
	wantStatus(t, e.req("GET", "/api/v1/cdrs?number=4420&sip_code=486&answered=false", nil), 200)
	if src.last.CalleePrefix != "4420" || src.last.SIPCode != 486 || src.last.Answered == nil || *src.last.Answered {
		t.Errorf("query %+v", src.last)
	}
	for _, bad := range []struct{ q, field string }{
		{"number=44x", "number"}, {"sip_code=42", "sip_code"}, {"sip_code=abc", "sip_code"}, {"answered=maybe", "answered"},
	} {
		wantError(t, e.req("GET", "/api/v1/cdrs?"+bad.q, nil), 400, admin.CodeInvalid, bad.field)
	}
}

func getCSV(t *testing.T, e *env, path string) [][]string {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	r.Header.Set("Authorization", "Bearer "+e.token)
	r.Header.Set("Accept", "text/csv, application/json;q=0.5")
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/csv") {
		t.Fatalf("GET %s: %d %s %s", path, w.Code, w.Header().Get("Content-Type"), w.Body)
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestCDRCSVAndSummary downloads CSV with a customer's field set and
// timezone and summarises a real journal.
func TestCDRCSVAndSummary(t *testing.T) {
	j, err := cdr.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e := newEnv(t, admin.WithCDRs(j))
	c1 := e.create("/api/v1/customers", map[string]any{"name": "Tokyo Tel", "currency": "JPY", "timezone": "Asia/Tokyo"})
	wantError(t, e.req("POST", "/api/v1/customers", map[string]any{"name": "X", "currency": "USD", "timezone": "Mars/Olympus"}), 400, admin.CodeInvalid, "timezone")
	for i, rec := range []cdr.Record{
		{CallID: "a", Attempt: 1, CustomerID: c1, CarrierID: "k1", Callee: "4420", SIPCode: 503, Currency: "JPY"},
		{CallID: "a", Attempt: 2, Final: true, CustomerID: c1, CarrierID: "k2", Callee: "4420", SIPCode: 200, AnswerMs: 1, Duration: 90, Billed: 90,
			Currency: "JPY", SellCost: 1_234_567, BuyCost: 1_000_001, Margin: 234_566, SIPCallID: "7f1e@pbx.tokyo"},
		{CallID: "b", Attempt: 1, Final: true, CustomerID: "other", CarrierID: "k1", Callee: "49", SIPCode: 486, Currency: "EUR"},
	} {
		rec.SetupMs = 1_700_000_000_000 + int64(i)*1000
		if err := j.Write(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	// Every field by default, UTC without a customer filter.
	rows := getCSV(t, e, "/api/v1/cdrs")
	if len(rows) != 4 || strings.Join(rows[0], ",") != strings.Join(cdr.Fields(), ",") {
		t.Fatalf("all fields: %q", rows)
	}
	// A user's own timezone renders the times of a download of every
	// customer's CDRs; the switch's (UTC here) without one.
	e.newUser("paris", "read-only", "")
	paris := e.tokenFor("paris")
	wantStatus(t, e.send("PUT", "/api/v1/me/timezone", map[string]any{"timezone": "Europe/Paris"}, "Bearer "+paris, "application/json"), 200)
	wantError(t, e.send("PUT", "/api/v1/me/timezone", map[string]any{"timezone": "Mars/Olympus"}, "Bearer "+paris, "application/json"), 400, admin.CodeInvalid, "timezone")
	w0 := e.send("GET", "/api/v1/cdrs", nil, "Bearer "+paris, "", map[string]string{"Accept": "text/csv"})
	if !strings.Contains(w0.Body.String(), "2023-11-14T23:13:21.000+01:00") || strings.Contains(w0.Body.String(), "2023-11-14T22:13:21.000Z") {
		t.Fatalf("a Paris user's CSV:\n%s", w0.Body)
	}
	// The customer's field set and timezone.
	w := e.req("PUT", "/api/v1/customers/"+c1+"/cdr-fields", map[string]any{"fields": []string{"call_id", "sip_call_id", "attempt", "setup_time", "sell_cost", "margin"}})
	wantStatus(t, w, 200)
	wantError(t, e.req("PUT", "/api/v1/customers/"+c1+"/cdr-fields", map[string]any{"fields": []string{"call_id", "bogus"}}), 400, admin.CodeInvalid, "fields")
	wantError(t, e.req("PUT", "/api/v1/customers/nope/cdr-fields", map[string]any{"fields": []string{"call_id"}}), 404, admin.CodeNotFound, "")
	rows = getCSV(t, e, "/api/v1/cdrs?customer="+c1+"&answered=true")
	want := "call_id,sip_call_id,attempt,setup_time,sell_cost,margin|a,7f1e@pbx.tokyo,2,2023-11-15T07:13:21.000+09:00,1.234567,0.234566"
	var got []string
	for _, r := range rows {
		got = append(got, strings.Join(r, ","))
	}
	if strings.Join(got, "|") != want {
		t.Errorf("customer CSV:\n got %s\nwant %s", strings.Join(got, "|"), want)
	}
	wantStatus(t, e.req("PUT", "/api/v1/customers/"+c1+"/cdr-fields", map[string]any{"fields": []string{}}), 200)
	if rows := getCSV(t, e, "/api/v1/cdrs?customer="+c1); len(rows[0]) != len(cdr.Fields()) {
		t.Errorf("reset field set: header %q", rows[0])
	}

	var sum struct {
		Rows []cdr.SummaryRow `json:"rows"`
	}
	w = e.req("GET", "/api/v1/cdrs/summary?group=carrier", nil)
	wantStatus(t, w, 200)
	decode(t, w, &sum)
	if len(sum.Rows) != 3 || sum.Rows[1].Key != "k1" || sum.Rows[1].Attempts != 1 || sum.Rows[2].Key != "k2" ||
		sum.Rows[2].Sell.String() != "1.234567" || sum.Rows[2].Margin.String() != "0.234566" || sum.Rows[2].ACD != 90 || sum.Rows[2].ASR != 100 {
		t.Errorf("carrier summary %+v", sum.Rows)
	}
	w = e.req("GET", "/api/v1/cdrs/summary?group=customer&from=1700000000000&to=1700000002000", nil)
	wantStatus(t, w, 200)
	decode(t, w, &sum)
	if len(sum.Rows) != 1 || sum.Rows[0].Key != c1 || sum.Rows[0].Attempts != 1 || sum.Rows[0].Answered != 1 || sum.Rows[0].Minutes != 1.5 {
		t.Errorf("customer summary %+v", sum.Rows)
	}
	wantError(t, e.req("GET", "/api/v1/cdrs/summary?group=node", nil), 400, admin.CodeInvalid, "group")
	// A time series: bounded, from and to required.
	wantStatus(t, e.req("GET", "/api/v1/cdrs/summary?group=customer&bucket=60&from=1700000000000&to=1700003600000", nil), 200)
	wantError(t, e.req("GET", "/api/v1/cdrs/summary?group=customer&bucket=60", nil), 400, admin.CodeInvalid, "bucket")
	wantError(t, e.req("GET", "/api/v1/cdrs/summary?group=customer&bucket=60&from=1600000000000&to=1700000000000", nil), 400, admin.CodeInvalid, "bucket")
	wantError(t, e.req("GET", "/api/v1/cdrs/summary?group=customer&bucket=10&from=1700000000000&to=1700003600000", nil), 400, admin.CodeInvalid, "bucket")
}
