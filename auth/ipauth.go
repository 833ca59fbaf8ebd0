package auth

import (
	"context"
	"net/netip"
	"sync/atomic"

	"github.com/trunkline/trunkline/store"
)

// IPAuth authenticates calls by source address against the IP records in a
// store. Reload rebuilds the table and swaps it in atomically; Lookup is
// safe for concurrent use and never blocks on the store.
type IPAuth struct {
	st    store.Store
	table atomic.Pointer[IPTable]
}

// NewIPAuth returns an IPAuth over st with an empty table; call Reload.
func NewIPAuth(st store.Store) *IPAuth {
	a := &IPAuth{st: st}
	a.table.Store(&IPTable{})
	return a
}

// Reload reads every customer IP record and swaps in a new table. Records of
// customers that no longer exist are ignored.
func (a *IPAuth) Reload(ctx context.Context) error {
	ips, err := store.ListJSON[store.CustomerIP](ctx, a.st, store.CustomerIPs)
	if err != nil {
		return err
	}
	t, err := NewIPTable(ips)
	if err != nil {
		return err
	}
	a.table.Store(t)
	return nil
}

// Lookup finds the customer for a call from src to number.
func (a *IPAuth) Lookup(src netip.Addr, number string) (Identity, error) {
	return a.table.Load().Lookup(src, number)
}
