package admin_test

import (
	"cmp"
	"encoding/csv"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// A customer reads the rates it pays (its route's card), searched by
// prefix, a page at a time or all as CSV; the CSV loads back into a card
// as the same rows. Another customer's rates and cards are refused.
func TestCustomerRates(t *testing.T) {
	e := newEnv(t, cheapArgon)
	f := e.fixture()
	deck := `[
		{"prefix":"4420","description":"=cmd|' /C calc'!A0","rate":"0.0123","connection_fee":"0.01","initial_increment":30,"subsequent_increment":6},
		{"prefix":"44","rate":"0.02","effective_from":1700000000,"effective_to":1800000000},
		{"prefix":"447","rate":"0.05","grace":3},
		{"prefix":"1","rate":"0","blocked":true}
	]`
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.card+"/rates", deck), 200)
	e.create("/api/v1/customers/"+f.customer+"/routes", map[string]any{"prefix": "", "card_id": f.card})
	other := e.create("/api/v1/customers", map[string]any{"name": "Other", "currency": "EUR"})
	e.newUser("cust", "customer", f.customer)
	tok := e.tokenFor("cust")
	get := func(path string) (int, string) {
		t.Helper()
		w := e.send("GET", path, nil, "Bearer "+tok, "")
		return w.Code, w.Body.String()
	}
	base := "/api/v1/customers/" + f.customer + "/rates"

	var page struct {
		Card      struct{ ID, Name string }
		Rates     []store.Rate
		Total     int
		Truncated bool
	}
	w := e.send("GET", base+"?prefix=44&limit=2", nil, "Bearer "+tok, "")
	wantStatus(t, w, 200)
	decode(t, w, &page)
	if page.Card.ID != f.card || page.Total != 3 || len(page.Rates) != 2 || !page.Truncated {
		t.Fatalf("a page of 44: %+v", page)
	}
	for _, r := range page.Rates {
		if !strings.HasPrefix(r.Prefix, "44") {
			t.Errorf("row %+v does not start with 44", r)
		}
	}

	code, body := get(base + "?format=csv")
	if code != 200 {
		t.Fatalf("CSV: %d %s", code, body)
	}
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if err != nil || len(rows) != 5 || rows[0][0] != "prefix" {
		t.Fatalf("CSV rows %q: %v", rows, err)
	}
	if !strings.Contains(body, `'=cmd`) {
		t.Errorf("a description that looks like a formula is not made inert: %s", body)
	}
	// The download loads back as the same card.
	copyCard := e.create("/api/v1/ratecards", map[string]any{"name": "Copy", "kind": "customer", "currency": "EUR", "provider_cards": []string{f.provider}})
	up := e.send("POST", "/api/v1/ratecards/"+copyCard+"/rates", body, "Bearer "+e.token, "text/csv")
	wantStatus(t, up, 200)
	var a, b struct{ Rates []store.Rate }
	decode(t, e.req("GET", "/api/v1/ratecards/"+f.card+"/rates", nil), &a)
	decode(t, e.req("GET", "/api/v1/ratecards/"+copyCard+"/rates", nil), &b)
	for i := range a.Rates { // 0 is the card's default increment; a formula is kept inert
		a.Rates[i].Initial, a.Rates[i].Increment = cmp.Or(a.Rates[i].Initial, rating.DefaultInitial), cmp.Or(a.Rates[i].Increment, rating.DefaultIncrement)
		if i < len(b.Rates) && strings.HasPrefix(a.Rates[i].Description, "=") {
			b.Rates[i].Description = strings.TrimPrefix(b.Rates[i].Description, "'")
		}
	}
	if !reflect.DeepEqual(a.Rates, b.Rates) {
		t.Errorf("the CSV loaded back differs:\n%+v\n%+v", a.Rates, b.Rates)
	}

	if code, _ := get("/api/v1/customers/" + other + "/rates"); code != http.StatusForbidden {
		t.Errorf("another customer's rates = %d, want 403", code)
	}
	if code, _ := get(base + "?card=" + f.provider); code != http.StatusNotFound {
		t.Errorf("a card not of the customer's routes = %d, want 404", code)
	}
	if code, _ := get("/api/v1/ratecards/" + f.card + "/rates"); code != http.StatusForbidden {
		t.Errorf("a customer reading a card directly = %d, want 403", code)
	}
	wantError(t, e.req("GET", base+"?prefix=4x", nil), 400, admin.CodeInvalid, "prefix")
	wantError(t, e.req("GET", base+"?limit=0", nil), 400, admin.CodeInvalid, "limit")
	wantError(t, e.req("GET", base+"?format=xml", nil), 400, admin.CodeInvalid, "format")

	// An operator searches a card the same way.
	var op struct{ Total int }
	decode(t, e.req("GET", "/api/v1/ratecards/"+f.card+"/rates?prefix=447", nil), &op)
	if op.Total != 1 {
		t.Errorf("operator search 447: %+v", op)
	}
}

// A customer's user chooses its own CDR columns, among a customer's only;
// it reads no operator column back; another customer's are not its own.
func TestCustomerChoosesCDRFields(t *testing.T) {
	e := newEnv(t, cheapArgon)
	f := e.fixture()
	other := e.create("/api/v1/customers", map[string]any{"name": "Other", "currency": "EUR"})
	e.newUser("cust", "customer", f.customer)
	tok := e.tokenFor("cust")
	path := "/api/v1/customers/" + f.customer + "/cdr-fields"
	var got struct{ Fields []string }
	w := e.send("GET", path, nil, "Bearer "+tok, "")
	wantStatus(t, w, 200)
	decode(t, w, &got)
	for _, f := range got.Fields {
		if f == "carrier_id" || f == "buy_cost" || f == "margin" {
			t.Fatalf("a customer reads operator columns: %v", got.Fields)
		}
	}
	w = e.send("PUT", path, map[string]any{"fields": []string{"setup_time", "callee", "duration", "sell_cost"}}, "Bearer "+tok, "application/json")
	wantStatus(t, w, 200)
	er := wantError(t, e.send("PUT", path, map[string]any{"fields": []string{"callee", "buy_cost"}}, "Bearer "+tok, "application/json"), 400, admin.CodeInvalid, "fields")
	wantError(t, e.send("PUT", path, map[string]any{"fields": []string{"nonsense"}}, "Bearer "+tok, "application/json"), 400, admin.CodeInvalid, "fields")
	w = e.send("PUT", path, map[string]any{"fields": []string{"nonsense"}}, "Bearer "+tok, "application/json")
	w2 := e.send("PUT", "/api/v1/customers/"+f.customer+"/cdr-fields", map[string]any{"fields": []string{}}, "Bearer "+tok, "application/json")
	for _, body := range []string{er.Message, w.Body.String(), w2.Body.String()} {
		if strings.Contains(body, "buy_rate") || strings.Contains(body, "margin") || strings.Contains(body, "trace") {
			t.Errorf("a customer is told operator columns: %s", body)
		}
	}
	wantStatus(t, e.send("PUT", path, map[string]any{"fields": []string{"setup_time", "callee", "duration", "sell_cost"}}, "Bearer "+tok, "application/json"), 200)
	if code := e.as(tok, "PUT", "/api/v1/customers/"+other+"/cdr-fields", map[string]any{"fields": []string{"callee"}}); code != 403 {
		t.Errorf("another customer's columns = %d, want 403", code)
	}
	decode(t, e.req("GET", path, nil), &got)
	if strings.Join(got.Fields, ",") != "setup_time,callee,duration,sell_cost" {
		t.Fatalf("the operator reads %v", got.Fields)
	}
}
