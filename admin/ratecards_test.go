package admin_test

import (
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// fixture holds a carrier with a provider card and a customer with a
// customer card derived from it, all in EUR.
type fixture struct {
	carrier, provider, customer, card string
}

func (e *env) fixture() fixture {
	e.t.Helper()
	var f fixture
	f.carrier = e.create("/api/v1/carriers", map[string]any{"name": "Carrier", "currency": "EUR"})
	f.provider = e.create("/api/v1/ratecards", map[string]any{"name": "Buy", "kind": "provider", "carrier_id": f.carrier})
	f.customer = e.create("/api/v1/customers", map[string]any{"name": "Customer", "currency": "EUR"})
	f.card = e.create("/api/v1/ratecards", map[string]any{"name": "Sell", "kind": "customer", "currency": "EUR", "provider_cards": []string{f.provider}})
	return f
}

func TestCreateRateCard(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	usd := e.create("/api/v1/carriers", map[string]any{"name": "USD carrier", "currency": "USD"})
	usdCard := e.create("/api/v1/ratecards", map[string]any{"name": "USD buy", "kind": "provider", "carrier_id": usd})
	tests := []struct {
		name   string
		body   map[string]any
		status int
		field  string
		want   store.RateCard // checked when 201, ID aside
	}{
		{"provider defaults", map[string]any{"name": "P", "kind": "provider", "carrier_id": f.carrier}, 201, "",
			store.RateCard{Name: "P", Kind: "provider", CarrierID: f.carrier, Currency: "EUR", Precision: 4, Rounding: "half-up"}},
		{"provider explicit", map[string]any{"name": "P", "kind": "provider", "carrier_id": f.carrier, "currency": "EUR", "precision": 0, "rounding": "half-even"}, 201, "",
			store.RateCard{Name: "P", Kind: "provider", CarrierID: f.carrier, Currency: "EUR", Precision: 0, Rounding: "half-even"}},
		{"customer", map[string]any{"name": "C", "kind": "customer", "currency": "EUR", "provider_cards": []string{f.provider}, "precision": 6, "rounding": "up"}, 201, "",
			store.RateCard{Name: "C", Kind: "customer", ProviderCards: []string{f.provider}, Currency: "EUR", Precision: 6, Rounding: "up"}},
		{"no name", map[string]any{"kind": "provider", "carrier_id": f.carrier}, 400, "name", store.RateCard{}},
		{"no kind", map[string]any{"name": "X", "carrier_id": f.carrier}, 400, "kind", store.RateCard{}},
		{"bad kind", map[string]any{"name": "X", "kind": "reseller"}, 400, "kind", store.RateCard{}},
		{"provider without carrier", map[string]any{"name": "X", "kind": "provider"}, 400, "carrier_id", store.RateCard{}},
		{"unknown carrier", map[string]any{"name": "X", "kind": "provider", "carrier_id": "nope"}, 400, "carrier_id", store.RateCard{}},
		{"provider currency differs", map[string]any{"name": "X", "kind": "provider", "carrier_id": f.carrier, "currency": "USD"}, 400, "currency", store.RateCard{}},
		{"provider with provider cards", map[string]any{"name": "X", "kind": "provider", "carrier_id": f.carrier, "provider_cards": []string{f.provider}}, 400, "provider_cards", store.RateCard{}},
		{"customer with carrier", map[string]any{"name": "X", "kind": "customer", "currency": "EUR", "carrier_id": f.carrier, "provider_cards": []string{f.provider}}, 400, "carrier_id", store.RateCard{}},
		{"customer without cards", map[string]any{"name": "X", "kind": "customer", "currency": "EUR"}, 400, "provider_cards", store.RateCard{}},
		{"customer without currency", map[string]any{"name": "X", "kind": "customer", "provider_cards": []string{f.provider}}, 400, "currency", store.RateCard{}},
		{"customer unknown card", map[string]any{"name": "X", "kind": "customer", "currency": "EUR", "provider_cards": []string{"nope"}}, 400, "provider_cards", store.RateCard{}},
		{"customer from customer card", map[string]any{"name": "X", "kind": "customer", "currency": "EUR", "provider_cards": []string{f.card}}, 400, "provider_cards", store.RateCard{}},
		{"customer card twice", map[string]any{"name": "X", "kind": "customer", "currency": "EUR", "provider_cards": []string{f.provider, f.provider}}, 400, "provider_cards", store.RateCard{}},
		{"customer other currency", map[string]any{"name": "X", "kind": "customer", "currency": "EUR", "provider_cards": []string{usdCard}}, 400, "provider_cards", store.RateCard{}},
		{"precision high", map[string]any{"name": "X", "kind": "provider", "carrier_id": f.carrier, "precision": 7}, 400, "precision", store.RateCard{}},
		{"precision negative", map[string]any{"name": "X", "kind": "provider", "carrier_id": f.carrier, "precision": -1}, 400, "precision", store.RateCard{}},
		{"bad rounding", map[string]any{"name": "X", "kind": "provider", "carrier_id": f.carrier, "rounding": "nearest"}, 400, "rounding", store.RateCard{}},
		{"revision given", map[string]any{"name": "X", "kind": "provider", "carrier_id": f.carrier, "revision": 3}, 400, "revision", store.RateCard{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("POST", "/api/v1/ratecards", tt.body)
			if tt.status != 201 {
				code := admin.CodeInvalid
				if tt.field == "revision" {
					code = admin.CodeBadJSON
				}
				wantError(t, w, tt.status, code, tt.field)
				return
			}
			wantStatus(t, w, 201)
			var got store.RateCard
			decode(t, w, &got)
			tt.want.ID = got.ID
			if got.ID == "" || got.Name != tt.want.Name || got.Kind != tt.want.Kind || got.CarrierID != tt.want.CarrierID ||
				got.Currency != tt.want.Currency || got.Precision != tt.want.Precision || got.Rounding != tt.want.Rounding ||
				len(got.ProviderCards) != len(tt.want.ProviderCards) || got.Revision != 0 {
				t.Errorf("created %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestRateCardDelete(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	route := e.create("/api/v1/customers/"+f.customer+"/routes", map[string]any{"prefix": "", "card_id": f.card})

	// The provider card is used by the customer card, which a route uses.
	wantError(t, e.req("DELETE", "/api/v1/ratecards/"+f.provider, nil), 409, admin.CodeConflict, "")
	wantError(t, e.req("DELETE", "/api/v1/ratecards/"+f.card, nil), 409, admin.CodeConflict, "")
	wantStatus(t, e.req("DELETE", "/api/v1/customers/"+f.customer+"/routes/"+route, nil), 204)
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.card+"/rates", `[{"prefix":"44","rate":"0.01"}]`), 200)
	wantStatus(t, e.req("DELETE", "/api/v1/ratecards/"+f.card, nil), 204)
	if _, err := e.st.Get(t.Context(), store.Rates, f.card); err == nil {
		t.Error("deleting a card kept its rates")
	}
	wantStatus(t, e.req("DELETE", "/api/v1/ratecards/"+f.provider, nil), 204)
	wantError(t, e.req("DELETE", "/api/v1/ratecards/"+f.provider, nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/ratecards/"+f.provider, nil), 404, admin.CodeNotFound, "")

	var list struct{ Ratecards []store.RateCard }
	decode(t, e.req("GET", "/api/v1/ratecards", nil), &list)
	if len(list.Ratecards) != 0 {
		t.Errorf("cards after delete: %+v", list.Ratecards)
	}
}

func TestRoutes(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	usdCust := e.create("/api/v1/customers", map[string]any{"name": "USD customer", "currency": "USD"})
	base := "/api/v1/customers/" + f.customer + "/routes"
	tests := []struct {
		name   string
		path   string
		body   map[string]any
		status int
		field  string
	}{
		{"catch all", base, map[string]any{"prefix": "", "card_id": f.card}, 201, ""},
		{"prefix", base, map[string]any{"prefix": "44", "card_id": f.card}, 201, ""},
		{"duplicate prefix", base, map[string]any{"prefix": "44", "card_id": f.card}, 409, "prefix"},
		{"duplicate catch all", base, map[string]any{"card_id": f.card}, 409, "prefix"},
		{"not digits", base, map[string]any{"prefix": "+44", "card_id": f.card}, 400, "prefix"},
		{"too long", base, map[string]any{"prefix": "1234567890123456789012345", "card_id": f.card}, 400, "prefix"},
		{"no card", base, map[string]any{"prefix": "1"}, 400, "card_id"},
		{"unknown card", base, map[string]any{"prefix": "1", "card_id": "nope"}, 400, "card_id"},
		{"provider card", base, map[string]any{"prefix": "1", "card_id": f.provider}, 400, "card_id"},
		{"currency differs", "/api/v1/customers/" + usdCust + "/routes", map[string]any{"prefix": "1", "card_id": f.card}, 400, "card_id"},
		{"unknown customer", "/api/v1/customers/nope/routes", map[string]any{"prefix": "1", "card_id": f.card}, 404, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("POST", tt.path, tt.body)
			switch tt.status {
			case 201:
				wantStatus(t, w, 201)
			case 409:
				wantError(t, w, 409, admin.CodeConflict, tt.field)
			case 404:
				wantError(t, w, 404, admin.CodeNotFound, "")
			default:
				wantError(t, w, tt.status, admin.CodeInvalid, tt.field)
			}
		})
	}
	var list struct{ Routes []store.Route }
	decode(t, e.req("GET", base, nil), &list)
	if len(list.Routes) != 2 {
		t.Fatalf("routes = %+v", list.Routes)
	}
	for _, rt := range list.Routes {
		if rt.CustomerID != f.customer || rt.CardID != f.card {
			t.Errorf("route %+v", rt)
		}
	}
	wantError(t, e.req("DELETE", "/api/v1/customers/"+usdCust+"/routes/"+list.Routes[0].ID, nil), 404, admin.CodeNotFound, "")
	wantStatus(t, e.req("DELETE", base+"/"+list.Routes[0].ID, nil), 204)
	// Deleting the customer takes its remaining route with it.
	wantStatus(t, e.req("DELETE", "/api/v1/customers/"+f.customer, nil), 204)
	if routes, _ := store.ListJSON[store.Route](t.Context(), e.st, store.Routes); len(routes) != 0 {
		t.Errorf("routes left after deleting the customer: %+v", routes)
	}
}
