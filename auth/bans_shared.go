package auth

import (
	"context"
	"log/slog"
	"maps"
	"net/netip"
	"time"

	"github.com/trunkline/trunkline/store"
)

// Bans shared through a store.BanBoard (nodes on one Redis): a ban this
// node issues is published, and every node reads the board four times a
// second, so a source banned on one node is refused by all of them within
// that. The board's bans are held apart from the node's own counts
// (remote): Banned checks both; Lift lifts both, here and on the board.

// boardPoll is how often a node reads the board's version.
const boardPoll = 250 * time.Millisecond

// boardTimeout bounds one exchange with the board.
const boardTimeout = time.Second

// WithBanBoard shares the bans through board.
func WithBanBoard(board store.BanBoard, log *slog.Logger) BanOption {
	return func(c *banConfig) { c.board, c.log = board, log }
}

// remoteBanned reports whether the board bans src now.
func (b *Bans) remoteBanned(src netip.Addr) bool {
	m := b.remote.Load()
	if m == nil {
		return false
	}
	r, ok := (*m)[src]
	return ok && b.now().Before(r.Until)
}

// publish queues a ban this node issued for the board; a full queue drops
// it (the node still holds it; others learn of the source's next ban).
func (b *Bans) publish(ip netip.Addr, since, until time.Time, count int) {
	if b.board == nil {
		return
	}
	select {
	case b.outbox <- store.BanEntry{IP: ip, Since: since, Until: until, Count: count}:
	default:
		b.log.Warn("ban not shared: too many at once", "source", ip)
	}
}

// liftRemote lifts src on the board and drops it from the board's copy.
func (b *Bans) liftRemote(src netip.Addr) bool {
	if b.board == nil {
		return false
	}
	was := b.remoteBanned(src)
	for {
		old := b.remote.Load()
		if old == nil {
			break
		}
		if _, ok := (*old)[src]; !ok {
			break
		}
		m := maps.Clone(*old)
		delete(m, src)
		if b.remote.CompareAndSwap(old, &m) {
			break
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), boardTimeout)
	defer cancel()
	if err := b.board.LiftBan(ctx, src); err != nil {
		b.log.Warn("ban not lifted on the other nodes", "source", src, "error", err)
	}
	return was
}

// follow publishes this node's bans and reads the board's until ctx ends.
func (b *Bans) follow(ctx context.Context) {
	t := time.NewTicker(boardPoll)
	defer t.Stop()
	version := int64(-1)
	for {
		select {
		case <-ctx.Done():
			return
		case e := <-b.outbox:
			bctx, cancel := context.WithTimeout(ctx, boardTimeout)
			if err := b.board.PutBan(bctx, e); err != nil {
				b.log.Warn("ban not shared with the other nodes", "source", e.IP, "error", err)
			}
			cancel()
		case <-t.C:
			version = b.read(ctx, version)
		}
	}
}

// read loads the board's bans if its version moved from seen; it returns
// the version read.
func (b *Bans) read(ctx context.Context, seen int64) int64 {
	ctx, cancel := context.WithTimeout(ctx, boardTimeout)
	defer cancel()
	v, err := b.board.BansVersion(ctx)
	if err != nil {
		b.log.Warn("reading the shared bans failed", "error", err)
		return seen
	}
	if v == seen {
		return seen
	}
	es, err := b.board.Bans(ctx, b.now(), b.maxSources)
	if err != nil {
		b.log.Warn("reading the shared bans failed", "error", err)
		return seen
	}
	lifted, mark, err := b.board.Lifts(ctx, max(b.liftMark, 0))
	if err != nil {
		b.log.Warn("reading the shared bans failed", "error", err)
		return seen
	}
	if b.liftMark >= 0 {
		// Lifted on another node: a ban issued here goes too. (At the
		// first read there is nothing here to lift.)
		for _, ip := range lifted {
			b.s.lift(ip.Unmap())
		}
	}
	b.liftMark = mark
	m := make(map[netip.Addr]Ban, len(es))
	for _, e := range es {
		ip := e.IP.Unmap()
		m[ip] = Ban{IP: ip, Since: e.Since, Until: e.Until, Count: e.Count}
	}
	b.remote.Store(&m)
	return v
}
