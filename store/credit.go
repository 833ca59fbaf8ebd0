package store

import (
	"context"
	"errors"
	"time"
)

// ErrBadAmount is returned for a negative reservation, an entry without a
// key or kind, or an amount, balance or reservation beyond ±MaxAmount.
var ErrBadAmount = errors.New("bad amount or entry")

// MaxAmount bounds every amount, balance and reservation a Credit keeps
// (10^18: a trillion currency units in millionths), so that no sum of them
// overflows an int64.
const MaxAmount = 1_000_000_000_000_000_000

func inRange(v int64) bool { return v >= -MaxAmount && v <= MaxAmount }

// Entry is one change of an account's balance in its ledger. Amounts are
// integers in the unit the caller chose (Trunkline uses millionths of the
// account's currency); the store adds them and never rounds.
type Entry struct {
	Seq     uint64 `json:"seq"`     // 1, 2, 3… per account, in the order applied
	At      int64  `json:"at_ms"`   // Unix milliseconds when it was applied
	Kind    string `json:"kind"`    // e.g. "payment", "charge", "rerate", "adjustment"
	Key     string `json:"key"`     // what it is for: a payment id, a call id…
	Amount  int64  `json:"amount"`  // the change: positive credits, negative debits
	Balance int64  `json:"balance"` // the balance after this entry
	Reason  string `json:"reason,omitempty"`
}

// Account is an account's state: its balance (the sum of its ledger) and
// the sum of its open reservations.
type Account struct {
	Balance  int64  `json:"balance"`
	Reserved int64  `json:"reserved"`
	Entries  uint64 `json:"entries"` // the Seq of the last entry
}

// Credit is the runtime money state shared by the switch's nodes: per
// account a ledger of entries that sums to the balance, and reservations
// ("holds") that calls take on the balance while they live. Every method is
// one atomic operation, so that backends can implement it as a transaction
// or a script; all are safe for concurrent use. An account that has never
// been written has balance 0, no holds and no entries.
//
// A negative amount, a ttl ≤ 0, or an entry without kind or key is
// ErrBadAmount; an empty account, hold name (in Reserve and Release) or key
// (in Posted) is ErrEmptyKey; neither changes anything. Errors other than
// these mean the backend failed: a failed Reserve reserved nothing; a failed
// Post may or may not have been applied, and repeating it is safe (Post is
// idempotent by key).
type Credit interface {
	// Account returns the balance and open reservations of acct.
	Account(ctx context.Context, acct string) (Account, error)

	// Reserve adds amount (≥ 0) to the hold named hold on acct if, after
	// it, balance − reserved ≥ floor; it reports false and changes nothing
	// otherwise. A hold lives until Post or Release names it, or until ttl
	// passes without a Reserve on it (a node that dies frees its holds).
	// Reserving 0 refreshes the hold's ttl and succeeds even below floor.
	Reserve(ctx context.Context, acct, hold string, amount, floor int64, ttl time.Duration) (bool, error)

	// Release drops the hold named hold, if it is open.
	Release(ctx context.Context, acct, hold string) error

	// Post makes the total of acct's entries with e.Key equal e.Amount: it
	// appends one entry of e.Amount minus what is already posted under that
	// key (nothing when the difference is 0), and, in the same step, drops
	// the hold named hold (none when hold is ""). It is durable when it
	// returns. It returns the entry appended (Seq 0 when there was none).
	// e.Seq, e.At and e.Balance are set by the store; e.Kind and e.Key must
	// not be empty.
	Post(ctx context.Context, acct, hold string, e Entry) (Entry, error)

	// PostAll does every Post of ps as one durable step (one transaction,
	// one sync): as if each were a Post, in order, it sets ps[i].Posted to
	// the entry appended, or ps[i].Err to why that posting was refused
	// (ErrEmptyKey, ErrBadAmount: nothing of it applied, the others are).
	// An error returned means the backend failed: any posting may or may
	// not have been applied, and repeating them all is safe.
	PostAll(ctx context.Context, ps []Posting) error

	// Posted returns the total posted under key on acct, and whether
	// anything was ever posted under it (a first Post of 0 counts, though
	// it appends no entry).
	Posted(ctx context.Context, acct, key string) (int64, bool, error)

	// Entries returns acct's entries with Seq > after, in order, at most
	// limit of them (limit ≤ 0 means all).
	Entries(ctx context.Context, acct string, after uint64, limit int) ([]Entry, error)
}

// Posting is one Post of a PostAll: its arguments, then what it did.
type Posting struct {
	Acct, Hold string
	Entry      Entry

	Posted Entry // the entry appended (Seq 0 when there was none)
	Err    error // why this posting was refused
}

// checkCall refuses a call on a closed backend, with a done context, or
// with an empty name (an account, a hold, a key): what every Credit and
// Store method checks first.
func checkCall(ctx context.Context, closed bool, names ...string) error {
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if n == "" {
			return ErrEmptyKey
		}
	}
	return nil
}

// resetPostings clears what a PostAll sets in ps and refuses the postings
// that are wrong on their face (no account: ErrEmptyKey; no kind or key,
// or an amount out of range: ErrBadAmount). It returns how many are left
// to apply.
func resetPostings(ps []Posting) int {
	todo := 0
	for i := range ps {
		p := &ps[i]
		p.Posted, p.Err = Entry{}, nil
		switch {
		case p.Acct == "":
			p.Err = ErrEmptyKey
		case p.Entry.Kind == "" || p.Entry.Key == "" || !inRange(p.Entry.Amount):
			p.Err = ErrBadAmount
		default:
			todo++
		}
	}
	return todo
}
