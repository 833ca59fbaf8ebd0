package auth

import (
	"fmt"
	"net/netip"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// BenchmarkIPTableLookup1k measures source-IP authentication against 1,000
// entries (single addresses and /24s of 1,000 customers), looking up the
// last-matching, a middle and an unknown address.
func BenchmarkIPTableLookup1k(b *testing.B) {
	var ips []store.CustomerIP
	for i := range 1000 {
		cidr := fmt.Sprintf("10.%d.%d.%d", i/250, i%250, 1+i%200)
		if i%4 == 0 {
			cidr = fmt.Sprintf("172.16.%d.0/24", i/4)
		}
		ips = append(ips, store.CustomerIP{ID: fmt.Sprint(i), CustomerID: fmt.Sprintf("cust-%d", i), CIDR: cidr})
	}
	t, err := NewIPTable(ips)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		src  string
		ok   bool
	}{
		{"exact-last", "10.3.249.200", true},
		{"cidr", "172.16.100.7", true},
		{"unknown", "192.0.2.1", false},
	} {
		b.Run(bc.name, func(b *testing.B) {
			src := netip.MustParseAddr(bc.src)
			b.ReportAllocs()
			for b.Loop() {
				_, err := t.Lookup(src, "12125550100")
				if (err == nil) != bc.ok {
					b.Fatalf("lookup %s: %v", bc.src, err)
				}
			}
		})
	}
}
