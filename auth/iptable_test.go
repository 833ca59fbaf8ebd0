package auth

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/trunkline/trunkline/store"
)

func TestIPTableLookup(t *testing.T) {
	tab, err := NewIPTable([]store.CustomerIP{
		{ID: "1", CustomerID: "wide", CIDR: "10.0.0.0/8"},
		{ID: "2", CustomerID: "narrow", CIDR: "10.1.0.0/16"},
		{ID: "3", CustomerID: "exact", CIDR: "10.1.2.3"},
		{ID: "4", CustomerID: "shared-a", CIDR: "192.0.2.7", TechPrefix: "111#"},
		{ID: "5", CustomerID: "shared-b", CIDR: "192.0.2.7", TechPrefix: "222#"},
		{ID: "6", CustomerID: "v6", CIDR: "::1"},
	})
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		src, number, want string
	}{
		{"10.9.9.9", "4420", "wide"},
		{"10.1.9.9", "4420", "narrow"},
		{"10.1.2.3", "4420", "exact"},
		{"192.0.2.7", "111#4420", "shared-a"},
		{"192.0.2.7", "222#4420", "shared-b"},
		{"192.0.2.7", "4420", ""},
		{"::ffff:10.1.2.3", "4420", "exact"},
		{"::1", "1", "v6"},
		{"172.16.0.1", "4420", ""},
	}
	for _, tt := range tests {
		t.Run(tt.src+"/"+tt.number, func(t *testing.T) {
			id, err := tab.Lookup(netip.MustParseAddr(tt.src), tt.number)
			if tt.want == "" {
				if !errors.Is(err, ErrUnknownSource) {
					t.Fatalf("got %+v, %v; want ErrUnknownSource", id, err)
				}
				return
			}
			if err != nil || id.CustomerID != tt.want {
				t.Fatalf("got %+v, %v; want %s", id, err, tt.want)
			}
		})
	}
}

func TestNewIPTableRejectsBadCIDR(t *testing.T) {
	for _, bad := range []string{"", "10.0.0.0/33", "300.1.1.1", "host name"} {
		if _, err := NewIPTable([]store.CustomerIP{{ID: "x", CIDR: bad}}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func FuzzIPTableLookup(f *testing.F) {
	f.Add("10.0.0.0/8", "10.1.2.3", "4420")
	f.Add("::1", "::1", "111#1")
	f.Add("192.0.2.0/24", "2001:db8::1", "")
	f.Fuzz(func(t *testing.T, cidr, src, number string) {
		tab, err := NewIPTable([]store.CustomerIP{{ID: "1", CustomerID: "c", CIDR: cidr}})
		if err != nil {
			return
		}
		a, err := netip.ParseAddr(src)
		if err != nil {
			return
		}
		id, err := tab.Lookup(a, number)
		p, _ := ParseCIDR(cidr)
		if (err == nil) != p.Contains(a.Unmap()) {
			t.Fatalf("lookup %s in %s: %+v %v", src, cidr, id, err)
		}
	})
}
