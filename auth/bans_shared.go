package auth

import (
	"context"
	"fmt"
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

// clockSlack is how far apart the store's clock and a node's may be when a
// lift is weighed against a ban (a source that offends again that soon
// after a lift is banned again on its next failures).
const clockSlack = store.BanClockSlack

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
// it (the node still holds it; others learn of the source's next ban) and
// counts it, logged with the next ban published.
func (b *Bans) publish(ip netip.Addr, since, until time.Time, count int) {
	if b.board == nil {
		return
	}
	select {
	case b.outbox <- store.BanEntry{IP: ip, Since: since, Until: until, Count: count}:
	default:
		b.unshared.Add(1)
	}
}

// liftRemote lifts src on the board and drops it from the board's copy;
// it reports whether the board's copy banned src.
func (b *Bans) liftRemote(src netip.Addr) (bool, error) {
	if b.board == nil {
		return false, nil
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
		return was, fmt.Errorf("lifted on this node, not on the others: %w", err)
	}
	return was, nil
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
			if _, ok := b.s.locked(e.IP); !ok {
				continue // lifted (or over) while it waited: publishing it would undo the lift
			}
			if n := b.unshared.Swap(0); n > 0 {
				b.log.Warn("bans not shared with the other nodes: too many at once", "dropped", n)
			}
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
	if v < seen {
		// The board went back (Redis lost its data, or failed over to a
		// replica without the last writes): its lift sequence starts
		// again too.
		b.liftMark = 0
	}
	es, err := b.board.Bans(ctx, b.now(), b.maxSources)
	if err != nil {
		b.log.Warn("reading the shared bans failed", "error", err)
		return seen
	}
	lifted, mark, err := b.board.Lifts(ctx, b.liftMark)
	if err != nil {
		b.log.Warn("reading the shared bans failed", "error", err)
		return seen
	}
	// Lifted on another node: a ban issued here goes too, unless it began
	// after the lift (the source offended again). The lift's time is the
	// store's clock and the ban's this node's: within clockSlack of each
	// other the lift wins.
	for _, l := range lifted {
		ip := l.IP.Unmap()
		if since, _ := b.s.history(ip); !since.IsZero() && l.At.Add(clockSlack).After(since) {
			b.s.lift(ip)
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
