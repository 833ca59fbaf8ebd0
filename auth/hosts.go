package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"
)

// Resolver looks up host names. *net.Resolver satisfies it; tests inject
// a stub. Implementations must be safe for concurrent use and honour ctx.
type Resolver interface {
	LookupNetIP(ctx context.Context, network, host string) ([]netip.Addr, error)
	LookupSRV(ctx context.Context, service, proto, name string) (string, []*net.SRV, error)
}

// Host resolution defaults.
const (
	DefaultHostRefresh = 5 * time.Minute
	DefaultHostTimeout = 2 * time.Second
)

// ValidHost checks a host name of a CustomerHost: a DNS name of letters,
// digits, '-' and '.', or an SRV owner name "_service._proto.name".
func ValidHost(h string) error {
	h = strings.TrimSuffix(h, ".")
	if h == "" || len(h) > 253 {
		return fmt.Errorf("host %q: empty or longer than 253 characters", h)
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return fmt.Errorf("host %q is an address; add it as an IP entry", h)
	}
	labels := strings.Split(h, ".")
	for i, l := range labels {
		if l == "" || len(l) > 63 {
			return fmt.Errorf("host %q: empty or overlong label", h)
		}
		if i < 2 && strings.HasPrefix(l, "_") && len(labels) > 2 {
			l = l[1:]
			if l == "" {
				return fmt.Errorf("host %q: bad SRV label", h)
			}
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return fmt.Errorf("host %q: character %q not allowed", h, c)
			}
		}
	}
	return nil
}

// srvName splits "_sip._udp.example.com" into its parts.
func srvName(h string) (service, proto, name string, ok bool) {
	parts := strings.SplitN(h, ".", 3)
	if len(parts) != 3 || !strings.HasPrefix(parts[0], "_") || !strings.HasPrefix(parts[1], "_") {
		return "", "", "", false
	}
	return parts[0][1:], parts[1][1:], parts[2], true
}

// resolveHost returns the addresses host stands for: its SRV targets'
// addresses for an SRV owner name, else its A and AAAA records.
func resolveHost(ctx context.Context, r Resolver, host string) ([]netip.Addr, error) {
	names := []string{host}
	if svc, proto, name, ok := srvName(host); ok {
		_, srvs, err := r.LookupSRV(ctx, svc, proto, name)
		if err != nil {
			return nil, fmt.Errorf("SRV %s: %w", host, err)
		}
		names = names[:0]
		for _, s := range srvs {
			names = append(names, strings.TrimSuffix(s.Target, "."))
		}
	}
	var out []netip.Addr
	var errs []error
	for _, n := range names {
		addrs, err := r.LookupNetIP(ctx, "ip", n)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", n, err))
			continue
		}
		for _, a := range addrs {
			out = append(out, a.Unmap())
		}
	}
	if len(out) == 0 {
		if len(errs) == 0 {
			errs = append(errs, errors.New("no addresses"))
		}
		return nil, fmt.Errorf("resolving %s: %w", host, errors.Join(errs...))
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return slices.Compact(out), nil
}

// hostCache keeps the last good resolution of each host name, so that a
// DNS failure keeps the addresses a host had.
type hostCache struct {
	mu    sync.Mutex
	addrs map[string][]netip.Addr
}

// resolve resolves the hosts not yet cached, or all of them when refresh
// is set, and returns the current addresses of each of hosts. Failures keep
// the old addresses and are returned joined.
func (c *hostCache) resolve(ctx context.Context, r Resolver, timeout time.Duration, hosts []string, refresh bool) (map[string][]netip.Addr, error) {
	c.mu.Lock()
	if c.addrs == nil {
		c.addrs = map[string][]netip.Addr{}
	}
	var todo []string
	for _, h := range hosts {
		if _, ok := c.addrs[h]; refresh || !ok {
			todo = append(todo, h)
		}
	}
	c.mu.Unlock()
	slices.Sort(todo)
	todo = slices.Compact(todo)

	var errs []error
	fresh := map[string][]netip.Addr{}
	for _, h := range todo {
		rctx, cancel := context.WithTimeout(ctx, timeout)
		a, err := resolveHost(rctx, r, h)
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		fresh[h] = a
	}

	c.mu.Lock()
	defer c.mu.Unlock()
	for h, a := range fresh {
		c.addrs[h] = a
	}
	out := make(map[string][]netip.Addr, len(hosts))
	keep := map[string][]netip.Addr{}
	for _, h := range hosts {
		if a, ok := c.addrs[h]; ok {
			out[h], keep[h] = a, a
		}
	}
	c.addrs = keep // forget hosts no longer named
	return out, errors.Join(errs...)
}
