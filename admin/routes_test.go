package admin_test

import (
	"reflect"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// TestConcurrentWrites races requests that conflict: exactly one of them
// may win, because the server serialises its check-then-write steps.
func TestConcurrentWrites(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	const n = 8
	codes := make(chan int, n)
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			codes <- e.req("POST", "/api/v1/customers/"+f.customer+"/routes", map[string]any{"prefix": "7", "card_id": f.card}).Code
		})
	}
	wg.Wait()
	close(codes)
	won := 0
	for c := range codes {
		switch c {
		case 201:
			won++
		case 409:
		default:
			t.Errorf("status %d", c)
		}
	}
	if won != 1 {
		t.Errorf("%d of %d identical routes were created, want 1", won, n)
	}
}

func TestGetRoute(t *testing.T) {
	e := newEnv(t, cheapArgon)
	f := e.fixture()
	other := e.create("/api/v1/customers", map[string]any{"name": "Other", "currency": "EUR"})
	base := "/api/v1/customers/" + f.customer + "/routes/"
	id := e.create("/api/v1/customers/"+f.customer+"/routes", map[string]any{"prefix": "44", "card_id": f.card,
		"strategy": "priority", "carriers": []map[string]any{{"carrier_id": f.carrier, "priority": 1}}, "max_attempts": 2})

	w := e.req("GET", base+id, nil)
	wantStatus(t, w, 200)
	var got store.Route
	decode(t, w, &got)
	want := store.Route{ID: id, CustomerID: f.customer, Prefix: "44", CardID: f.card, Strategy: "priority",
		Carriers: []store.RouteCarrier{{CarrierID: f.carrier, Priority: 1}}, MaxAttempts: 2}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("route\n %+v\nwant\n %+v", got, want)
	}
	wantError(t, e.req("GET", base+"nope", nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/"+other+"/routes/"+id, nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/nope/routes/"+id, nil), 404, admin.CodeNotFound, "")

	// Customer tokens follow the rule of every customer sub-resource:
	// their own to read, nothing to change, another's forbidden.
	e.newUser("cust", "customer", f.customer)
	e.newUser("ro", "read-only", "")
	cu, ro := e.tokenFor("cust"), e.tokenFor("ro")
	body := map[string]any{"prefix": "44", "card_id": f.card}
	for _, tt := range []struct {
		name, token, method, path string
		want                      int
	}{
		{"customer reads own", cu, "GET", base + id, 200},
		{"customer cannot replace own", cu, "PUT", base + id, 403},
		{"customer cannot read another's", cu, "GET", "/api/v1/customers/" + other + "/routes/" + id, 403},
		{"read-only reads", ro, "GET", base + id, 200},
		{"read-only cannot replace", ro, "PUT", base + id, 403},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b any
			if tt.method == "PUT" {
				b = body
			}
			if c := e.as(tt.token, tt.method, tt.path, b); c != tt.want {
				t.Errorf("%s %s = %d, want %d", tt.method, tt.path, c, tt.want)
			}
		})
	}
}

