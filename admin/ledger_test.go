package admin_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

type ledgerPage struct {
	CustomerID string `json:"customer_id"`
	Currency   string
	Balance    string
	Reserved   string
	Available  string
	Entries    []struct {
		Seq     uint64
		At      int64 `json:"at_ms"`
		Kind    string
		Key     string
		Amount  string
		Balance string
		Reason  string
	}
	NextAfter  uint64 `json:"next_after"`
	Consistent bool
}

func TestAdjustment(t *testing.T) {
	e := newCreditEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	path := "/api/v1/customers/" + id + "/ledger"
	w := e.req("POST", path, map[string]any{"amount": "-1.50", "reason": "refund of a duplicate charge"})
	wantStatus(t, w, http.StatusCreated)
	var en map[string]any
	decode(t, w, &en)
	wantFields(t, en, map[string]any{"seq": float64(1), "kind": routing.KindAdjustment, "amount": "-1.50",
		"balance": "-1.50", "reason": "refund of a duplicate charge"})
	if k, _ := en["key"].(string); !strings.HasPrefix(k, "adjustment/") || len(k) <= len("adjustment/") {
		t.Errorf("key = %q", k)
	}
	if b := e.balance(id); b != "-1.50" {
		t.Errorf("balance = %s", b)
	}
	tests := []struct {
		name  string
		body  any
		code  string
		field string
	}{
		{"no reason", map[string]any{"amount": "1"}, admin.CodeInvalid, "reason"},
		{"long reason", map[string]any{"amount": "1", "reason": strings.Repeat("r", 257)}, admin.CodeInvalid, "reason"},
		{"control in reason", map[string]any{"amount": "1", "reason": "a\x00b"}, admin.CodeInvalid, "reason"},
		{"no amount", map[string]any{"reason": "r"}, admin.CodeInvalid, "amount"},
		{"zero", map[string]any{"amount": "0.00", "reason": "r"}, admin.CodeInvalid, "amount"},
		{"7 decimals", map[string]any{"amount": "0.0000001", "reason": "r"}, admin.CodeInvalid, "amount"},
		{"junk", map[string]any{"amount": "1.2.3", "reason": "r"}, admin.CodeInvalid, "amount"},
		{"unknown field", map[string]any{"amount": "1", "reason": "r", "kind": "payment"}, admin.CodeBadJSON, "kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, e.req("POST", path, tt.body), http.StatusBadRequest, tt.code, tt.field)
		})
	}
	wantError(t, e.req("POST", "/api/v1/customers/nope/ledger", map[string]any{"amount": "1", "reason": "r"}), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/nope/ledger", nil), 404, admin.CodeNotFound, "")
}

func TestLedgerAddsUp(t *testing.T) {
	e := newCreditEnv(t)
	ctx := t.Context()
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "tax_percent": "19"})
	path := "/api/v1/customers/" + id + "/ledger"
	var page ledgerPage
	decode(t, e.req("GET", path, nil), &page)
	if !page.Consistent || page.Balance != "0.00" || len(page.Entries) != 0 || page.NextAfter != 0 {
		t.Errorf("empty ledger %+v", page)
	}
	e.create("/api/v1/customers/"+id+"/payments", map[string]any{"total": "9.99"})
	pending := e.create("/api/v1/customers/"+id+"/payments", map[string]any{"total": "100", "status": "pending"})
	wantStatus(t, e.req("POST", path, map[string]any{"amount": "2.5", "reason": "goodwill"}), 201)
	for i := range 4 {
		_, err := e.credit.Post(ctx, routing.BalanceAccount(id), "", store.Entry{
			Kind: routing.KindCharge, Key: routing.CallKey(fmt.Sprint("call", i), time.Now()), Amount: -12_345})
		if err != nil {
			t.Fatal(err)
		}
	}
	wantStatus(t, e.req("PUT", "/api/v1/customers/"+id+"/payments/"+pending, map[string]any{"status": "completed"}), 200)
	wantStatus(t, e.req("POST", path, map[string]any{"amount": "-0.000001", "reason": "rounding"}), 201)

	// 9.99 at 19 % nets 8.39; 100 nets 84.03.
	want := money(t, "8.39") + money(t, "2.5") - 4*12_345 + money(t, "84.03") - 1
	decode(t, e.req("GET", path, nil), &page)
	if !page.Consistent || page.Balance != rating.FormatMoney(want, 2) || len(page.Entries) != 8 {
		t.Fatalf("ledger %+v, want balance %s", page, rating.FormatMoney(want, 2))
	}
	var sum rating.Money
	for i, en := range page.Entries {
		sum += money(t, en.Amount)
		if en.Seq != uint64(i+1) || en.Balance != rating.FormatMoney(sum, 2) || en.At == 0 {
			t.Errorf("entry %d: %+v, running sum %s", i, en, rating.FormatMoney(sum, 2))
		}
	}
	if page.Entries[0].Kind != routing.KindPayment || page.Entries[0].Amount != "8.39" || page.Entries[3].Amount != "-0.012345" {
		t.Errorf("entries %+v", page.Entries)
	}
	if last := page.Entries[len(page.Entries)-1]; last.Balance != page.Balance {
		t.Errorf("last running balance %s, balance %s", last.Balance, page.Balance)
	}

	// Pages of 3 cover the same entries.
	var seqs []uint64
	after := uint64(0)
	for range 10 {
		var p ledgerPage
		decode(t, e.req("GET", fmt.Sprintf("%s?after=%d&limit=3", path, after), nil), &p)
		if !p.Consistent || p.Balance != page.Balance {
			t.Errorf("page after %d: %+v", after, p)
		}
		for _, en := range p.Entries {
			seqs = append(seqs, en.Seq)
		}
		if p.NextAfter == 0 {
			break
		}
		after = p.NextAfter
	}
	if fmt.Sprint(seqs) != "[1 2 3 4 5 6 7 8]" {
		t.Errorf("paged seqs %v", seqs)
	}
	for _, q := range []string{"after=-1", "after=x", "limit=0", "limit=1001", "limit=x"} {
		wantError(t, e.req("GET", path+"?"+q, nil), 400, admin.CodeInvalid, strings.Split(q, "=")[0])
	}
}

