package admin_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// balance returns the customer's balance as the API shows it.
func (e *env) balance(id string) string {
	e.t.Helper()
	var v map[string]any
	decode(e.t, e.req("GET", "/api/v1/customers/"+id, nil), &v)
	s, _ := v["balance"].(string)
	return s
}

// entriesUnder counts the customer's ledger entries with key.
func (e *env) entriesUnder(id, key string) int {
	e.t.Helper()
	es, err := e.credit.Entries(e.t.Context(), routing.BalanceAccount(id), 0, 0)
	if err != nil {
		e.t.Fatal(err)
	}
	n := 0
	for _, x := range es {
		if x.Key == key {
			n++
		}
	}
	return n
}

func TestPaymentTakesTaxOut(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "tax_percent": "20"})
	w := e.req("POST", "/api/v1/customers/"+id+"/payments", map[string]any{"total": "12", "description": "wire 2026-03"})
	wantStatus(t, w, http.StatusCreated)
	var p store.Payment
	decode(t, w, &p)
	if p.Total != "12.00" || p.TaxPercent != "20" || p.Tax != "2.00" || p.Net != "10.00" || p.Currency != "EUR" ||
		p.Status != admin.PaymentCompleted || p.Created == 0 || p.Completed < p.Created || p.CustomerID != id {
		t.Errorf("payment %+v", p)
	}
	if loc := w.Header().Get("Location"); loc != "/api/v1/customers/"+id+"/payments/"+p.ID {
		t.Errorf("Location = %q", loc)
	}
	if b := e.balance(id); b != "10.00" {
		t.Errorf("balance = %s, want 10.00", b)
	}
	posted, ok, err := e.credit.Posted(t.Context(), routing.BalanceAccount(id), routing.PaymentKey(p.ID))
	if err != nil || !ok || posted != 10_000_000 {
		t.Errorf("Posted = %d, %v, %v", posted, ok, err)
	}
	var got store.Payment
	decode(t, e.req("GET", "/api/v1/customers/"+id+"/payments/"+p.ID, nil), &got)
	if got != p {
		t.Errorf("GET = %+v, want %+v", got, p)
	}

	// No tax, and a currency without minor units.
	jpy := e.create("/api/v1/customers", map[string]any{"name": "J", "currency": "JPY", "tax_percent": "10"})
	decode(t, e.req("POST", "/api/v1/customers/"+jpy+"/payments", map[string]any{"total": "1000"}), &p)
	if p.Total != "1000" || p.Tax != "91" || p.Net != "909" {
		t.Errorf("JPY payment %+v", p)
	}
	free := e.create("/api/v1/customers", map[string]any{"name": "F", "currency": "USD"})
	decode(t, e.req("POST", "/api/v1/customers/"+free+"/payments", map[string]any{"total": "9.99"}), &p)
	if p.TaxPercent != "0" || p.Tax != "0.00" || p.Net != "9.99" || e.balance(free) != "9.99" {
		t.Errorf("untaxed payment %+v", p)
	}
}

func TestPendingPaymentCompletesOnce(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "tax_percent": "20"})
	base := "/api/v1/customers/" + id + "/payments"
	w := e.req("POST", base, map[string]any{"total": "12.00", "status": "pending"})
	wantStatus(t, w, http.StatusCreated)
	var p store.Payment
	decode(t, w, &p)
	if p.Status != admin.PaymentPending || p.Net != "" || p.Completed != 0 {
		t.Errorf("pending payment %+v", p)
	}
	if b := e.balance(id); b != "0.00" {
		t.Fatalf("pending payment credited: balance %s", b)
	}
	// The tax is the customer's when the payment completes.
	wantStatus(t, e.req("PUT", "/api/v1/customers/"+id, map[string]any{"name": "A", "tax_percent": "25"}), 200)

	var (
		wg      sync.WaitGroup
		mu      sync.Mutex
		answers []store.Payment
	)
	put := func() {
		w := e.req("PUT", base+"/"+p.ID, map[string]any{"status": "completed"})
		var got store.Payment // decode may not Fatal off the test's goroutine
		if w.Code == 200 {
			json.Unmarshal(w.Body.Bytes(), &got)
		}
		mu.Lock()
		answers = append(answers, got)
		mu.Unlock()
	}
	for range 5 {
		put()
	}
	for range 20 {
		wg.Add(1)
		go func() { defer wg.Done(); put() }()
	}
	wg.Wait()
	if len(answers) != 25 {
		t.Fatalf("%d answers", len(answers))
	}
	for _, a := range answers {
		if a != answers[0] || a.Status != admin.PaymentCompleted || a.Tax != "2.40" || a.Net != "9.60" || a.TaxPercent != "25" {
			t.Fatalf("answer %+v, first %+v", a, answers[0])
		}
	}
	if b := e.balance(id); b != "9.60" {
		t.Errorf("balance = %s, want 9.60", b)
	}
	if n := e.entriesUnder(id, routing.PaymentKey(p.ID)); n != 1 {
		t.Errorf("%d ledger entries for the payment, want 1", n)
	}
	wantError(t, e.req("PUT", base+"/"+p.ID, map[string]any{"status": "pending"}), http.StatusConflict, admin.CodeConflict, "status")
	wantError(t, e.req("PUT", base+"/"+p.ID, map[string]any{"status": "cancelled"}), http.StatusConflict, admin.CodeConflict, "status")
}

