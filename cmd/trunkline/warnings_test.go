package main

import (
	"net/http"
	"slices"
	"testing"
)

// Warnings say what a carrier or customer still lacks, from the live
// configuration, and clear as each piece is added.
func TestWarnings(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	api := sw.api
	codes := func(path string) []string {
		t.Helper()
		var v struct {
			Warnings []struct{ Code, Message string }
		}
		api.do("GET", path, nil, http.StatusOK, &v)
		var out []string
		for _, w := range v.Warnings {
			if w.Message == "" {
				t.Errorf("%s: warning %s without a message", path, w.Code)
			}
			out = append(out, w.Code)
		}
		slices.Sort(out)
		return out
	}
	want := func(path string, w ...string) {
		t.Helper()
		slices.Sort(w)
		if got := codes(path); !slices.Equal(got, w) {
			t.Fatalf("%s warns %v, want %v", path, got, w)
		}
	}
	warned := func(coll string) []string {
		t.Helper()
		var v map[string][]struct{ ID string }
		api.do("GET", "/api/v1/"+coll+"?warnings=true", nil, http.StatusOK, &v)
		var ids []string
		for _, x := range v[coll] {
			ids = append(ids, x.ID)
		}
		return ids
	}

	carrier := api.create("/api/v1/carriers", map[string]any{"name": "Carrier", "currency": "USD"})
	cpath := "/api/v1/carriers/" + carrier
	want(cpath, "no_endpoint", "no_card")
	api.create(cpath+"/endpoints", map[string]any{"host": "127.0.0.1", "port": 5099, "transport": "udp"})
	want(cpath, "no_card")
	buy := api.create("/api/v1/ratecards", map[string]any{"name": "Buy", "kind": "provider", "carrier_id": carrier, "currency": "USD"})
	want(cpath, "card_empty")
	api.do("PUT", "/api/v1/ratecards/"+buy+"/rates", []map[string]any{{"prefix": "44", "rate": "0.01"}}, http.StatusOK, nil)
	want(cpath)

	customer := api.create("/api/v1/customers", map[string]any{"name": "Acme", "currency": "USD"})
	path := "/api/v1/customers/" + customer
	want(path, "no_authentication", "no_route")
	if ids := warned("customers"); !slices.Equal(ids, []string{customer}) {
		t.Fatalf("?warnings=true lists %v", ids)
	}
	api.create(path+"/ips", map[string]any{"cidr": "127.0.0.2"})
	want(path, "no_route")
	sell := api.create("/api/v1/ratecards", map[string]any{"name": "Sell", "kind": "customer", "currency": "USD", "provider_cards": []string{buy}})
	api.create(path+"/routes", map[string]any{"prefix": "", "card_id": sell})
	want(path, "route_card_empty")
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{{"prefix": "44", "rate": "0.02", "effective_from": 4102444800}}, http.StatusOK, nil)
	want(path, "route_card_empty") // a row from 2100 is not in effect
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{{"prefix": "44", "rate": "0.02"}}, http.StatusOK, nil)
	want(path)
	api.do("PUT", path, map[string]any{"name": "Acme", "currency": "USD", "credit_limit": "0"}, http.StatusOK, nil)
	want(path, "no_balance")
	pay(api, customer, "5.00")
	want(path)
	api.do("PUT", path, map[string]any{"name": "Acme", "currency": "USD", "credit_limit": "0", "status": "suspended"}, http.StatusOK, nil)
	want(path, "suspended")
	if ids := warned("customers"); !slices.Equal(ids, []string{customer}) || len(warned("carriers")) != 0 {
		t.Fatalf("?warnings=true lists customers %v, carriers %v", ids, warned("carriers"))
	}
	// A GET → PUT round trip carries the warnings back in; they are ignored.
	var c map[string]any
	api.do("GET", cpath, nil, http.StatusOK, &c)
	api.do("PUT", cpath, c, http.StatusOK, nil)
}
