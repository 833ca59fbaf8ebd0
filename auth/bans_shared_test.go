package auth

import (
	"context"
	"net/netip"
	"sync"
	"sync/atomic"
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
	if was, err := b.Lift(src); !was || err != nil {
		t.Fatalf("B: lifting a ban it holds from the board: %v, %v", was, err)
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

	// A ban that began before a lift of its address is not published over
	// the lift (it waited in a slow node's queue).
	late := mustAddr("198.51.100.3")
	begun := time.Now().Add(-time.Second)
	if err := board.LiftBan(ctx, late); err != nil {
		t.Fatal(err)
	}
	if err := board.PutBan(ctx, store.BanEntry{IP: late, Since: begun, Until: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if got, _ := board.Bans(ctx, time.Now(), 10); len(got) != 1 || got[0].IP != long.IP {
		t.Fatalf("a ban older than the lift of its address was published: %+v", got)
	}

	// Lifts are each seen once, however close together.
	_, mark, err := board.Lifts(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 20 {
		ip := netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})
		if err := board.LiftBan(ctx, ip); err != nil {
			t.Fatal(err)
		}
		lifted, next, err := board.Lifts(ctx, mark)
		if err != nil || len(lifted) != 1 || lifted[0].IP != ip || next <= mark || time.Since(lifted[0].At).Abs() > time.Minute {
			t.Fatalf("lift %d: %v after mark %d: %v, %v", i, lifted, mark, next, err)
		}
		mark = next
	}
}

// A node that issued a ban before it first read the board, lifted on
// another node meanwhile, drops it at its first read and does not publish
// it; a ban the source earns after the lift stands.
func TestBansLiftBeforeFirstRead(t *testing.T) {
	rdb := storetest.Redis(t)
	board := store.NewRedis(rdb, storetest.RedisPrefix(t, rdb))
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	a := NewBans(WithBanThreshold(1, time.Minute), WithBanBoard(board, nil))
	src := mustAddr("203.0.113.30")
	a.Fail(src)
	time.Sleep(5 * time.Millisecond)
	if err := board.LiftBan(ctx, src); err != nil { // an operator, through another node
		t.Fatal(err)
	}
	go a.Run(ctx, time.Minute)
	waitFor(t, "A to drop the lifted ban", func() bool { return !a.Banned(src) })
	time.Sleep(2 * boardPoll)
	if got, _ := board.Bans(ctx, time.Now(), 10); len(got) != 0 {
		t.Fatalf("a lifted ban was published: %+v", got)
	}
	if !a.Fail(src) || !a.Banned(src) {
		t.Fatal("a new offence after the lift is not banned")
	}
	time.Sleep(2 * boardPoll)
	if !a.Banned(src) {
		t.Fatal("the old lift undid a ban that began after it")
	}
}

// An issued ban waiting to be published when it is lifted here is not
// published after the lift.
func TestBansLiftBeforePublish(t *testing.T) {
	board := &gatedBoard{gate: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b := NewBans(WithBanThreshold(1, time.Minute), WithBanBoard(board, nil))
	go b.Run(ctx, time.Minute)
	first, second := mustAddr("203.0.113.20"), mustAddr("203.0.113.21")
	b.Fail(first) // its publication blocks on the gate
	waitFor(t, "the first publication", func() bool { return board.started.Load() })
	b.Fail(second) // queued behind it
	if was, err := b.Lift(second); !was || err != nil {
		t.Fatalf("lift: %v %v", was, err)
	}
	close(board.gate)
	time.Sleep(300 * time.Millisecond)
	board.mu.Lock()
	defer board.mu.Unlock()
	if len(board.put) != 1 || board.put[0] != first {
		t.Fatalf("published %v, want only %v", board.put, first)
	}
}

// gatedBoard is a BanBoard whose first PutBan waits on gate.
type gatedBoard struct {
	gate    chan struct{}
	started atomic.Bool
	mu      sync.Mutex
	put     []netip.Addr
}

func (g *gatedBoard) PutBan(_ context.Context, e store.BanEntry) error {
	if g.started.CompareAndSwap(false, true) {
		<-g.gate
	}
	g.mu.Lock()
	g.put = append(g.put, e.IP)
	g.mu.Unlock()
	return nil
}
func (g *gatedBoard) LiftBan(context.Context, netip.Addr) error  { return nil }
func (g *gatedBoard) BansVersion(context.Context) (int64, error) { return 0, nil }
func (g *gatedBoard) Bans(context.Context, time.Time, int) ([]store.BanEntry, error) {
	return nil, nil
}
func (g *gatedBoard) Lifts(_ context.Context, after int64) ([]store.BanLift, int64, error) {
	return nil, after, nil
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

// A node whose clock runs ahead of the store's still takes a lift made
// after its ban; and after the board lost its data (its lift sequence
// starts again) a lift still reaches the node that issued the ban.
func TestBansLiftSkewAndReset(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.RedisPrefix(t, rdb)
	board := store.NewRedis(rdb, prefix)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ahead := func() time.Time { return time.Now().Add(2 * time.Second) }
	a := NewBans(WithBanThreshold(1, time.Minute), WithBanBoard(board, nil), WithBanClock(ahead))
	go a.Run(ctx, time.Minute)
	src := mustAddr("203.0.113.40")
	a.Fail(src)
	time.Sleep(3 * boardPoll)
	if err := board.LiftBan(ctx, src); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a node 2 s ahead to take the lift", func() bool { return !a.Banned(src) })

	for i := range 5 {
		if err := board.LiftBan(ctx, netip.AddrFrom4([4]byte{192, 0, 2, byte(i)})); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * boardPoll)
	// The board's data is lost (a Redis restored empty).
	keys, err := rdb.Keys(ctx, prefix+"*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) > 0 {
		if err := rdb.Del(ctx, keys...).Err(); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(3 * boardPoll)
	other := mustAddr("203.0.113.41")
	a.Fail(other)
	time.Sleep(3 * boardPoll)
	if err := board.LiftBan(ctx, other); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the lift after the board was reset", func() bool { return !a.Banned(other) })
}
