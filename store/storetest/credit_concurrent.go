package storetest

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// The concurrent subtests are meant to run with -race too.

// testConcurrentReserve has 64 goroutines take small blocks of one prepaid
// balance until none is left: together they must never hold more than the
// balance, and must leave less than one block.
func testConcurrentReserve(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	const workers, block, balance = 64, 7, 10_000
	post(t, c, "acct", "", "payment", "p", balance)
	var reserved atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := 0; ; i++ {
				hold := fmt.Sprintf("call/%d/%d", w, i/4) // a new hold every 4 blocks
				ok, err := c.Reserve(ctx, "acct", hold, block, 0, long)
				if err != nil {
					t.Errorf("Reserve: %v", err)
					return
				}
				if !ok {
					return
				}
				reserved.Add(block)
			}
		})
	}
	wg.Wait()
	got := reserved.Load()
	if got > balance || balance-got >= block {
		t.Errorf("goroutines reserved %d of %d in blocks of %d; want all but less than one block", got, balance, block)
	}
	if a := account(t, c, "acct"); a.Reserved != got || a.Balance != balance {
		t.Errorf("Account = %+v, want balance %d, reserved %d", a, balance, got)
	}
}

// testConcurrentPost posts distinct keys to many fresh accounts from many
// goroutines while others read the same accounts (a first read racing with
// commits): every Post lands once and the balances read add up.
func testConcurrentPost(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	const accounts, posters, each = 16, 8, 4
	var posting, reading sync.WaitGroup
	done := make(chan struct{})
	for a := range accounts {
		acct := fmt.Sprintf("acct/%d", a)
		reading.Go(func() {
			for {
				if _, err := c.Account(ctx, acct); err != nil {
					t.Errorf("Account: %v", err)
				}
				if _, err := c.Reserve(ctx, acct, "reader", 0, 0, long); err != nil {
					t.Errorf("Reserve: %v", err)
				}
				select {
				case <-done:
					return
				default:
				}
			}
		})
		for p := range posters {
			posting.Go(func() {
				for i := range each {
					e := store.Entry{Kind: "charge", Key: fmt.Sprintf("call/%d/%d", p, i), Amount: -int64(p*each + i + 1)}
					if _, err := c.Post(ctx, acct, "", e); err != nil {
						t.Errorf("Post: %v", err)
					}
				}
			})
		}
	}
	posting.Wait()
	close(done)
	reading.Wait()
	const n = posters * each
	for a := range accounts {
		acct := fmt.Sprintf("acct/%d", a)
		es := checkLedger(t, c, acct)
		if got := account(t, c, acct); len(es) != n || got.Balance != -n*(n+1)/2 {
			t.Errorf("%s: %d entries, Account %+v; want %d entries, balance %d", acct, len(es), got, n, -n*(n+1)/2)
		}
	}
}

// testConcurrentSameKey repeats one Post from many goroutines: exactly one
// of them appends.
func testConcurrentSameKey(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	var appended atomic.Int64
	var wg sync.WaitGroup
	for range 32 {
		wg.Go(func() {
			e, err := c.Post(ctx, "acct", "", store.Entry{Kind: "charge", Key: "call/1", Amount: -100})
			if err != nil {
				t.Errorf("Post: %v", err)
			}
			if e.Seq != 0 {
				appended.Add(1)
			}
		})
	}
	wg.Wait()
	if n := appended.Load(); n != 1 {
		t.Errorf("%d Posts reported an entry, want 1", n)
	}
	if es := checkLedger(t, c, "acct"); len(es) != 1 {
		t.Errorf("ledger = %+v, want one entry", es)
	}
}

// testPostHoldAtomic settles calls (Reserve a block, then Post its charge
// dropping its hold) while a reader watches what is available: it must
// never exceed the balance less the cost of every call whose Reserve had
// returned before the read. It would if a Post dropped its hold before its
// charge showed in the balance. (It may be less for a moment: a backend may
// show a charge before the hold it drops.)
func testPostHoldAtomic(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	const workers, calls, cost, balance = 8, 25, 10, 100_000
	post(t, c, "acct", "", "payment", "p", balance)
	var begun atomic.Int64 // calls whose Reserve returned
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := range calls {
				call := fmt.Sprintf("call/%d/%d", w, i)
				if ok, err := c.Reserve(ctx, "acct", call, cost, 0, long); !ok || err != nil {
					t.Errorf("Reserve = %v, %v", ok, err)
					return
				}
				begun.Add(1)
				if _, err := c.Post(ctx, "acct", call, store.Entry{Kind: "charge", Key: call, Amount: -cost}); err != nil {
					t.Errorf("Post: %v", err)
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	for reads := 0; ; reads++ {
		bound := balance - cost*begun.Load()
		a, err := c.Account(ctx, "acct")
		if err != nil {
			t.Errorf("Account: %v", err)
		} else if avail := a.Balance - a.Reserved; avail > bound {
			t.Errorf("read %d: available %d (%+v) is more than the %d left after the calls begun", reads, avail, a, bound)
		}
		select {
		case <-done:
			want := store.Account{Balance: balance - workers*calls*cost, Entries: 1 + workers*calls}
			if a := account(t, c, "acct"); a != want {
				t.Errorf("Account = %+v, want %+v", a, want)
			}
			return
		default:
		}
	}
}
