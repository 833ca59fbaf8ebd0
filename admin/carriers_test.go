package admin_test

import (
	"reflect"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestCreateCarrier(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name   string
		body   string
		status int
		code   string
		field  string
	}{
		{"ok", `{"name":"Carrier A","currency":"USD"}`, 201, "", ""},
		{"disabled", `{"name":"Carrier B","currency":"USD","status":"disabled","channel_limit":100}`, 201, "", ""},
		{"suspended is for customers", `{"name":"C","currency":"USD","status":"suspended"}`, 400, admin.CodeInvalid, "status"},
		{"no name", `{"currency":"USD"}`, 400, admin.CodeInvalid, "name"},
		{"bad currency", `{"name":"C","currency":"US1"}`, 400, admin.CodeInvalid, "currency"},
		{"negative limit", `{"name":"C","currency":"USD","channel_limit":-1}`, 400, admin.CodeInvalid, "channel_limit"},
		{"unknown field", `{"name":"C","currency":"USD","endpoints":[]}`, 400, admin.CodeBadJSON, "endpoints"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("POST", "/api/v1/carriers", tt.body)
			if tt.code == "" {
				wantStatus(t, w, tt.status)
				return
			}
			wantError(t, w, tt.status, tt.code, tt.field)
		})
	}
}

func TestCarrierLifecycle(t *testing.T) {
	e := newEnv(t)
	id := e.create("/api/v1/carriers", map[string]any{"name": "A", "currency": "USD"})
	wantStatus(t, e.req("PUT", "/api/v1/carriers/"+id, map[string]any{"name": "A2", "currency": "EUR", "status": "disabled"}), 200)
	var c store.Carrier
	decode(t, e.req("GET", "/api/v1/carriers/"+id, nil), &c)
	if want := (store.Carrier{ID: id, Name: "A2", Currency: "EUR", Status: "disabled"}); !reflect.DeepEqual(c, want) {
		t.Errorf("after PUT = %+v, want %+v", c, want)
	}
	wantError(t, e.req("GET", "/api/v1/carriers/nope", nil), 404, admin.CodeNotFound, "")
	wantError(t, e.req("DELETE", "/api/v1/carriers/nope", nil), 404, admin.CodeNotFound, "")

	card := e.create("/api/v1/ratecards", map[string]any{"name": "A deck", "kind": "provider", "carrier_id": id})
	// Its currency is now fixed by the card, and the carrier cannot go.
	wantError(t, e.req("PUT", "/api/v1/carriers/"+id, map[string]any{"name": "A2", "currency": "USD"}), 409, admin.CodeConflict, "currency")
	wantError(t, e.req("DELETE", "/api/v1/carriers/"+id, nil), 409, admin.CodeConflict, "")

	ep := e.create("/api/v1/carriers/"+id+"/endpoints", map[string]any{"host": "sip.example.net"})
	wantStatus(t, e.req("DELETE", "/api/v1/ratecards/"+card, nil), 204)
	wantStatus(t, e.req("DELETE", "/api/v1/carriers/"+id, nil), 204)
	if _, err := e.st.Get(t.Context(), store.Endpoints, ep); err == nil {
		t.Error("deleting a carrier kept its endpoints")
	}
	var list struct{ Carriers []store.Carrier }
	decode(t, e.req("GET", "/api/v1/carriers", nil), &list)
	if len(list.Carriers) != 0 {
		t.Errorf("carriers after delete: %+v", list.Carriers)
	}
}

func TestEndpoints(t *testing.T) {
	e := newEnv(t)
	car := e.create("/api/v1/carriers", map[string]any{"name": "A", "currency": "USD"})
	base := "/api/v1/carriers/" + car + "/endpoints"
	tests := []struct {
		name   string
		body   string
		status int
		field  string
		want   store.Endpoint // checked when 201 (ID and CarrierID aside)
	}{
		{"defaults", `{"host":"192.0.2.1"}`, 201, "", store.Endpoint{Host: "192.0.2.1", Port: 5060, Transport: "udp"}},
		{"full", `{"host":"sip.example.net","port":5080,"transport":"tcp","weight":10}`, 201, "",
			store.Endpoint{Host: "sip.example.net", Port: 5080, Transport: "tcp", Weight: 10}},
		{"v6", `{"host":"2001:db8::1","port":5060}`, 201, "", store.Endpoint{Host: "2001:db8::1", Port: 5060, Transport: "udp"}},
		{"duplicate", `{"host":"192.0.2.1","port":5060}`, 409, "host", store.Endpoint{}},
		{"no host", `{"port":5060}`, 400, "host", store.Endpoint{}},
		{"host with port", `{"host":"192.0.2.1:5060"}`, 400, "host", store.Endpoint{}},
		{"bad host", `{"host":"sip_example.net"}`, 400, "host", store.Endpoint{}},
		{"port high", `{"host":"192.0.2.2","port":65536}`, 400, "port", store.Endpoint{}},
		{"port negative", `{"host":"192.0.2.2","port":-1}`, 400, "port", store.Endpoint{}},
		{"tls not yet", `{"host":"192.0.2.2","transport":"tls"}`, 400, "transport", store.Endpoint{}},
		{"negative weight", `{"host":"192.0.2.2","weight":-1}`, 400, "weight", store.Endpoint{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("POST", base, tt.body)
			switch tt.status {
			case 201:
				wantStatus(t, w, 201)
				var got store.Endpoint
				decode(t, w, &got)
				tt.want.ID, tt.want.CarrierID = got.ID, car
				if got != tt.want {
					t.Errorf("created %+v, want %+v", got, tt.want)
				}
			case 409:
				wantError(t, w, 409, admin.CodeConflict, tt.field)
			default:
				wantError(t, w, tt.status, admin.CodeInvalid, tt.field)
			}
		})
	}
	wantError(t, e.req("POST", "/api/v1/carriers/nope/endpoints", `{"host":"192.0.2.9"}`), 404, admin.CodeNotFound, "")
	var list struct{ Endpoints []store.Endpoint }
	decode(t, e.req("GET", base, nil), &list)
	if len(list.Endpoints) != 3 {
		t.Fatalf("endpoints = %+v", list.Endpoints)
	}
	wantStatus(t, e.req("DELETE", base+"/"+list.Endpoints[0].ID, nil), 204)
	wantError(t, e.req("DELETE", base+"/"+list.Endpoints[0].ID, nil), 404, admin.CodeNotFound, "")
}
