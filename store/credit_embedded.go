package store

import (
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"
)

// DefaultCreditCommitDelay is how long the first Post of a group commit waits for
// others to join it before the transaction starts (bbolt's MaxBatchDelay).
// Every answered call posts its charge, so under load the commits, each
// with two fdatasyncs, cost more CPU than the entries: profiled at 2,000
// calls/s, the ledger took 34 µs of CPU per call at 10 ms and 22 µs at
// 25 ms; at 1,000 calls/s on one core each sync also costs the runtime a
// thread hand-off, so 100 ms (10 commits a second) it is. Posts wait in the
// background (a call's charge, after its CDR, with its credit reservation
// held until then) or in an API request, where 100 ms does not matter.
const DefaultCreditCommitDelay = 100 * time.Millisecond

// EmbeddedCredit is the Credit of an Embedded store, for a switch that runs
// alone. Ledgers are in the store's bbolt file (see credit_ledger.go); a
// Post is one write transaction, grouped with concurrent Posts (bbolt's
// Batch) and synced before Post returns.
//
// Balances are cached in memory, read from the file on an account's first
// use, and afterwards only advanced by committed Posts, so Reserve, Release
// and Account never wait for the disk. Holds live only in this process's
// memory: a restart drops them all, which is right because the calls that
// held them died with the process. Expired holds are dropped lazily, when
// their account is next used.
//
// It is safe for concurrent use. After the Embedded is closed every method
// returns an error wrapping ErrClosed (or bbolt's "database not open").
type EmbeddedCredit struct {
	db     *bolt.DB
	epoch  time.Time // hold expiries are monotonic durations since epoch
	seed   maphash.Seed
	shards [creditShards]creditShard
	closed atomic.Bool

	afterRead func() // a test's hook between a first read and its use
}

var _ Credit = (*EmbeddedCredit)(nil)

func newEmbeddedCredit(db *bolt.DB, delay time.Duration) *EmbeddedCredit {
	db.MaxBatchDelay = delay
	return &EmbeddedCredit{db: db, epoch: time.Now(), seed: maphash.MakeSeed()}
}

func (c *EmbeddedCredit) close() { c.closed.Store(true) }

// Account returns acct's balance, the sum of its unexpired holds and the
// Seq of its last entry.
func (c *EmbeddedCredit) Account(ctx context.Context, acct string) (Account, error) {
	if err := c.check(ctx, acct, "-"); err != nil {
		return Account{}, err
	}
	now := c.now()
	s, a, err := c.lock(acct, now)
	if err != nil {
		return Account{}, fmt.Errorf("reading account %q: %w", acct, err)
	}
	a.expire(now)
	out := Account{Balance: a.balance, Reserved: a.reserved, Entries: a.seq}
	s.mu.Unlock()
	return out, nil
}

// Reserve adds amount to the hold named hold if the account's balance less
// all its holds stays at or above floor. It touches only memory (after the
// account's first use). Reserving 0 on a hold that is not open opens it
// empty. A negative amount or a ttl ≤ 0 is ErrBadAmount.
func (c *EmbeddedCredit) Reserve(ctx context.Context, acct, hold string, amount, floor int64, ttl time.Duration) (bool, error) {
	if err := c.check(ctx, acct, hold); err != nil {
		return false, err
	}
	if amount < 0 || amount > MaxAmount || !inRange(floor) || ttl <= 0 {
		return false, ErrBadAmount
	}
	now := c.now()
	s, a, err := c.lock(acct, now)
	if err != nil {
		return false, fmt.Errorf("reserving on account %q: %w", acct, err)
	}
	ok := a.reserve(hold, amount, floor, now, now+ttl)
	s.mu.Unlock()
	return ok, nil
}

// Release drops the hold named hold, if it is open.
func (c *EmbeddedCredit) Release(ctx context.Context, acct, hold string) error {
	if err := c.check(ctx, acct, hold); err != nil {
		return err
	}
	s := c.shard(acct)
	s.mu.Lock()
	if a := s.accts[acct]; a != nil { // an account not in memory has no holds
		a.drop(hold)
	}
	s.mu.Unlock()
	return nil
}

// Post makes the total posted under e.Key equal e.Amount, appending the
// difference as one entry, and drops the hold named hold (if not "") in the
// same critical section that adds the difference to the cached balance. It
// returns once the entry is synced to disk. A Post that fails keeps its hold.
func (c *EmbeddedCredit) Post(ctx context.Context, acct, hold string, e Entry) (Entry, error) {
	if err := c.check(ctx, acct, "-"); err != nil {
		return Entry{}, err
	}
	if e.Kind == "" || e.Key == "" || !inRange(e.Amount) {
		return Entry{}, ErrBadAmount
	}
	var res postResult
	err := c.db.Batch(func(tx *bolt.Tx) error {
		var err error // Batch may run this more than once: the last run wins
		res, err = postTx(tx, acct, e, time.Now().UnixMilli())
		return err
	})
	if err != nil {
		return Entry{}, fmt.Errorf("posting %q to account %q: %w", e.Key, acct, err)
	}
	c.advance(acct, hold, res)
	return res.entry, nil
}

