package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

func TestCustomerMoneyValidation(t *testing.T) {
	e := newCreditEnv(t)
	tests := []struct {
		name   string
		fields map[string]any
		field  string // "" when it is accepted
	}{
		{"all set", map[string]any{"tax_percent": "19.5", "credit_limit": "100.50", "max_call_cost": "2.5",
			"max_rate": "0.012345", "daily_spend_limit": "50", "min_margin": "0.001", "min_margin_percent": "5"}, ""},
		{"prepaid", map[string]any{"credit_limit": "0"}, ""},
		{"tax 0", map[string]any{"tax_percent": "0"}, ""},
		{"tax 100", map[string]any{"tax_percent": "100"}, ""},
		{"JPY whole limit", map[string]any{"currency": "JPY", "credit_limit": "1000"}, ""},
		{"KWD 3 decimals", map[string]any{"currency": "KWD", "credit_limit": "1.234"}, ""},
		{"tax over 100", map[string]any{"tax_percent": "100.5"}, "tax_percent"},
		{"negative tax", map[string]any{"tax_percent": "-1"}, "tax_percent"},
		{"tax not a number", map[string]any{"tax_percent": "twenty"}, "tax_percent"},
		{"tax 7 decimals", map[string]any{"tax_percent": "1.0000001"}, "tax_percent"},
		{"tax as number", map[string]any{"tax_percent": 20}, "tax_percent"},
		{"negative credit limit", map[string]any{"credit_limit": "-5"}, "credit_limit"},
		{"credit limit cents of a cent", map[string]any{"credit_limit": "10.001"}, "credit_limit"},
		{"JPY limit with decimals", map[string]any{"currency": "JPY", "credit_limit": "10.5"}, "credit_limit"},
		{"credit limit with spaces", map[string]any{"credit_limit": " 5"}, "credit_limit"},
		{"credit limit exponent", map[string]any{"credit_limit": "1e3"}, "credit_limit"},
		{"negative max call cost", map[string]any{"max_call_cost": "-0.01"}, "max_call_cost"},
		{"max rate 7 decimals", map[string]any{"max_rate": "0.0123456"}, "max_rate"},
		{"max rate junk", map[string]any{"max_rate": "cheap"}, "max_rate"},
		{"negative daily limit", map[string]any{"daily_spend_limit": "-1"}, "daily_spend_limit"},
		{"negative min margin", map[string]any{"min_margin": "-0.1"}, "min_margin"},
		{"min margin percent over 100", map[string]any{"min_margin_percent": "200"}, "min_margin_percent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"name": "A", "currency": "EUR"}
			for k, v := range tt.fields {
				body[k] = v
			}
			w := e.req("POST", "/api/v1/customers", body)
			if tt.field == "" {
				wantStatus(t, w, http.StatusCreated)
				return
			}
			wantError(t, w, http.StatusBadRequest, admin.CodeInvalid, tt.field)
		})
	}
	// PUT validates the same way.
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	wantError(t, e.req("PUT", "/api/v1/customers/"+id, map[string]any{"name": "A", "credit_limit": "-1"}), 400, admin.CodeInvalid, "credit_limit")
}

