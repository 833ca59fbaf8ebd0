package auth

import (
	"net/netip"
	"testing"
	"time"
)

func TestBansThresholdAndBackoff(t *testing.T) {
	clk := newClock()
	b := NewBans(WithBanThreshold(3, time.Minute), WithBanDuration(time.Minute, 5*time.Minute), WithBanClock(clk.now))
	src := mustAddr("203.0.113.5")
	for i := range 2 {
		if b.Fail(src) || b.Banned(src) {
			t.Fatalf("banned after %d failures", i+1)
		}
	}
	if !b.Fail(src) || !b.Banned(src) {
		t.Fatal("not banned after 3 failures")
	}
	if b.Banned(mustAddr("203.0.113.6")) {
		t.Fatal("neighbour banned")
	}
	if l := b.List(); len(l) != 1 || l[0].IP != src || l[0].Until.Sub(l[0].Since) != time.Minute || l[0].Count != 1 {
		t.Fatalf("List = %+v", l)
	}
	// Exponential: 1, 2, 4, 5 (capped) minutes.
	for i, want := range []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 5 * time.Minute} {
		if i > 0 {
			for range 3 {
				b.Fail(src)
			}
		}
		if got := b.List()[0]; got.Until.Sub(got.Since) != want {
			t.Fatalf("ban %d lasts %v, want %v", i+1, got.Until.Sub(got.Since), want)
		}
		clk.add(want - time.Second)
		if !b.Banned(src) {
			t.Fatalf("ban %d over early", i+1)
		}
		clk.add(time.Second)
		if b.Banned(src) {
			t.Fatalf("ban %d not over", i+1)
		}
	}
}

func TestBansWindow(t *testing.T) {
	clk := newClock()
	b := NewBans(WithBanThreshold(3, time.Minute), WithBanClock(clk.now))
	src := mustAddr("2001:db8::1")
	for range 5 {
		b.Fail(src)
		clk.add(31 * time.Second) // never 3 within a minute
	}
	if b.Banned(src) {
		t.Fatal("failures outside the window banned")
	}
}

func TestBansLift(t *testing.T) {
	b := NewBans(WithBanThreshold(1, time.Minute))
	src := mustAddr("203.0.113.5")
	b.Fail(src)
	if !b.Banned(mustAddr("::ffff:203.0.113.5")) {
		t.Fatal("mapped address not banned")
	}
	if was, err := b.Lift(src); !was || err != nil || b.Banned(src) || len(b.List()) != 0 {
		t.Fatal("Lift did not lift")
	}
	if was, _ := b.Lift(src); was {
		t.Fatal("second Lift reported a ban")
	}
}

func TestBansExempt(t *testing.T) {
	b := NewBans(WithBanThreshold(1, time.Minute), WithExempt(ExemptPrefixes(netip.MustParsePrefix("198.51.100.0/24"))))
	carrier := mustAddr("198.51.100.7")
	for range 100 {
		if b.Fail(carrier) {
			t.Fatal("exempt source banned")
		}
	}
	if b.Banned(carrier) {
		t.Fatal("exempt source banned")
	}
	b.SetExempt(ExemptFunc(func(netip.Addr) bool { return false }))
	if !b.Fail(carrier) {
		t.Fatal("no longer exempt, still not banned")
	}
}

func TestBansBounded(t *testing.T) {
	b := NewBans(WithBanThreshold(3, time.Minute), WithBanSources(1000))
	for i := range 10_000 {
		b.Fail(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := b.s.size(); n > 1000 {
		t.Fatalf("tracking %d sources, bound 1000", n)
	}
}

func TestFloodGuard(t *testing.T) {
	clk := newClock()
	g := NewFloodGuard(10, 5, WithFloodClock(clk.now), WithFloodSources(100),
		WithFloodExempt(ExemptPrefixes(netip.MustParsePrefix("198.51.100.7/32"))))
	src := mustAddr("203.0.113.5")
	for i := range 5 {
		if !g.Allow(src) {
			t.Fatalf("burst request %d refused", i)
		}
	}
	if g.Allow(src) {
		t.Fatal("request past the burst allowed")
	}
	if !g.Allow(mustAddr("203.0.113.6")) {
		t.Fatal("another source limited")
	}
	clk.add(100 * time.Millisecond) // one token at 10/s
	if !g.Allow(src) || g.Allow(src) {
		t.Fatal("refill is not one token per 100 ms")
	}
	for range 1000 {
		if !g.Allow(mustAddr("198.51.100.7")) {
			t.Fatal("exempt source limited")
		}
	}
	if g.Dropped() != 2 {
		t.Fatalf("dropped = %d, want 2", g.Dropped())
	}
	for i := range 10_000 {
		g.Allow(netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)}))
	}
	if n := g.Sources(); n > 100 {
		t.Fatalf("tracking %d sources, bound 100", n)
	}
}

func BenchmarkBanned(b *testing.B) {
	bans := NewBans()
	for i := range 10_000 {
		bans.Fail(netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)}))
	}
	src := mustAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		bans.Banned(src)
	}
}

func BenchmarkFloodAllow(b *testing.B) {
	g := NewFloodGuard(1e9, 1e9)
	src := mustAddr("192.0.2.1")
	b.ReportAllocs()
	for b.Loop() {
		g.Allow(src)
	}
}
