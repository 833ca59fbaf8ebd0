package auth

import (
	"fmt"
	"net/netip"
	"sort"
	"strings"

	"github.com/trunkline/trunkline/store"
)

// Identity is the customer a call is authenticated as.
type Identity struct {
	CustomerID string
	Method     string // "ip" or "digest"
	TechPrefix string // stripped from the dialled number by routing
	User       string // the SIP user, for Method "digest"
	// Entry is the id of the IP entry, host or SIP user that matched, with
	// its own limits (0: none).
	Entry         string
	EntryChannels int
	EntryCPS      int
}

type ipEntry struct {
	prefix     netip.Prefix
	customerID string
	techPrefix string
	id         string
	channels   int
	cps        int
}

func (e *ipEntry) identity() Identity {
	return Identity{CustomerID: e.customerID, Method: "ip", TechPrefix: e.techPrefix, Entry: e.id, EntryChannels: e.channels, EntryCPS: e.cps}
}

// IPTable maps source addresses to customers. It is immutable once built
// and safe for concurrent use.
type IPTable struct {
	exact   map[netip.Addr][]ipEntry // full-length prefixes, longest tech prefix first
	entries []ipEntry                // shorter prefixes: longest first, then longest tech prefix
}

// NewIPTable builds a table from IP authentication records. A record whose
// CIDR does not parse is an error naming it.
func NewIPTable(ips []store.CustomerIP) (*IPTable, error) {
	t := &IPTable{exact: map[netip.Addr][]ipEntry{}}
	for _, ip := range ips {
		p, err := ParseCIDR(ip.CIDR)
		if err != nil {
			return nil, fmt.Errorf("customer %s ip %s: %w", ip.CustomerID, ip.ID, err)
		}
		e := ipEntry{prefix: p, customerID: ip.CustomerID, techPrefix: ip.TechPrefix, id: ip.ID, channels: ip.ChannelLimit, cps: ip.CPSLimit}
		if p.IsSingleIP() {
			t.exact[p.Addr()] = append(t.exact[p.Addr()], e)
		} else {
			t.entries = append(t.entries, e)
		}
	}
	longestFirst := func(es []ipEntry) {
		sort.SliceStable(es, func(i, j int) bool {
			a, b := es[i], es[j]
			if a.prefix.Bits() != b.prefix.Bits() {
				return a.prefix.Bits() > b.prefix.Bits()
			}
			return len(a.techPrefix) > len(b.techPrefix)
		})
	}
	for _, es := range t.exact {
		longestFirst(es)
	}
	longestFirst(t.entries)
	return t, nil
}

// ParseCIDR reads "192.0.2.1", "192.0.2.0/24", "::1" or "2001:db8::/32" as a
// masked prefix; a bare address is a full-length prefix.
func ParseCIDR(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, fmt.Errorf("bad CIDR %q: %w", s, err)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, fmt.Errorf("bad IP %q: %w", s, err)
	}
	a = a.Unmap()
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// Lookup returns the customer for a call from src to number: the longest
// matching prefix wins, and among entries of that prefix the one whose tech
// prefix starts number (an entry without tech prefix matches any number).
func (t *IPTable) Lookup(src netip.Addr, number string) (Identity, error) {
	src = src.Unmap()
	for _, e := range t.exact[src] {
		if e.techPrefix == "" || strings.HasPrefix(number, e.techPrefix) {
			return e.identity(), nil
		}
	}
	for _, e := range t.entries {
		if !e.prefix.Contains(src) {
			continue
		}
		if e.techPrefix != "" && !strings.HasPrefix(number, e.techPrefix) {
			continue
		}
		return e.identity(), nil
	}
	return Identity{}, ErrUnknownSource
}

// Len returns the number of entries.
func (t *IPTable) Len() int {
	n := len(t.entries)
	for _, es := range t.exact {
		n += len(es)
	}
	return n
}

// Contains reports whether any entry's prefix holds src.
func (t *IPTable) Contains(src netip.Addr) bool {
	src = src.Unmap()
	if len(t.exact[src]) > 0 {
		return true
	}
	for _, e := range t.entries {
		if e.prefix.Contains(src) {
			return true
		}
	}
	return false
}
