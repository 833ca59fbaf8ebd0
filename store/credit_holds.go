package store

import (
	"math"
	"sync"
	"time"
)

// creditShards is the number of independently locked parts of
// EmbeddedCredit's memory; an account belongs to one by the hash of its name.
const creditShards = 64

// creditForgetAt is the number of accounts a shard holds before it first
// forgets those without holds (their balance is read again on next use).
// A daily spend account per customer would otherwise stay forever.
const creditForgetAt = 1024

// never is the expiry of an account without holds.
const never = time.Duration(math.MaxInt64)

// creditShard is a part of EmbeddedCredit's memory: the accounts whose
// names hash to it, behind one mutex.
type creditShard struct {
	mu       sync.Mutex
	accts    map[string]*creditAcct
	forgetAt int // len(accts) that triggers the next forget
}

// creditAcct is what EmbeddedCredit keeps in memory of an account:
// (balance, seq) is the newest state of its ledger seen, and its holds.
type creditAcct struct {
	loaded   bool // (balance, seq) came from a read of the ledger, or a newer Post
	balance  int64
	seq      uint64
	reserved int64 // the sum of holds
	holds    map[string]creditHold
	nextExp  time.Duration // no hold expires before this
}

// creditHold is an open reservation.
type creditHold struct {
	amount int64
	exp    time.Duration // since EmbeddedCredit.epoch
}

// add puts a new, not yet loaded, state for acct in the shard, first
// forgetting the accounts without holds when the shard has grown.
func (s *creditShard) add(acct string, now time.Duration) *creditAcct {
	if s.accts == nil {
		s.accts = make(map[string]*creditAcct)
	}
	if len(s.accts) >= max(s.forgetAt, creditForgetAt) {
		for name, a := range s.accts {
			if a.expire(now); len(a.holds) == 0 {
				delete(s.accts, name)
			}
		}
		s.forgetAt = 2 * len(s.accts)
	}
	a := &creditAcct{nextExp: never}
	s.accts[acct] = a
	return a
}

// advance moves the account to the ledger state (balance, seq) when it is
// newer than the one it has. Every state the ledger had is a consistent
// pair, and a higher seq includes every lower one, so the order in which
// reads and commits arrive does not matter.
func (a *creditAcct) advance(balance int64, seq uint64) {
	if seq > a.seq {
		a.balance, a.seq = balance, seq
	}
}

// reserve adds amount to hold and sets its expiry to exp if balance −
// reserved − amount stays ≥ floor (always when amount is 0).
func (a *creditAcct) reserve(hold string, amount, floor int64, now, exp time.Duration) bool {
	a.expire(now)
	// Balances and amounts are within ±MaxAmount and reserved is at most
	// MaxAmount: the sums cannot overflow.
	if amount > 0 && (a.reserved+amount > MaxAmount || a.balance-a.reserved-amount < floor) {
		return false
	}
	if a.holds == nil {
		a.holds = make(map[string]creditHold)
	}
	h := a.holds[hold]
	h.amount += amount
	h.exp = exp
	a.holds[hold] = h
	a.reserved += amount
	a.nextExp = min(a.nextExp, exp)
	return true
}

// drop removes hold if it is open.
func (a *creditAcct) drop(hold string) {
	if h, ok := a.holds[hold]; ok {
		a.reserved -= h.amount
		delete(a.holds, hold)
	}
}

// expire drops the holds whose expiry has passed. It looks at them only
// when the earliest expiry may have passed.
func (a *creditAcct) expire(now time.Duration) {
	if now < a.nextExp {
		return
	}
	a.nextExp = never
	for name, h := range a.holds {
		if h.exp <= now {
			a.reserved -= h.amount
			delete(a.holds, name)
		} else {
			a.nextExp = min(a.nextExp, h.exp)
		}
	}
}
