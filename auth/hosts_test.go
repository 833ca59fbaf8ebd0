package auth

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// stubResolver answers from maps; it never touches the network.
type stubResolver struct {
	mu    sync.Mutex
	hosts map[string][]string
	srv   map[string][]*net.SRV // by "_service._proto.name"
	calls int
}

func (r *stubResolver) LookupNetIP(_ context.Context, _, host string) ([]netip.Addr, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	ss, ok := r.hosts[host]
	if !ok {
		return nil, &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}
	}
	var out []netip.Addr
	for _, s := range ss {
		out = append(out, netip.MustParseAddr(s))
	}
	return out, nil
}

func (r *stubResolver) LookupSRV(_ context.Context, service, proto, name string) (string, []*net.SRV, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	s, ok := r.srv["_"+service+"._"+proto+"."+name]
	if !ok {
		return "", nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
	}
	return name, s, nil
}

func (r *stubResolver) set(host string, addrs ...string) {
	r.mu.Lock()
	r.hosts[host] = addrs
	r.mu.Unlock()
}

func newHostEnv(t *testing.T) (*IPAuth, *stubResolver, store.Store) {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	r := &stubResolver{
		hosts: map[string][]string{
			"pbx.example.com":  {"192.0.2.10", "2001:db8::10"},
			"sip1.example.net": {"198.51.100.1"},
			"sip2.example.net": {"198.51.100.2"},
		},
		srv: map[string][]*net.SRV{
			"_sip._udp.example.net": {{Target: "sip1.example.net.", Port: 5060}, {Target: "sip2.example.net.", Port: 5060}},
		},
	}
	ctx := t.Context()
	put := func(coll, id string, v any) {
		if err := store.PutJSON(ctx, st, coll, id, v); err != nil {
			t.Fatal(err)
		}
	}
	put(store.CustomerHosts, "h1", store.CustomerHost{ID: "h1", CustomerID: "pbx", Host: "pbx.example.com"})
	put(store.CustomerHosts, "h2", store.CustomerHost{ID: "h2", CustomerID: "srv", Host: "_sip._udp.example.net", TechPrefix: "77#"})
	put(store.CustomerHosts, "h3", store.CustomerHost{ID: "h3", CustomerID: "gone", Host: "nx.example.org"})
	put(store.CustomerIPs, "i1", store.CustomerIP{ID: "i1", CustomerID: "wide", CIDR: "192.0.2.0/24"})
	return NewIPAuth(st, WithResolver(r)), r, st
}

func TestIPAuthHosts(t *testing.T) {
	a, _, _ := newHostEnv(t)
	if err := a.Reload(t.Context()); err != nil {
		t.Fatalf("Reload with an unresolvable host: %v", err)
	}
	tests := []struct{ src, number, want string }{
		{"192.0.2.10", "4420", "pbx"}, // host beats the /24
		{"2001:db8::10", "4420", "pbx"},
		{"192.0.2.11", "4420", "wide"},
		{"198.51.100.1", "77#4420", "srv"},
		{"198.51.100.2", "77#4420", "srv"},
		{"198.51.100.2", "4420", ""}, // tech prefix required
		{"203.0.113.1", "4420", ""},
	}
	for _, tt := range tests {
		t.Run(tt.src+"/"+tt.number, func(t *testing.T) {
			id, err := a.Lookup(netip.MustParseAddr(tt.src), tt.number)
			if tt.want == "" {
				if !errors.Is(err, ErrUnknownSource) {
					t.Fatalf("got %+v, %v", id, err)
				}
				return
			}
			if err != nil || id.CustomerID != tt.want {
				t.Fatalf("got %+v, %v; want %s", id, err, tt.want)
			}
		})
	}
	if !a.Known(netip.MustParseAddr("198.51.100.2")) || a.Known(netip.MustParseAddr("203.0.113.1")) {
		t.Error("Known disagrees with the table")
	}
}

func TestIPAuthHostRefresh(t *testing.T) {
	a, r, _ := newHostEnv(t)
	if err := a.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	calls := r.calls
	if err := a.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	// Only the host that never resolved is tried again on Reload.
	if r.calls != calls+1 {
		t.Errorf("Reload made %d look-ups, want 1", r.calls-calls)
	}
	r.set("pbx.example.com", "203.0.113.50")
	r.set("nx.example.org", "203.0.113.60")
	if err := a.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	for src, want := range map[string]string{"203.0.113.50": "pbx", "203.0.113.60": "gone", "192.0.2.10": "wide"} {
		if id, err := a.Lookup(netip.MustParseAddr(src), "1"); err != nil || id.CustomerID != want {
			t.Errorf("after refresh %s = %+v, %v; want %s", src, id, err, want)
		}
	}
	// A failing look-up keeps the last addresses.
	r.mu.Lock()
	delete(r.hosts, "pbx.example.com")
	r.mu.Unlock()
	if err := a.Refresh(t.Context()); err != nil {
		t.Fatal(err)
	}
	if id, err := a.Lookup(netip.MustParseAddr("203.0.113.50"), "1"); err != nil || id.CustomerID != "pbx" {
		t.Errorf("DNS failure dropped the host: %+v, %v", id, err)
	}
}

func TestValidHost(t *testing.T) {
	good := []string{"pbx.example.com", "a", "_sip._udp.example.net", "x-1.example.", "EXAMPLE.com"}
	bad := []string{"", "192.0.2.1", "::1", "a..b", "a b", "_.x.y", "ex_ample.com", strings.Repeat("a", 64) + ".com", "a/b"}
	for _, h := range good {
		if err := ValidHost(h); err != nil {
			t.Errorf("%q: %v", h, err)
		}
	}
	for _, h := range bad {
		if ValidHost(h) == nil {
			t.Errorf("%q accepted", h)
		}
	}
}

// FuzzHostMatch resolves an arbitrary host name to an arbitrary address
// through the stub and checks that exactly that address matches.
func FuzzHostMatch(f *testing.F) {
	f.Add("pbx.example.com", "192.0.2.1", "192.0.2.1", "")
	f.Add("_sip._udp.example.net", "2001:db8::1", "2001:db8::2", "9#")
	f.Add("a", "::ffff:10.0.0.1", "10.0.0.1", "")
	f.Fuzz(func(t *testing.T, host, addr, src, prefix string) {
		_ = ValidHost(host) // must not panic
		a, err1 := netip.ParseAddr(addr)
		s, err2 := netip.ParseAddr(src)
		if err1 != nil || err2 != nil || a.Zone() != "" {
			return
		}
		r := &stubResolver{hosts: map[string][]string{host: {a.String()}}, srv: map[string][]*net.SRV{}}
		if svc, proto, name, ok := srvName(host); ok {
			r.hosts = map[string][]string{"target.invalid": {a.String()}}
			r.srv["_"+svc+"._"+proto+"."+name] = []*net.SRV{{Target: "target.invalid."}}
		}
		got, err := resolveHost(t.Context(), r, host)
		if err != nil || len(got) != 1 || got[0] != a.Unmap() {
			t.Fatalf("resolveHost(%q) = %v, %v; want %v", host, got, err, a)
		}
		tab, err := NewIPTable([]store.CustomerIP{{ID: "h", CustomerID: "c", CIDR: got[0].String(), TechPrefix: prefix}})
		if err != nil {
			t.Fatal(err)
		}
		id, err := tab.Lookup(s, prefix+"4420")
		if want := s.Zone() == "" && s.Unmap() == a.Unmap(); (err == nil) != want {
			t.Fatalf("lookup %s for host at %s: %+v, %v", s, a, id, err)
		}
	})
}