func TestCancelPayment(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	base := "/api/v1/customers/" + id + "/payments"
	pid := e.create(base, map[string]any{"total": "5.00", "status": "pending"})
	for range 2 {
		var p store.Payment
		w := e.req("PUT", base+"/"+pid, map[string]any{"status": "cancelled"})
		wantStatus(t, w, 200)
		decode(t, w, &p)
		if p.Status != admin.PaymentCancelled {
			t.Errorf("cancelled payment %+v", p)
		}
	}
	wantError(t, e.req("PUT", base+"/"+pid, map[string]any{"status": "completed"}), http.StatusConflict, admin.CodeConflict, "status")
	wantError(t, e.req("PUT", base+"/"+pid, map[string]any{"status": "pending"}), http.StatusConflict, admin.CodeConflict, "status")
	if b := e.balance(id); b != "0.00" {
		t.Errorf("balance after a cancelled payment = %s", b)
	}
}

// TestPaymentAfterCrash replays a completion that posted to the ledger and
// died before recording the payment completed.
func TestPaymentAfterCrash(t *testing.T) {
	e := newCreditEnv(t)
	ctx := t.Context()
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "tax_percent": "20"})
	base := "/api/v1/customers/" + id + "/payments"
	half := func(pid string) {
		_, err := e.credit.Post(ctx, routing.BalanceAccount(id), "", store.Entry{Kind: routing.KindPayment, Key: routing.PaymentKey(pid), Amount: 10_000_000})
		if err != nil {
			t.Fatal(err)
		}
	}
	done := e.create(base, map[string]any{"total": "12.00", "status": "pending"})
	half(done)
	wantStatus(t, e.req("PUT", base+"/"+done, map[string]any{"status": "completed"}), 200)
	if b := e.balance(id); b != "10.00" {
		t.Errorf("balance after a retried completion = %s, want 10.00", b)
	}
	gone := e.create(base, map[string]any{"total": "12.00", "status": "pending"})
	half(gone)
	wantStatus(t, e.req("PUT", base+"/"+gone, map[string]any{"status": "cancelled"}), 200)
	if b := e.balance(id); b != "10.00" {
		t.Errorf("balance after cancelling a half-completed payment = %s, want 10.00", b)
	}
}

