package auth

import (
	"context"
	"net/netip"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// Two nodes on one Redis: a source banned on A is refused by B within a
// poll, B lists it, lifting it on B lifts it on A, and a longer ban is not
// cut short by a shorter one published after it.
func TestBansShared(t *testing.T) {
	rdb := storetest.Redis(t)
	board := store.NewRedis(rdb, storetest.RedisPrefix(t, rdb))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	node := func() *Bans {
		b := NewBans(WithBanThreshold(2, time.Minute), WithBanBoard(board, nil))
		go b.Run(ctx, time.Minute)
		return b
	}
	a, b := node(), node()
	src := mustAddr("203.0.113.9")
	a.Fail(src)
	if !a.Fail(src) {
		t.Fatal("A did not ban after 2 failures")
	}
	waitFor(t, "B to refuse A's ban", func() bool { return b.Banned(src) })
	if b.Banned(mustAddr("203.0.113.10")) {
		t.Fatal("B bans a neighbour")
	}
	l := b.List()
	if len(l) != 1 || l[0].IP != src || l[0].Count != 1 || l[0].Until.Sub(l[0].Since) != time.Minute {
		t.Fatalf("B lists %+v", l)
	}
	// An IPv4-mapped address is the same source.
	if !b.Banned(netip.AddrFrom16(src.As16())) {
		t.Fatal("the mapped form of a banned address passes")
	}
	if !b.Lift(src) {
		t.Fatal("B: lifting a ban it holds from the board reports none")
	}
	waitFor(t, "A to drop the ban lifted on B", func() bool { return !a.Banned(src) })
	if b.Banned(src) || len(b.List()) != 0 {
		t.Fatalf("B still bans after lifting: %+v", b.List())
	}

	// A shorter ban published later leaves the longer one.
	now := time.Now()
	long := store.BanEntry{IP: mustAddr("198.51.100.1"), Since: now, Until: now.Add(time.Hour), Count: 3}
	if err := board.PutBan(ctx, long); err != nil {
		t.Fatal(err)
	}
	if err := board.PutBan(ctx, store.BanEntry{IP: long.IP, Since: now, Until: now.Add(time.Minute), Count: 1}); err != nil {
		t.Fatal(err)
	}
	if err := board.PutBan(ctx, store.BanEntry{IP: mustAddr("198.51.100.2"), Since: now.Add(-time.Hour), Until: now.Add(-time.Minute)}); err != nil {
		t.Fatal(err)
	}
	got, err := board.Bans(ctx, time.Now(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].IP != long.IP || got[0].Until.UnixMilli() != long.Until.UnixMilli() || got[0].Count != 3 {
		t.Fatalf("board holds %+v", got)
	}
	waitFor(t, "A to take the board's ban", func() bool { return a.Banned(long.IP) })
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("waited 3 s for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
