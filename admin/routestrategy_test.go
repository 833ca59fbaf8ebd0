package admin_test

import (
	"fmt"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestRouteStrategyValidation(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	other := e.create("/api/v1/carriers", map[string]any{"name": "Other", "currency": "EUR"})
	rc := func(id string, prio, weight int) map[string]any {
		return map[string]any{"carrier_id": id, "priority": prio, "weight": weight}
	}
	many := make([]map[string]any, 65)
	for i := range many {
		many[i] = rc(fmt.Sprint("k", i), 0, 1)
	}
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"default lcr", map[string]any{}, 201, ""},
		{"priority", map[string]any{"strategy": "priority", "carriers": []any{rc(f.carrier, 1, 0), rc(other, 2, 0)}}, 201, ""},
		{"weighted", map[string]any{"strategy": "weighted", "carriers": []any{rc(f.carrier, 0, 70), rc(other, 0, 30)}, "max_attempts": 2}, 201, ""},
		{"pin and block", map[string]any{"pin": []string{f.carrier}, "block": []string{other}}, 201, ""},
		{"unknown strategy", map[string]any{"strategy": "cheapest"}, 400, "strategy"},
		{"weights sum to 0", map[string]any{"strategy": "weighted", "carriers": []any{rc(f.carrier, 0, 0)}}, 400, "carriers"},
		{"weighted without carriers", map[string]any{"strategy": "weighted"}, 400, "carriers"},
		{"negative weight", map[string]any{"strategy": "weighted", "carriers": []any{rc(f.carrier, 0, -1), rc(other, 0, 5)}}, 400, "carriers"},
		{"priority without carriers", map[string]any{"strategy": "priority"}, 400, "carriers"},
		{"carrier twice", map[string]any{"strategy": "priority", "carriers": []any{rc(f.carrier, 1, 0), rc(f.carrier, 2, 0)}}, 400, "carriers"},
		{"too many carriers", map[string]any{"strategy": "weighted", "carriers": many}, 400, "carriers"},
		{"unknown carrier", map[string]any{"strategy": "priority", "carriers": []any{rc("nope", 1, 0)}}, 400, "carriers"},
		{"unknown pinned", map[string]any{"pin": []string{"nope"}}, 400, "pin"},
		{"unknown blocked", map[string]any{"block": []string{"nope"}}, 400, "block"},
		{"pinned and blocked", map[string]any{"pin": []string{f.carrier}, "block": []string{f.carrier}}, 400, "block"},
		{"negative max attempts", map[string]any{"max_attempts": -1}, 400, "max_attempts"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["card_id"], tt.body["prefix"] = f.card, fmt.Sprint(100+i)
			w := e.req("POST", "/api/v1/customers/"+f.customer+"/routes", tt.body)
			if tt.status != 201 {
				wantError(t, w, tt.status, admin.CodeInvalid, tt.field)
				return
			}
			wantStatus(t, w, 201)
			var got store.Route
			decode(t, w, &got)
			if want, _ := tt.body["strategy"].(string); got.Strategy != want && !(want == "" && got.Strategy == "lcr") {
				t.Errorf("strategy %q, want %q", got.Strategy, want)
			}
		})
	}
}

func TestCarrierFailoverValidation(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
	}{
		{"all set", map[string]any{"failover_codes": []int{486, 503}, "first_reply_timeout_ms": 2000, "ring_timeout_ms": 60000, "pdd_timeout_ms": 8000}, 201, ""},
		{"code 2xx", map[string]any{"failover_codes": []int{200}}, 400, "failover_codes"},
		{"code 700", map[string]any{"failover_codes": []int{700}}, 400, "failover_codes"},
		{"code twice", map[string]any{"failover_codes": []int{486, 486}}, 400, "failover_codes"},
		{"first reply too short", map[string]any{"first_reply_timeout_ms": 50}, 400, "first_reply_timeout_ms"},
		{"first reply past Timer B", map[string]any{"first_reply_timeout_ms": 40000}, 400, "first_reply_timeout_ms"},
		{"ring past Timer C", map[string]any{"ring_timeout_ms": 200000}, 400, "ring_timeout_ms"},
		{"pdd negative", map[string]any{"pdd_timeout_ms": -1}, 400, "pdd_timeout_ms"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.body["name"], tt.body["currency"] = "C", "EUR"
			w := e.req("POST", "/api/v1/carriers", tt.body)
			if tt.status != 201 {
				wantError(t, w, tt.status, admin.CodeInvalid, tt.field)
				return
			}
			wantStatus(t, w, 201)
			var got store.Carrier
			decode(t, w, &got)
			if len(got.FailoverCodes) != 2 || got.FirstReplyTimeoutMS != 2000 || got.RingTimeoutMS != 60000 || got.PDDTimeoutMS != 8000 {
				t.Errorf("created %+v", got)
			}
		})
	}
}