func TestPaymentValidation(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	other := e.create("/api/v1/customers", map[string]any{"name": "B", "currency": "EUR"})
	base := "/api/v1/customers/" + id + "/payments"
	tests := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"no total", map[string]any{"description": "x"}, admin.CodeInvalid, "total"},
		{"zero", map[string]any{"total": "0.00"}, admin.CodeInvalid, "total"},
		{"negative", map[string]any{"total": "-1"}, admin.CodeInvalid, "total"},
		{"too many decimals", map[string]any{"total": "12.001"}, admin.CodeInvalid, "total"},
		{"junk", map[string]any{"total": "12,00"}, admin.CodeInvalid, "total"},
		{"number", map[string]any{"total": 12}, admin.CodeInvalid, "total"},
		{"long description", map[string]any{"total": "1", "description": strings.Repeat("x", 257)}, admin.CodeInvalid, "description"},
		{"control character", map[string]any{"total": "1", "description": "a\nb"}, admin.CodeInvalid, "description"},
		{"bad status", map[string]any{"total": "1", "status": "refunded"}, admin.CodeInvalid, "status"},
		{"cancelled at once", map[string]any{"total": "1", "status": "cancelled"}, admin.CodeInvalid, "status"},
		{"unknown field", map[string]any{"total": "1", "tax": "0.2"}, admin.CodeBadJSON, "tax"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.req("POST", base, tt.body), http.StatusBadRequest, tt.code, tt.field)
		})
	}
	pid := e.create(base, map[string]any{"total": "1", "status": "pending", "description": strings.Repeat("é", 128)})
	wantError(t, e.req("POST", "/api/v1/customers/nope/payments", map[string]any{"total": "1"}), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/nope/payments", nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", base+"/nope", nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("PUT", base+"/nope", map[string]any{"status": "completed"}), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/"+other+"/payments/"+pid, nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("PUT", "/api/v1/customers/"+other+"/payments/"+pid, map[string]any{"status": "completed"}), 404, admin.CodeNotFound, "")
	wantError(t, e.req("PUT", base+"/"+pid, map[string]any{}), 400, admin.CodeInvalid, "status")
	wantError(t, e.req("PUT", base+"/"+pid, map[string]any{"status": "done"}), 400, admin.CodeInvalid, "status")
	wantError(t, e.req("PUT", base+"/"+pid, map[string]any{"status": "completed", "total": "5"}), 400, admin.CodeBadJSON, "total")
	if b := e.balance(other); b != "0.00" {
		t.Errorf("other customer's balance = %s", b)
	}
}

func TestListPayments(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	other := e.create("/api/v1/customers", map[string]any{"name": "B", "currency": "EUR"})
	base := "/api/v1/customers/" + id + "/payments"
	var list struct{ Payments []store.Payment }
	w := e.req("GET", base, nil)
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), "null") {
		t.Errorf("empty list = %s", w.Body)
	}
	for _, total := range []string{"1", "2", "3"} {
		e.create(base, map[string]any{"total": total})
	}
	e.create("/api/v1/customers/"+other+"/payments", map[string]any{"total": "4"})
	decode(t, e.req("GET", base, nil), &list)
	if len(list.Payments) != 3 {
		t.Fatalf("list = %+v", list.Payments)
	}
	for i := 1; i < len(list.Payments); i++ {
		a, b := list.Payments[i-1], list.Payments[i]
		if a.Created < b.Created || (a.Created == b.Created && a.ID < b.ID) {
			t.Errorf("not newest first: %+v before %+v", a, b)
		}
	}
	if b := e.balance(id); b != "6.00" {
		t.Errorf("balance = %s, want 6.00", b)
	}
}

// A payment or adjustment retried with the same Idempotency-Key credits
// once; the key reused for something else is a 409.
func TestIdempotencyKey(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "tax_percent": "20"})
	post := func(path, key string, body map[string]any) *httptest.ResponseRecorder {
		t.Helper()
		return e.reqWith("POST", path, body, map[string]string{"Idempotency-Key": key})
	}
	var ids []string
	for range 3 {
		w := post("/api/v1/customers/"+id+"/payments", "pay-1", map[string]any{"total": "12.00"})
		wantStatus(t, w, 201)
		var p struct{ ID, Net, Status string }
		decode(t, w, &p)
		if p.Net != "10.00" || p.Status != "completed" {
			t.Fatalf("payment %+v", p)
		}
		ids = append(ids, p.ID)
	}
	if ids[0] != ids[1] || ids[1] != ids[2] {
		t.Fatalf("retries made payments %v", ids)
	}
	wantStatus(t, post("/api/v1/customers/"+id+"/payments", "pay-1", map[string]any{"total": "13.00"}), 409)
	for range 2 {
		wantStatus(t, post("/api/v1/customers/"+id+"/ledger", "adj-1", map[string]any{"amount": "-1.50", "reason": "fee"}), 201)
	}
	wantStatus(t, post("/api/v1/customers/"+id+"/ledger", "adj-1", map[string]any{"amount": "-2", "reason": "fee"}), 409)
	wantStatus(t, post("/api/v1/customers/"+id+"/ledger", "bad key", map[string]any{"amount": "-2", "reason": "fee"}), 400)
	a, err := e.credit.Account(t.Context(), id)
	if err != nil || a.Balance != 8_500_000 || a.Entries != 2 {
		t.Fatalf("account after retries: %+v, %v; want 8.50 in 2 entries", a, err)
	}
}
