package routing

import "net/netip"

// carrierSet holds the IP addresses of carrier endpoints (endpoints named by
// host are not resolved here).
type carrierSet map[netip.Addr]struct{}

func (t *Table) carrierAddrs() carrierSet {
	set := carrierSet{}
	for _, c := range t.carriers {
		for _, e := range c.endpoints {
			if a, err := netip.ParseAddr(e.Host); err == nil {
				set[a.Unmap()] = struct{}{}
			}
		}
	}
	return set
}

// IsCarrier reports whether ip is the address of a carrier endpoint in the
// current table. Carriers are exempt from flood limits and failed-auth bans.
// It is safe for concurrent use and does not allocate.
func (r *Router) IsCarrier(ip netip.Addr) bool {
	set := r.carrierIPs.Load()
	if set == nil {
		return false
	}
	_, ok := (*set)[ip.Unmap()]
	return ok
}
