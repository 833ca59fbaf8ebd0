package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// testPostAll: one PostAll does what its Posts would, in order, refuses a
// bad posting without the others, and repeats without doubling.
func testPostAll(t *testing.T, open func(t *testing.T) store.Credit, restart CreditRestart) {
	c := open(t)
	ctx := t.Context()
	post(t, c, "a", "", "payment", "p", 1000)
	reserve(t, c, "a", "call/1", 100, 0)
	reserve(t, c, "a", "call/2", 50, 0)
	ps := []store.Posting{
		{Acct: "a", Hold: "call/1", Entry: store.Entry{Kind: "charge", Key: "call/1", Amount: -80}},
		{Acct: "b", Hold: "call/1", Entry: store.Entry{Kind: "charge", Key: "call/1", Amount: -5}},
		{Acct: "a", Entry: store.Entry{Kind: "", Key: "call/9", Amount: -1}},                        // no kind
		{Acct: "", Entry: store.Entry{Kind: "charge", Key: "call/9", Amount: -1}},                   // no account
		{Acct: "b", Entry: store.Entry{Kind: "charge", Key: "big", Amount: -store.MaxAmount}},       // b would pass −MaxAmount
		{Acct: "a", Hold: "call/2", Entry: store.Entry{Kind: "rerate", Key: "call/1", Amount: -90}}, // a correction in the same step
		{Acct: "a", Entry: store.Entry{Kind: "charge", Key: "call/3", Amount: 0}},                   // free: no entry
	}
	if err := c.PostAll(ctx, ps); err != nil {
		t.Fatalf("PostAll: %v", err)
	}
	want := []struct {
		seq    uint64
		amount int64
		err    error
	}{{2, -80, nil}, {1, -5, nil}, {0, 0, store.ErrBadAmount}, {0, 0, store.ErrEmptyKey}, {0, 0, store.ErrBadAmount}, {3, -10, nil}, {0, 0, nil}}
	for i, w := range want {
		p := ps[i]
		if p.Posted.Seq != w.seq || p.Posted.Amount != w.amount || !errors.Is(p.Err, w.err) || (w.err == nil) != (p.Err == nil) {
			t.Errorf("posting %d: Posted %+v, Err %v; want seq %d amount %d, error %v", i, p.Posted, p.Err, w.seq, w.amount, w.err)
		}
	}
	if a := account(t, c, "a"); a != (store.Account{Balance: 910, Entries: 3}) {
		t.Errorf("a: %+v after PostAll, want balance 910, 3 entries, both holds dropped", a)
	}
	if a := account(t, c, "b"); a != (store.Account{Balance: -5, Entries: 1}) {
		t.Errorf("b: %+v after PostAll, want balance -5, 1 entry", a)
	}
	if total, ok, err := c.Posted(ctx, "a", "call/3"); total != 0 || !ok || err != nil {
		t.Errorf("a free call is not remembered: Posted = %d, %v, %v", total, ok, err)
	}
	checkLedger(t, c, "a")
	checkLedger(t, c, "b")

	// Repeated (as after a failure whose outcome was unknown): nothing new.
	// (Not the first posting: its key's total is set again by the sixth,
	// so a repeat of both moves it to −80 and back.)
	again := ps[1:]
	if err := c.PostAll(ctx, again); err != nil {
		t.Fatalf("PostAll repeated: %v", err)
	}
	for i, p := range again {
		if p.Posted.Seq != 0 {
			t.Errorf("posting %d repeated appended %+v", i+1, p.Posted)
		}
		if first := want[i+1].err; (first == nil) != (p.Err == nil) || !errors.Is(p.Err, first) {
			t.Errorf("posting %d repeated: Err %v, want %v as the first time", i+1, p.Err, first)
		}
	}
	if a := account(t, c, "b"); a != (store.Account{Balance: -5, Entries: 1}) {
		t.Errorf("b after the repeat: %+v, want balance -5, 1 entry", a)
	}

	// A refused posting keeps its hold; a done context changes nothing.
	reserve(t, c, "a", "call/4", 7, 0)
	ps = []store.Posting{{Acct: "a", Hold: "call/4", Entry: store.Entry{Kind: "charge", Key: "", Amount: -1}}}
	if err := c.PostAll(ctx, ps); err != nil || !errors.Is(ps[0].Err, store.ErrBadAmount) {
		t.Errorf("PostAll without a key: %v, %v; want ErrBadAmount", err, ps[0].Err)
	}
	if a := account(t, c, "a"); a.Reserved != 7 {
		t.Errorf("a refused posting dropped its hold: Reserved %d, want 7", a.Reserved)
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	ps = []store.Posting{{Acct: "a", Hold: "call/4", Entry: store.Entry{Kind: "charge", Key: "call/4", Amount: -7}}}
	if err := c.PostAll(done, ps); !errors.Is(err, context.Canceled) {
		t.Errorf("PostAll with a done context: %v, want context.Canceled", err)
	}
	if a := account(t, c, "a"); a != (store.Account{Balance: 910, Reserved: 7, Entries: 3}) {
		t.Errorf("a after refused calls: %+v, want balance 910, 7 reserved, 3 entries", a)
	}
	if err := c.PostAll(ctx, nil); err != nil {
		t.Errorf("PostAll(nil): %v", err)
	}
	c = restart.Reopen(t, c)
	if a := account(t, c, "a"); a.Balance != 910 || a.Entries != 3 {
		t.Errorf("a after restart: %+v, want balance 910, 3 entries", a)
	}
}

// testConcurrentPostAll: batches and single Posts on the same accounts at
// once keep every ledger whole.
func testConcurrentPostAll(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	const accounts, batches, each = 4, 8, 16
	for a := range accounts {
		account(t, c, fmt.Sprintf("acct/%d", a)) // cached: the batches must advance what is in memory
	}
	var wg sync.WaitGroup
	for b := range batches {
		wg.Go(func() {
			ps := make([]store.Posting, 0, accounts*each)
			for i := range each {
				for a := range accounts {
					ps = append(ps, store.Posting{Acct: fmt.Sprintf("acct/%d", a), Entry: store.Entry{Kind: "charge", Key: fmt.Sprintf("batch/%d/%d", b, i), Amount: -1}})
				}
			}
			if err := c.PostAll(ctx, ps); err != nil {
				t.Errorf("PostAll: %v", err)
			}
		})
		wg.Go(func() {
			for i := range each {
				e := store.Entry{Kind: "charge", Key: fmt.Sprintf("single/%d/%d", b, i), Amount: -2}
				if _, err := c.Post(ctx, fmt.Sprintf("acct/%d", i%accounts), "", e); err != nil {
					t.Errorf("Post: %v", err)
				}
			}
		})
	}
	wg.Wait()
	for a := range accounts {
		acct := fmt.Sprintf("acct/%d", a)
		es := checkLedger(t, c, acct)
		want := batches*each + batches*each/accounts
		if len(es) != want {
			t.Errorf("%s: %d entries, want %d", acct, len(es), want)
		}
		if bal := account(t, c, acct).Balance; bal != -int64(batches*each+2*batches*each/accounts) {
			t.Errorf("%s: balance %d", acct, bal)
		}
	}
}
