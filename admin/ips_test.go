package admin_test

import (
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestCustomerIPs(t *testing.T) {
	e := newEnv(t)
	cust := e.create("/api/v1/customers", map[string]any{"name": "Acme", "currency": "EUR"})
	other := e.create("/api/v1/customers", map[string]any{"name": "Beta", "currency": "EUR"})
	base := "/api/v1/customers/" + cust + "/ips"

	tests := []struct {
		name   string
		body   string
		status int
		field  string
		cidr   string // stored form
	}{
		{"address", `{"cidr":"192.0.2.10"}`, 201, "", "192.0.2.10"},
		{"prefix", `{"cidr":"198.51.100.0/24","tech_prefix":"123#"}`, 201, "", "198.51.100.0/24"},
		{"v6", `{"cidr":"2001:DB8::/32"}`, 201, "", "2001:db8::/32"},
		{"v4 mapped", `{"cidr":"::ffff:203.0.113.7"}`, 201, "", "203.0.113.7"},
		{"same ip other tech prefix", `{"cidr":"192.0.2.10","tech_prefix":"9"}`, 201, "", "192.0.2.10"},
		{"duplicate", `{"cidr":"192.0.2.10"}`, 409, "cidr", ""},
		{"host bits", `{"cidr":"192.0.2.1/24"}`, 400, "cidr", ""},
		{"garbage", `{"cidr":"example.com"}`, 400, "cidr", ""},
		{"missing", `{"tech_prefix":"1"}`, 400, "cidr", ""},
		{"bad tech prefix", `{"cidr":"192.0.2.11","tech_prefix":"ab"}`, 400, "tech_prefix", ""},
		{"other customer", `{"cidr":"192.0.2.12","customer_id":"` + other + `"}`, 400, "customer_id", ""},
		{"unknown field", `{"cidr":"192.0.2.12","host":"x"}`, 400, "host", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("POST", base, tt.body)
			if tt.status != 201 {
				code := admin.CodeInvalid
				switch tt.status {
				case 409:
					code = admin.CodeConflict
				}
				if tt.field == "host" {
					code = admin.CodeBadJSON
				}
				wantError(t, w, tt.status, code, tt.field)
				return
			}
			wantStatus(t, w, 201)
			var ip store.CustomerIP
			decode(t, w, &ip)
			if ip.CIDR != tt.cidr || ip.CustomerID != cust {
				t.Errorf("created %+v, want cidr %s of %s", ip, tt.cidr, cust)
			}
		})
	}

	// The same address and tech prefix cannot belong to another customer.
	wantError(t, e.req("POST", "/api/v1/customers/"+other+"/ips", `{"cidr":"198.51.100.0/24","tech_prefix":"123#"}`), 409, admin.CodeConflict, "cidr")
	wantError(t, e.req("POST", "/api/v1/customers/nope/ips", `{"cidr":"203.0.113.99"}`), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/customers/nope/ips", nil), 404, admin.CodeNotFound, "")

	var list struct{ IPs []store.CustomerIP }
	decode(t, e.req("GET", base, nil), &list)
	if len(list.IPs) != 5 {
		t.Fatalf("list = %+v, want 5 entries", list)
	}
	id := list.IPs[0].ID
	wantError(t, e.req("DELETE", "/api/v1/customers/"+other+"/ips/"+id, nil), 404, admin.CodeNotFound, "")
	wantStatus(t, e.req("DELETE", base+"/"+id, nil), 204)
	wantError(t, e.req("DELETE", base+"/"+id, nil), 404, admin.CodeNotFound, "")
	decode(t, e.req("GET", base, nil), &list)
	if len(list.IPs) != 4 {
		t.Errorf("after delete: %d entries, want 4", len(list.IPs))
	}
}
