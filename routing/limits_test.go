package routing

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

func testLimits(t testing.TB) store.Limits {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.Limits()
}

// customers is a customer lookup over a fixed set.
func customers(cs ...store.Customer) func(string) (store.Customer, bool) {
	return func(id string) (store.Customer, bool) {
		for _, c := range cs {
			if c.ID == id {
				return c, true
			}
		}
		return store.Customer{}, false
	}
}

func TestLimiter(t *testing.T) {
	ctx := context.Background()
	cps := store.Customer{ID: "e", CPSLimit: 1}
	l := NewLimiter(testLimits(t), "n1", customers(store.Customer{ID: "c"}, store.Customer{ID: "d"}, cps, store.Customer{ID: "f", ChannelLimit: -1}),
		WithDefaultChannels(2), WithChannelCode(486))
	c := "c"
	a, err := l.Admit(ctx, c, Entry{}, "call1")
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.Admit(ctx, c, Entry{}, "call2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, c, Entry{}, "call3"); rejectCode(err) != 486 {
		t.Fatalf("third call: %v, want 486 (the default limit of 2, the configured code)", err)
	}
	l.Release(ctx, a)
	if _, err := l.Admit(ctx, c, Entry{}, "call4"); err != nil {
		t.Fatalf("after a release: %v", err)
	}

	// A carrier with one channel: its second attempt is refused until the
	// first call's attempt ends; the endpoint's CPS limit counts too.
	at := Attempt{CarrierID: "k", Addr: "192.0.2.1:5060", CarrierChannels: 1, EndpointCPS: 2}
	if why := l.Attempt(ctx, b, at); why != "" {
		t.Fatalf("first attempt refused: %s", why)
	}
	other, _ := l.Admit(ctx, "d", Entry{}, "call5")
	if why := l.Attempt(ctx, other, at); why != "Carrier Channel Limit" {
		t.Fatalf("second attempt: %q, want Carrier Channel Limit", why)
	}
	l.Release(ctx, b)
	// The refused attempt spent no CPS slot: this one has the second.
	if why := l.Attempt(ctx, other, at); why != "" {
		t.Fatalf("third attempt: %q", why)
	}
	l.Release(ctx, other)
	last, _ := l.Admit(ctx, "d", Entry{}, "call6")
	if why := l.Attempt(ctx, last, at); why != "Endpoint CPS Limit" {
		t.Fatalf("a third attempt sent within a second: %q, want Endpoint CPS Limit", why)
	}

	// An entry's channel limit, below its customer's.
	if _, err := l.Admit(ctx, "d", Entry{ID: "ip", Channels: 1}, "y1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, "d", Entry{ID: "ip", Channels: 1}, "y2"); rejectCode(err) != 486 {
		t.Fatalf("a second call on an entry of one channel: %v, want 486", err)
	}

	// A customer set to -1 has no channel limit, whatever the default.
	for i := range 5 {
		if _, err := l.Admit(ctx, "f", Entry{}, "z"+strconv.Itoa(i)); err != nil {
			t.Fatalf("unlimited customer, call %d: %v", i, err)
		}
	}

	// A customer's CPS limit.
	if _, err := l.Admit(ctx, "e", Entry{}, "x1"); err != nil {
		t.Fatal(err)
	}
	if _, err := l.Admit(ctx, "e", Entry{}, "x2"); rejectCode(err) != 503 {
		t.Fatalf("second call in a second: %v, want 503", err)
	}
}