func TestCustomerMoneyView(t *testing.T) {
	e := newCreditEnv(t)
	ctx := t.Context()
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "daily_spend_limit": "5", "tax_percent": "20"})
	var v map[string]any
	decode(t, e.req("GET", "/api/v1/customers/"+id, nil), &v)
	wantFields(t, v, map[string]any{"balance": "0.00", "reserved": "0.00", "available": "0.00", "spent_today": "0.00", "daily_spend_available": "5.00"})

	wantStatus(t, e.req("POST", "/api/v1/customers/"+id+"/payments", map[string]any{"total": "12.00"}), 201)
	if ok, err := e.credit.Reserve(ctx, routing.BalanceAccount(id), "call-1", 1_500_000, 0, time.Minute); err != nil || !ok {
		t.Fatalf("Reserve = %v, %v", ok, err)
	}
	c, _ := store.GetJSON[store.Customer](ctx, e.st, store.Customers, id)
	day := routing.SpendAccount(c, time.Now())
	if _, err := e.credit.Post(ctx, day, "", store.Entry{Kind: routing.KindCharge, Key: routing.CallKey("c0", time.Now()), Amount: -1_254_321}); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.credit.Reserve(ctx, day, "call-1", 250_000, -5_000_000, time.Minute); err != nil || !ok {
		t.Fatalf("Reserve day = %v, %v", ok, err)
	}
	v = nil
	decode(t, e.req("GET", "/api/v1/customers/"+id, nil), &v)
	wantFields(t, v, map[string]any{"balance": "10.00", "reserved": "1.50", "available": "8.50",
		"spent_today": "1.254321", "daily_spend_available": "3.495679"})

	// The list shows the same; a JPY customer without a daily limit has
	// whole amounts and no daily fields.
	jpy := e.create("/api/v1/customers", map[string]any{"name": "J", "currency": "JPY"})
	var list struct{ Customers []map[string]any }
	decode(t, e.req("GET", "/api/v1/customers", nil), &list)
	for _, c := range list.Customers {
		switch c["id"] {
		case id:
			wantFields(t, c, map[string]any{"balance": "10.00", "available": "8.50"})
		case jpy:
			wantFields(t, c, map[string]any{"balance": "0", "reserved": "0", "available": "0", "spent_today": nil, "daily_spend_available": nil})
		default:
			t.Errorf("unexpected customer %v", c)
		}
	}

	// GET → PUT round trip: the read-only fields are accepted and ignored.
	v["name"] = "A renamed"
	v["balance"] = "1000000.00"
	w := e.req("PUT", "/api/v1/customers/"+id, v)
	wantStatus(t, w, 200)
	var put map[string]any
	decode(t, w, &put)
	wantFields(t, put, map[string]any{"name": "A renamed", "balance": "10.00", "tax_percent": "20"})
	stored, _ := store.GetJSON[store.Customer](ctx, e.st, store.Customers, id)
	if stored.Name != "A renamed" || stored.DailySpendLimit != "5" {
		t.Errorf("stored after round trip: %+v", stored)
	}
	v["balance_override"] = "1"
	wantError(t, e.req("PUT", "/api/v1/customers/"+id, v), 400, admin.CodeBadJSON, "balance_override")
	// A POST accepts them too.
	w = e.req("POST", "/api/v1/customers", map[string]any{"name": "B", "currency": "EUR", "balance": "5.00", "available": "5.00"})
	wantStatus(t, w, 201)
	var created map[string]any
	decode(t, w, &created)
	wantFields(t, created, map[string]any{"balance": "0.00"})
}

func TestMoneyWithoutCredit(t *testing.T) {
	e := newEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR", "tax_percent": "20", "daily_spend_limit": "5"})
	var v map[string]any
	decode(t, e.req("GET", "/api/v1/customers/"+id, nil), &v)
	wantFields(t, v, map[string]any{"tax_percent": "20", "balance": nil, "available": nil, "spent_today": nil})
	base := "/api/v1/customers/" + id
	for _, rq := range []struct {
		method, path string
		body         any
	}{
		{"GET", base + "/payments", nil},
		{"POST", base + "/payments", map[string]any{"total": "1.00"}},
		{"GET", base + "/payments/x", nil},
		{"PUT", base + "/payments/x", map[string]any{"status": "completed"}},
		{"GET", base + "/ledger", nil},
		{"POST", base + "/ledger", map[string]any{"amount": "1", "reason": "r"}},
	} {
		wantError(t, e.req(rq.method, rq.path, rq.body), http.StatusServiceUnavailable, admin.CodeUnavailable, "")
	}
}

// wantFields checks members of a JSON object; a nil want means absent.
func wantFields(t *testing.T, got map[string]any, want map[string]any) {
	t.Helper()
	for k, w := range want {
		g, ok := got[k]
		if w == nil {
			if ok {
				t.Errorf("%s = %v, want it absent", k, g)
			}
			continue
		}
		if g != w {
			t.Errorf("%s = %v, want %v", k, g, w)
		}
	}
}