// PostAll applies ps in one write transaction (no commit delay: the
// caller has already gathered them) and advances the cached balances in
// the same order once it is synced.
func (c *EmbeddedCredit) PostAll(ctx context.Context, ps []Posting) error {
	if c.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	todo := resetPostings(ps)
	if todo == 0 {
		return nil
	}
	res := make([]postResult, len(ps))
	refused := make([]error, len(ps))
	at := time.Now().UnixMilli()
	err := c.db.Update(func(tx *bolt.Tx) error {
		for i := range ps {
			if ps[i].Err != nil {
				continue
			}
			r, err := postTx(tx, ps[i].Acct, ps[i].Entry, at)
			if errors.Is(err, ErrBadAmount) {
				refused[i] = err // postTx refuses before it writes anything
				continue
			}
			if err != nil {
				return fmt.Errorf("posting %q to account %q: %w", ps[i].Entry.Key, ps[i].Acct, err)
			}
			res[i] = r
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("posting %d entries: %w", todo, err)
	}
	for i := range ps {
		p := &ps[i]
		if p.Err != nil {
			continue
		}
		if refused[i] != nil {
			p.Err = refused[i]
			continue
		}
		p.Posted = res[i].entry
		c.advance(p.Acct, p.Hold, res[i])
	}
	return nil
}

// advance applies a committed post to acct's cached state, if it has one
// (not in memory: its first use reads the file), and drops the hold.
func (c *EmbeddedCredit) advance(acct, hold string, res postResult) {
	s := c.shard(acct)
	s.mu.Lock()
	if a := s.accts[acct]; a != nil {
		a.advance(res.balance, res.seq)
		if hold != "" {
			a.drop(hold)
		}
	}
	s.mu.Unlock()
}

// Posted returns the total posted under key on acct and whether any entry
// has that key.
func (c *EmbeddedCredit) Posted(ctx context.Context, acct, key string) (int64, bool, error) {
	if err := c.check(ctx, acct, key); err != nil {
		return 0, false, err
	}
	var total int64
	var ok bool
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		total, ok, err = postedTotal(tx, acct, key)
		return err
	})
	if err != nil {
		return 0, false, fmt.Errorf("reading posted %q of account %q: %w", key, acct, err)
	}
	return total, ok, nil
}

// Entries returns acct's entries with Seq > after, in order, at most limit
// of them (all when limit ≤ 0).
func (c *EmbeddedCredit) Entries(ctx context.Context, acct string, after uint64, limit int) ([]Entry, error) {
	if err := c.check(ctx, acct, "-"); err != nil {
		return nil, err
	}
	var out []Entry
	err := c.db.View(func(tx *bolt.Tx) error {
		var err error
		out, err = readEntries(tx, acct, after, limit)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("reading entries of account %q: %w", acct, err)
	}
	return out, nil
}

// check refuses a call on a closed store, with a done context or without
// an account or name.
func (c *EmbeddedCredit) check(ctx context.Context, acct, name string) error {
	return checkCall(ctx, c.closed.Load(), acct, name)
}

// now is the monotonic time hold expiries are measured in.
func (c *EmbeddedCredit) now() time.Duration { return time.Since(c.epoch) }

func (c *EmbeddedCredit) shard(acct string) *creditShard {
	return &c.shards[maphash.String(c.seed, acct)%creditShards]
}

// lock returns acct's shard, locked, and acct's state with its balance read
// from the file. The caller unlocks the shard.
//
// The cached balance must never drift from the file's. A first read races
// with Posts committing meanwhile; so the state is put in the map before
// the read, every committed Post advances a state it finds there, and both
// keep the newer (balance, seq) pair by seq. A Post that finds no state
// committed before the read began, so the read sees it.
func (c *EmbeddedCredit) lock(acct string, now time.Duration) (*creditShard, *creditAcct, error) {
	s := c.shard(acct)
	s.mu.Lock()
	for {
		a := s.accts[acct]
		if a != nil && a.loaded {
			return s, a, nil
		}
		if a == nil {
			a = s.add(acct, now)
		}
		s.mu.Unlock()
		var bal int64
		var seq uint64
		err := c.db.View(func(tx *bolt.Tx) error {
			var err error
			bal, seq, err = ledgerTip(tx, acct)
			return err
		})
		if c.afterRead != nil {
			c.afterRead()
		}
		s.mu.Lock()
		if err != nil {
			s.mu.Unlock()
			return nil, nil, err
		}
		if s.accts[acct] == a { // else it was forgotten meanwhile: read again
			a.advance(bal, seq)
			a.loaded = true
			return s, a, nil
		}
	}
}