// A call whose node stops refreshing its leases frees its channels after
// the lease TTL.
func TestLimiterLeasesHeal(t *testing.T) {
	ctx := context.Background()
	l := NewLimiter(testLimits(t), "n1", customers(store.Customer{ID: "c"}), WithDefaultChannels(1), WithLeaseTTL(200*time.Millisecond))
	c := "c"
	ls, err := l.Admit(ctx, c, Entry{}, "call1")
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(120 * time.Millisecond)
	l.Refresh(ctx, ls)
	time.Sleep(120 * time.Millisecond)
	if _, err := l.Admit(ctx, c, Entry{}, "call2"); err == nil {
		t.Fatal("a refreshed lease expired")
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := l.Admit(ctx, c, Entry{}, "call3"); err != nil {
		t.Fatalf("a lease nobody refreshed is still held: %v", err)
	}
}

// A live call whose leases expired (the process stalled past the TTL) or
// the store lost is counted again at its next refresh, over the limit if
// another call took the freed channel meanwhile.
func TestLimiterRefreshRetakes(t *testing.T) {
	ctx := context.Background()
	st := testLimits(t)
	const ttl = 200 * time.Millisecond
	l := NewLimiter(st, "n1", customers(store.Customer{ID: "c", ChannelLimit: 1}), WithLeaseTTL(ttl))
	leases := func(key string) int {
		t.Helper()
		n, err := st.Leases(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	const customer, carrier = "channels/customer/c", "channels/carrier/k"
	ls, err := l.Admit(ctx, "c", Entry{}, "call1")
	if err != nil {
		t.Fatal(err)
	}
	if why := l.Attempt(ctx, ls, Attempt{CarrierID: "k", Addr: "192.0.2.1:5060", CarrierChannels: 5}); why != "" {
		t.Fatal(why)
	}
	if n := l.Refresh(ctx, ls); n != 0 {
		t.Fatalf("live leases: %d taken again, want 0", n)
	}

	t.Run("store lost it", func(t *testing.T) {
		if err := st.Release(ctx, customer, "n1/call1"); err != nil {
			t.Fatal(err)
		}
		if leases(customer) != 0 {
			t.Fatal("lease not lost")
		}
		if n := l.Refresh(ctx, ls); n != 1 {
			t.Fatalf("%d leases taken again, want 1", n)
		}
		if leases(customer) != 1 || leases(carrier) != 1 {
			t.Fatalf("leases: customer %d, carrier %d; want 1, 1", leases(customer), leases(carrier))
		}
	})

	t.Run("expired, channel taken meanwhile", func(t *testing.T) {
		time.Sleep(ttl + 50*time.Millisecond) // a stall past the TTL
		if leases(customer) != 0 || leases(carrier) != 0 {
			t.Fatal("leases did not expire")
		}
		other, err := l.Admit(ctx, "c", Entry{}, "call2")
		if err != nil {
			t.Fatalf("the freed channel: %v", err)
		}
		if n := l.Refresh(ctx, ls); n != 2 {
			t.Fatalf("%d leases taken again, want 2 (customer, carrier)", n)
		}
		if leases(customer) != 2 || leases(carrier) != 1 {
			t.Fatalf("leases: customer %d, carrier %d; want 2 (over the limit of 1), 1", leases(customer), leases(carrier))
		}
		if _, err := l.Admit(ctx, "c", Entry{}, "call3"); rejectCode(err) != 503 {
			t.Fatalf("a third call with two counted on one channel: %v, want 503", err)
		}
		l.Release(ctx, ls)
		l.Release(ctx, other)
		if leases(customer) != 0 || leases(carrier) != 0 {
			t.Fatalf("after release: customer %d, carrier %d", leases(customer), leases(carrier))
		}
	})
}

// BenchmarkLimiterCall is the limits path of one call: the customer's CPS
// and channel at set-up, a carrier and endpoint channel for its attempt,
// and the release.
func BenchmarkLimiterCall(b *testing.B) {
	ctx := context.Background()
	c := "c"
	l := NewLimiter(testLimits(b), "n1", customers(store.Customer{ID: c, CPSLimit: 1 << 30, ChannelLimit: 1 << 20}))
	at := Attempt{CarrierID: "k", Addr: "192.0.2.1:5060", CarrierChannels: 1 << 20, EndpointChannels: 1 << 20}
	ids := make([]string, 4096)
	for i := range ids {
		ids[i] = "call" + strconv.Itoa(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		ls, err := l.Admit(ctx, c, Entry{}, ids[i%len(ids)])
		if err != nil {
			b.Fatal(err)
		}
		if why := l.Attempt(ctx, ls, at); why != "" {
			b.Fatal(why)
		}
		l.Release(ctx, ls)
	}
}
