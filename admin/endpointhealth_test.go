package admin_test

import (
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestEndpointHealth(t *testing.T) {
	tests := []struct {
		name string
		opts []admin.Option
		want string // the health of the endpoint, as JSON; "" for none
	}{
		{"without", nil, ""},
		{"with", []admin.Option{admin.WithEndpointHealth(func(e store.Endpoint) any {
			return map[string]any{"state": "down", "of": e.CarrierID + "/" + e.Host}
		})}, "down"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.opts...)
			car := e.create("/api/v1/carriers", map[string]any{"name": "A", "currency": "USD"})
			e.create("/api/v1/carriers/"+car+"/endpoints", map[string]any{"host": "192.0.2.1"})
			var list struct {
				Endpoints []struct {
					store.Endpoint
					Health map[string]any `json:"health"`
				}
			}
			decode(t, e.req("GET", "/api/v1/carriers/"+car+"/endpoints", nil), &list)
			if len(list.Endpoints) != 1 || list.Endpoints[0].Host != "192.0.2.1" || list.Endpoints[0].Port != 5060 {
				t.Fatalf("endpoints = %+v", list.Endpoints)
			}
			h := list.Endpoints[0].Health
			switch {
			case tt.want == "" && h != nil:
				t.Errorf("health without WithEndpointHealth: %v", h)
			case tt.want != "" && (h["state"] != tt.want || h["of"] != car+"/192.0.2.1"):
				t.Errorf("health = %v", h)
			}
		})
	}
}