func TestMoneyRoles(t *testing.T) {
	e := newCreditEnv(t, cheapArgon)
	a := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	b := e.create("/api/v1/customers", map[string]any{"name": "B", "currency": "EUR"})
	pa := e.create("/api/v1/customers/"+a+"/payments", map[string]any{"total": "1", "status": "pending"})
	pb := e.create("/api/v1/customers/"+b+"/payments", map[string]any{"total": "1", "status": "pending"})
	e.newUser("ro", "read-only", "")
	e.newUser("cust", "customer", a)
	ro, cu := e.tokenFor("ro"), e.tokenFor("cust")
	ca, cb := "/api/v1/customers/"+a, "/api/v1/customers/"+b
	pay := map[string]any{"total": "1"}
	done := map[string]any{"status": "completed"}
	adj := map[string]any{"amount": "1", "reason": "r"}
	tests := []struct {
		name, token, method, path string
		body                      any
		want                      int
	}{
		{"ro lists payments", ro, "GET", cb + "/payments", nil, 200},
		{"ro reads a payment", ro, "GET", cb + "/payments/" + pb, nil, 200},
		{"ro reads a ledger", ro, "GET", cb + "/ledger", nil, 200},
		{"ro cannot pay", ro, "POST", cb + "/payments", pay, 403},
		{"ro cannot complete", ro, "PUT", cb + "/payments/" + pb, done, 403},
		{"ro cannot adjust", ro, "POST", cb + "/ledger", adj, 403},
		{"customer lists own payments", cu, "GET", ca + "/payments", nil, 200},
		{"customer reads own payment", cu, "GET", ca + "/payments/" + pa, nil, 200},
		{"customer reads own ledger", cu, "GET", ca + "/ledger", nil, 200},
		{"customer cannot list another's payments", cu, "GET", cb + "/payments", nil, 403},
		{"customer cannot read another's payment", cu, "GET", cb + "/payments/" + pb, nil, 403},
		{"customer cannot read another's payment via own path", cu, "GET", ca + "/payments/" + pb, nil, 404},
		{"customer cannot read another's ledger", cu, "GET", cb + "/ledger", nil, 403},
		{"customer cannot pay itself", cu, "POST", ca + "/payments", pay, 403},
		{"customer cannot complete own payment", cu, "PUT", ca + "/payments/" + pa, done, 403},
		{"customer cannot adjust itself", cu, "POST", ca + "/ledger", adj, 403},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if c := e.as(tt.token, tt.method, tt.path, tt.body); c != tt.want {
				t.Fatalf("%s %s = %d, want %d", tt.method, tt.path, c, tt.want)
			}
		})
	}
	if e.balance(a) != "0.00" || e.balance(b) != "0.00" {
		t.Errorf("balances moved: %s, %s", e.balance(a), e.balance(b))
	}
}

func money(t *testing.T, s string) rating.Money {
	t.Helper()
	m, err := rating.ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// Adjustments that would take the balance past what a ledger keeps are a
// 409 and change nothing; the balance never wraps around.
func TestLedgerBalanceBounds(t *testing.T) {
	e := newCreditEnv(t)
	id := e.fixture().customer
	adjust := func() int {
		return e.req("POST", "/api/v1/customers/"+id+"/ledger", map[string]any{"amount": "-999999999999", "reason": "test"}).Code
	}
	if code := adjust(); code != 201 {
		t.Fatalf("first adjustment: %d", code)
	}
	if code := adjust(); code != 409 {
		t.Fatalf("an adjustment past the bound: %d, want 409", code)
	}
	a, err := e.credit.Account(t.Context(), id)
	if err != nil || a.Balance != -999_999_999_999_000_000 || a.Entries != 1 {
		t.Fatalf("balance after the refused adjustment: %+v, %v", a, err)
	}
}