func TestPutRoute(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	second := e.create("/api/v1/carriers", map[string]any{"name": "Second", "currency": "EUR"})
	other := e.create("/api/v1/customers", map[string]any{"name": "Other", "currency": "EUR"})
	usd := e.create("/api/v1/carriers", map[string]any{"name": "USD carrier", "currency": "USD"})
	usdBuy := e.create("/api/v1/ratecards", map[string]any{"name": "USD buy", "kind": "provider", "carrier_id": usd})
	usdCard := e.create("/api/v1/ratecards", map[string]any{"name": "USD sell", "kind": "customer", "currency": "USD", "provider_cards": []string{usdBuy}})
	routes := "/api/v1/customers/" + f.customer + "/routes"
	id := e.create(routes, map[string]any{"prefix": "44", "card_id": f.card})
	e.create(routes, map[string]any{"prefix": "33", "card_id": f.card})
	otherRoute := e.create("/api/v1/customers/"+other+"/routes", map[string]any{"prefix": "49", "card_id": f.card})
	path := routes + "/" + id

	// A valid replacement changes strategy and prefix, and the switch's
	// tables are rebuilt.
	before := e.changes.Load()
	body := map[string]any{"prefix": "4420", "card_id": f.card, "strategy": "weighted",
		"carriers": []map[string]any{{"carrier_id": f.carrier, "weight": 30}, {"carrier_id": second, "weight": 70}}, "max_attempts": 1}
	w := e.req("PUT", path, body)
	wantStatus(t, w, 200)
	var got store.Route
	decode(t, w, &got)
	want := store.Route{ID: id, CustomerID: f.customer, Prefix: "4420", CardID: f.card, Strategy: "weighted",
		Carriers: []store.RouteCarrier{{CarrierID: f.carrier, Weight: 30}, {CarrierID: second, Weight: 70}}, MaxAttempts: 1}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("PUT answered\n %+v\nwant\n %+v", got, want)
	}
	if n := e.changes.Load(); n != before+1 {
		t.Errorf("OnChange called %d times, want once", n-before)
	}
	got = store.Route{}
	decode(t, e.req("GET", path, nil), &got)
	if got.Prefix != "4420" || got.Strategy != "weighted" || len(got.Carriers) != 2 {
		t.Errorf("GET after PUT: %+v", got)
	}
	// A full replace: fields left out are cleared, the strategy defaults.
	wantStatus(t, e.req("PUT", path, map[string]any{"id": id, "customer_id": f.customer, "prefix": "4420", "card_id": f.card}), 200)
	got = store.Route{}
	decode(t, e.req("GET", path, nil), &got)
	if want := (store.Route{ID: id, CustomerID: f.customer, Prefix: "4420", CardID: f.card, Strategy: "lcr"}); !reflect.DeepEqual(got, want) {
		t.Errorf("after a replace without a strategy: %+v", got)
	}

	rc := func(id string, prio int) map[string]any { return map[string]any{"carrier_id": id, "priority": prio} }
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		code   string
		field  string
	}{
		{"body id differs", path, map[string]any{"id": "other", "prefix": "44", "card_id": f.card}, 400, admin.CodeInvalid, "id"},
		{"body customer differs", path, map[string]any{"customer_id": other, "prefix": "44", "card_id": f.card}, 400, admin.CodeInvalid, "customer_id"},
		{"prefix not digits", path, map[string]any{"prefix": "+44", "card_id": f.card}, 400, admin.CodeInvalid, "prefix"},
		{"no card", path, map[string]any{"prefix": "44"}, 400, admin.CodeInvalid, "card_id"},
		{"unknown card", path, map[string]any{"prefix": "44", "card_id": "nope"}, 400, admin.CodeInvalid, "card_id"},
		{"provider card", path, map[string]any{"prefix": "44", "card_id": f.provider}, 400, admin.CodeInvalid, "card_id"},
		{"currency differs", path, map[string]any{"prefix": "44", "card_id": usdCard}, 400, admin.CodeInvalid, "card_id"},
		{"unknown strategy", path, map[string]any{"prefix": "44", "card_id": f.card, "strategy": "cheapest"}, 400, admin.CodeInvalid, "strategy"},
		{"priority without carriers", path, map[string]any{"prefix": "44", "card_id": f.card, "strategy": "priority"}, 400, admin.CodeInvalid, "carriers"},
		{"unknown carrier", path, map[string]any{"prefix": "44", "card_id": f.card, "strategy": "priority", "carriers": []any{rc("nope", 1)}}, 400, admin.CodeInvalid, "carriers"},
		{"unknown pinned", path, map[string]any{"prefix": "44", "card_id": f.card, "pin": []string{"nope"}}, 400, admin.CodeInvalid, "pin"},
		{"duplicate prefix", path, map[string]any{"prefix": "33", "card_id": f.card}, 409, admin.CodeConflict, "prefix"},
		{"unknown route", routes + "/nope", map[string]any{"prefix": "44", "card_id": f.card}, 404, admin.CodeNotFound, ""},
		{"another customer's route", routes + "/" + otherRoute, map[string]any{"prefix": "49", "card_id": f.card}, 404, admin.CodeNotFound, ""},
		{"route under another customer", "/api/v1/customers/" + other + "/routes/" + id, map[string]any{"prefix": "44", "card_id": f.card}, 404, admin.CodeNotFound, ""},
		{"unknown customer", "/api/v1/customers/nope/routes/" + id, map[string]any{"prefix": "44", "card_id": f.card}, 404, admin.CodeNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.changes.Load()
			wantError(t, e.req("PUT", tt.path, tt.body), tt.status, tt.code, tt.field)
			if e.changes.Load() != before {
				t.Error("a refused PUT called OnChange")
			}
		})
	}
	// Nothing refused changed a route; the other customer may have 33.
	got = store.Route{}
	decode(t, e.req("GET", path, nil), &got)
	if got.Prefix != "4420" || got.Strategy != "lcr" {
		t.Errorf("route after refused PUTs: %+v", got)
	}
	var o store.Route
	decode(t, e.req("GET", "/api/v1/customers/"+other+"/routes/"+otherRoute, nil), &o)
	if o.Prefix != "49" || o.CustomerID != other {
		t.Errorf("other customer's route after refused PUTs: %+v", o)
	}
	wantStatus(t, e.req("PUT", "/api/v1/customers/"+other+"/routes/"+otherRoute, map[string]any{"prefix": "33", "card_id": f.card}), 200)
	// Keeping its own prefix is no conflict with itself.
	wantStatus(t, e.req("PUT", path, map[string]any{"prefix": "4420", "card_id": f.card, "strategy": "priority",
		"carriers": []any{rc(second, 1), rc(f.carrier, 2)}}), 200)
}
