package auth

import (
	"context"
	"log/slog"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trunkline/trunkline/store"
)

// IPAuth authenticates calls by source address against the IP and host
// records in a store. Reload rebuilds the table and swaps it in atomically;
// host names are resolved on Reload (only names not seen before) and
// refreshed by Run. Lookup is safe for concurrent use and never blocks on
// the store or DNS.
type IPAuth struct {
	st       store.Store
	resolver Resolver
	refresh  time.Duration
	timeout  time.Duration
	log      *slog.Logger

	table atomic.Pointer[IPTable]
	hosts hostCache

	mu      sync.Mutex // serialises rebuilds
	ips     []store.CustomerIP
	hostRec []store.CustomerHost
}

// IPAuthOption configures an IPAuth.
type IPAuthOption func(*IPAuth)

// WithResolver sets the resolver for host entries (default
// net.DefaultResolver).
func WithResolver(r Resolver) IPAuthOption { return func(a *IPAuth) { a.resolver = r } }

// WithHostRefresh sets how often Run re-resolves host entries and the
// timeout of one resolution.
func WithHostRefresh(every, timeout time.Duration) IPAuthOption {
	return func(a *IPAuth) { a.refresh, a.timeout = every, timeout }
}

// WithIPAuthLogger sets the logger; the default discards.
func WithIPAuthLogger(l *slog.Logger) IPAuthOption { return func(a *IPAuth) { a.log = l } }

// NewIPAuth returns an IPAuth over st with an empty table; call Reload.
func NewIPAuth(st store.Store, opts ...IPAuthOption) *IPAuth {
	a := &IPAuth{st: st, resolver: net.DefaultResolver, refresh: DefaultHostRefresh, timeout: DefaultHostTimeout}
	for _, o := range opts {
		o(a)
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.table.Store(&IPTable{})
	return a
}

// Reload reads every customer IP and host record and swaps in a new table.
// A host that does not resolve keeps its last addresses (none if it never
// resolved) and is logged; it does not fail the reload.
func (a *IPAuth) Reload(ctx context.Context) error {
	ips, err := store.ListJSON[store.CustomerIP](ctx, a.st, store.CustomerIPs)
	if err != nil {
		return err
	}
	hosts, err := store.ListJSON[store.CustomerHost](ctx, a.st, store.CustomerHosts)
	if err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	a.ips, a.hostRec = ips, hosts
	return a.rebuild(ctx, false)
}

// rebuild resolves hosts and swaps in a new table; called with mu held.
func (a *IPAuth) rebuild(ctx context.Context, refresh bool) error {
	names := make([]string, 0, len(a.hostRec))
	for _, h := range a.hostRec {
		names = append(names, h.Host)
	}
	addrs, rerr := a.hosts.resolve(ctx, a.resolver, a.timeout, names, refresh)
	if rerr != nil {
		a.log.Warn("resolving customer hosts", "err", rerr)
	}
	all := append([]store.CustomerIP(nil), a.ips...)
	for _, h := range a.hostRec {
		for _, ad := range addrs[h.Host] {
			all = append(all, store.CustomerIP{ID: h.ID, CustomerID: h.CustomerID, CIDR: ad.String(), TechPrefix: h.TechPrefix,
				ChannelLimit: h.ChannelLimit, CPSLimit: h.CPSLimit})
		}
	}
	t, err := NewIPTable(all)
	if err != nil {
		return err
	}
	a.table.Store(t)
	return nil
}

// Refresh re-resolves every host entry now and swaps in a new table.
func (a *IPAuth) Refresh(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.rebuild(ctx, true)
}

// Run refreshes host entries periodically until ctx ends.
func (a *IPAuth) Run(ctx context.Context) {
	every(ctx, a.refresh, func() {
		if err := a.Refresh(ctx); err != nil {
			a.log.Error("refreshing IP authentication", "err", err)
		}
	})
}

// Lookup finds the customer for a call from src to number.
func (a *IPAuth) Lookup(src netip.Addr, number string) (Identity, error) {
	return a.table.Load().Lookup(src, number)
}

// Known reports whether src is a customer's address (of any tech prefix),
// for exempting it from bans: IPAuth is an Exempter.
func (a *IPAuth) Known(src netip.Addr) bool { return a.table.Load().Contains(src) }

// Exempt is Known, so that an IPAuth can be passed to WithExempt.
func (a *IPAuth) Exempt(src netip.Addr) bool { return a.Known(src) }
