package storetest

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

func testPostRunningBalance(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	in := []store.Entry{
		{Kind: "payment", Key: "payment/1", Amount: 1_000_000},
		{Kind: "charge", Key: "call/a", Amount: -300_000},
		{Kind: "charge", Key: "call/b", Amount: -200_001},
		{Kind: "adjustment", Key: "adjustment/1", Amount: 5, Reason: "goodwill"},
		{Kind: "charge", Key: "call/c", Amount: -600_000},
	}
	var bal int64
	for i, e := range in {
		before := time.Now().UnixMilli()
		e.Seq, e.At, e.Balance = 99, 1, 42 // set by the store
		got, err := c.Post(t.Context(), "acct", "", e)
		if err != nil {
			t.Fatalf("Post(%+v): %v", e, err)
		}
		after := time.Now().UnixMilli()
		bal += e.Amount
		if got.At < before || got.At > after {
			t.Errorf("entry %d: At = %d, want within [%d, %d]", i+1, got.At, before, after)
		}
		want := store.Entry{Seq: uint64(i + 1), At: got.At, Kind: e.Kind, Key: e.Key, Amount: e.Amount, Balance: bal, Reason: e.Reason}
		if got != want {
			t.Errorf("Post returned %+v, want %+v", got, want)
		}
	}
	es := checkLedger(t, c, "acct")
	if len(es) != len(in) || es[4].Balance != -99_996 {
		t.Errorf("ledger = %+v, want %d entries ending at -99996", es, len(in))
	}
}

func testPostIdempotent(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	steps := []struct {
		kind       string
		total      int64
		wantAmount int64 // 0: no entry
	}{
		{"charge", -300, -300},
		{"charge", -300, 0}, // a repeated Post
		{"rerate", -450, -150},
		{"rerate", -450, 0},
		{"rerate", 0, 450}, // back to nothing
		{"rerate", 0, 0},
		{"rerate", 20, 20},
	}
	var n uint64
	for i, s := range steps {
		got := post(t, c, "acct", "", s.kind, "call/1", s.total)
		if s.wantAmount == 0 {
			if got.Seq != 0 {
				t.Errorf("step %d: Post of the posted total appended %+v", i, got)
			}
		} else if n++; got.Seq != n || got.Amount != s.wantAmount || got.Kind != s.kind {
			t.Errorf("step %d: Post(%d) = %+v, want seq %d amount %d kind %s", i, s.total, got, n, s.wantAmount, s.kind)
		}
		if total, ok, err := c.Posted(ctx, "acct", "call/1"); total != s.total || !ok || err != nil {
			t.Errorf("step %d: Posted = %d, %v, %v; want %d, true", i, total, ok, err, s.total)
		}
	}
	post(t, c, "acct", "", "charge", "call/2", -7)
	if es := checkLedger(t, c, "acct"); len(es) != 5 || es[4].Balance != 13 {
		t.Errorf("ledger = %+v, want 5 entries ending at 13", es)
	}
	if total, ok, err := c.Posted(ctx, "acct", "call/3"); total != 0 || ok || err != nil {
		t.Errorf("Posted of an unknown key = %d, %v, %v", total, ok, err)
	}
	if total, ok, err := c.Posted(ctx, "other", "call/1"); total != 0 || ok || err != nil {
		t.Errorf("Posted of a key on another account = %d, %v, %v", total, ok, err)
	}
}

func testPostDropsHold(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	post(t, c, "acct", "", "payment", "p", 1000)
	reserve(t, c, "acct", "call/1", 100, 0)
	reserve(t, c, "acct", "call/2", 50, 0)
	reserve(t, c, "acct", "call/3", 30, 0)
	reserve(t, c, "other", "call/3", 0, -100)
	steps := []struct {
		hold, key string
		total     int64
		want      store.Account
	}{
		{"call/1", "call/1", -80, store.Account{Balance: 920, Reserved: 80, Entries: 2}},
		{"call/2", "call/1", -80, store.Account{Balance: 920, Reserved: 30, Entries: 2}}, // no entry, still drops
		{"", "call/3", -20, store.Account{Balance: 900, Reserved: 30, Entries: 3}},       // no hold named, all kept
	}
	for i, s := range steps {
		post(t, c, "acct", s.hold, "charge", s.key, s.total)
		if a := account(t, c, "acct"); a != s.want {
			t.Errorf("step %d: after Post(hold %q, %s, %d) Account = %+v, want %+v", i, s.hold, s.key, s.total, a, s.want)
		}
	}
	post(t, c, "other", "call/3", "charge", "x", -1) // a hold of the same name on another account
	if got := account(t, c, "acct").Reserved; got != 30 {
		t.Errorf("a Post on another account dropped a hold: Reserved = %d, want 30", got)
	}
	if !reserve(t, c, "acct", "call/4", 870, 0) || reserve(t, c, "acct", "call/5", 1, 0) {
		t.Error("after the Posts, what can be reserved is not the balance less the open hold")
	}
}

func testEntriesPaging(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	for i := range 10 {
		post(t, c, "acct", "", "charge", fmt.Sprintf("call/%d", i), -int64(i+1))
	}
	all := checkLedger(t, c, "acct")
	for _, p := range []struct {
		after    uint64
		limit    int
		from, to int // seqs wanted: from..to
	}{
		{0, 3, 1, 3}, {3, 3, 4, 6}, {9, 5, 10, 10}, {10, 5, 0, -1}, {0, 0, 1, 10},
		{0, -1, 1, 10}, {4, 0, 5, 10}, {7, 100, 8, 10}, {math.MaxUint64, 0, 0, -1},
	} {
		got, err := c.Entries(t.Context(), "acct", p.after, p.limit)
		if err != nil {
			t.Fatalf("Entries(%d, %d): %v", p.after, p.limit, err)
		}
		var want []store.Entry
		if p.to >= p.from {
			want = all[p.from-1 : p.to]
		}
		if len(got) != len(want) || (len(want) > 0 && !reflect.DeepEqual(got, want)) {
			t.Errorf("Entries(%d, %d) = %d entries %+v, want seqs %d..%d", p.after, p.limit, len(got), got, p.from, p.to)
		}
	}
}

func testCreditPersistence(t *testing.T, open func(t *testing.T) store.Credit, restart CreditRestart) {
	c := open(t)
	post(t, c, "a", "", "payment", "p1", 1000)
	post(t, c, "a", "", "charge", "call/1", -300)
	post(t, c, "a", "", "rerate", "call/1", 0)
	post(t, c, "spend/a/2026-01-01", "", "charge", "call/1", -300)
	reserve(t, c, "a", "call/2", 200, 0)
	before := checkLedger(t, c, "a")
	wantA := account(t, c, "a")

	c = restart.Reopen(t, c)
	if !restart.HoldsSurvive {
		wantA.Reserved = 0
	}
	if a := account(t, c, "a"); a != wantA {
		t.Errorf("after reopen Account = %+v, want %+v", a, wantA)
	}
	if after := checkLedger(t, c, "a"); !reflect.DeepEqual(after, before) {
		t.Errorf("after reopen entries = %+v, want %+v", after, before)
	}
	checkLedger(t, c, "spend/a/2026-01-01")
	if total, ok, err := c.Posted(t.Context(), "a", "call/1"); total != 0 || !ok || err != nil {
		t.Errorf("after reopen Posted(call/1) = %d, %v, %v; want 0, true", total, ok, err)
	}
	if e := post(t, c, "a", "", "payment", "p1", 1000); e.Seq != 0 {
		t.Errorf("after reopen a repeated Post appended %+v", e)
	}
	if e := post(t, c, "a", "call/2", "charge", "call/2", -50); e.Seq != 4 || e.Balance != 950 {
		t.Errorf("after reopen Post appended %+v, want seq 4 balance 950", e)
	}
	if a := account(t, c, "a"); a != (store.Account{Balance: 950, Entries: 4}) {
		t.Errorf("after reopen and Post Account = %+v", a)
	}
}

// testCreditAfterClose checks that a closed backend's Credit fails every
// call with an error.
func testCreditAfterClose(t *testing.T, open func(t *testing.T) store.Credit, restart CreditRestart) {
	old := open(t)
	post(t, old, "a", "", "payment", "p1", 1000)
	reserve(t, old, "a", "h", 10, 0)
	c := restart.Reopen(t, old)
	ctx := t.Context()
	e := store.Entry{Kind: "payment", Key: "p2", Amount: 5}
	errs := map[string]error{}
	_, errs["Account"] = old.Account(ctx, "a")
	_, errs["Account of an account never used"] = old.Account(ctx, "b")
	_, errs["Reserve"] = old.Reserve(ctx, "a", "h", 1, 0, long)
	errs["Release"] = old.Release(ctx, "a", "h")
	_, errs["Post"] = old.Post(ctx, "a", "", e)
	_, _, errs["Posted"] = old.Posted(ctx, "a", "p1")
	_, errs["Entries"] = old.Entries(ctx, "a", 0, 0)
	errs["PostAll"] = old.PostAll(ctx, []store.Posting{{Acct: "a", Entry: e}})
	for call, err := range errs {
		if err == nil {
			t.Errorf("%s on a closed backend succeeded", call)
		}
	}
	if a := account(t, c, "a"); a.Balance != 1000 || a.Entries != 1 {
		t.Errorf("calls on the closed backend changed the reopened one: %+v", a)
	}
}

// A first Post of 0 under a key appends nothing but is remembered: a later
// total under the key posts the difference from 0 (a free call re-rated).
func testPostZeroFirst(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	if e, err := c.Post(ctx, "a", "", store.Entry{Kind: "charge", Key: "call/1", Amount: 0}); err != nil || e.Seq != 0 {
		t.Fatalf("Post 0 = %+v, %v; want no entry", e, err)
	}
	if total, ok, err := c.Posted(ctx, "a", "call/1"); total != 0 || !ok || err != nil {
		t.Fatalf("Posted after a Post of 0 = %d, %v, %v; want 0, true", total, ok, err)
	}
	if e, err := c.Post(ctx, "a", "", store.Entry{Kind: "rerate", Key: "call/1", Amount: -33}); err != nil || e.Amount != -33 || e.Seq != 1 {
		t.Fatalf("Post -33 = %+v, %v", e, err)
	}
}

// Amounts, balances and reservations stay within ±MaxAmount: what would
// pass it is ErrBadAmount and changes nothing, so no sum overflows.
func testCreditBounds(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	if _, err := c.Post(ctx, "a", "", store.Entry{Kind: "payment", Key: "big", Amount: store.MaxAmount + 1}); !errors.Is(err, store.ErrBadAmount) {
		t.Errorf("Post beyond MaxAmount: %v, want ErrBadAmount", err)
	}
	for i := range 2 {
		_, err := c.Post(ctx, "a", "", store.Entry{Kind: "adjustment", Key: fmt.Sprint("adj", i), Amount: -store.MaxAmount})
		if i == 1 && !errors.Is(err, store.ErrBadAmount) {
			t.Errorf("a balance beyond -MaxAmount: %v, want ErrBadAmount", err)
		} else if i == 0 && err != nil {
			t.Fatal(err)
		}
	}
	if a, err := c.Account(ctx, "a"); err != nil || a.Balance != -store.MaxAmount || a.Entries != 1 {
		t.Errorf("after the refused Post: %+v, %v", a, err)
	}
	if _, err := c.Reserve(ctx, "b", "h", store.MaxAmount+1, -store.MaxAmount, time.Minute); !errors.Is(err, store.ErrBadAmount) {
		t.Errorf("Reserve beyond MaxAmount: %v, want ErrBadAmount", err)
	}
	if _, err := c.Post(ctx, "b", "", store.Entry{Kind: "payment", Key: "p", Amount: store.MaxAmount}); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Reserve(ctx, "b", "h", store.MaxAmount, 0, time.Minute); !ok || err != nil {
		t.Fatalf("Reserve of the whole balance = %v, %v", ok, err)
	}
	if ok, err := c.Reserve(ctx, "b", "h2", 1, -store.MaxAmount, time.Minute); ok || err != nil {
		t.Errorf("Reserve past MaxAmount reserved = %v, %v; want false", ok, err)
	}
}

// testCreditExact: amounts past 2^53, where a float64 stops counting by
// ones, add exactly (a backend that keeps money in doubles, as Lua does,
// fails here).
func testCreditExact(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	const big = 1<<53 + 1
	post(t, c, "a", "", "payment", "p1", big)
	e := post(t, c, "a", "", "payment", "p2", 1)
	if e.Balance != big+1 {
		t.Errorf("balance after %d + 1 = %d", int64(big), e.Balance)
	}
	if !reserve(t, c, "a", "h", big, 0) || !reserve(t, c, "a", "h2", 1, 0) || reserve(t, c, "a", "h3", 1, 0) {
		t.Error("holds past 2^53 do not add up to the balance by ones")
	}
	if a := account(t, c, "a"); a.Balance != big+1 || a.Reserved != big+1 {
		t.Errorf("Account = %+v, want balance and reserved %d", a, int64(big+1))
	}
	checkLedger(t, c, "a")
}

// testCreditBinaryText: an entry's kind, key and reason come back byte for
// byte, whatever they hold (a key holds a peer's Call-ID), and paging
// with the largest limit returns everything.
func testCreditBinaryText(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	in := store.Entry{Kind: "charge\x80", Key: "call-\xff\xfe\x00id", Amount: -5, Reason: "r\xff\"\\"}
	e, err := c.Post(ctx, "a", "", in)
	if err != nil {
		t.Fatal(err)
	}
	es, err := c.Entries(ctx, "a", 0, math.MaxInt)
	if err != nil || len(es) != 1 {
		t.Fatalf("Entries(0, MaxInt) = %v, %v", es, err)
	}
	for _, got := range []store.Entry{e, es[0]} {
		if got.Kind != in.Kind || got.Key != in.Key || got.Reason != in.Reason {
			t.Errorf("entry text changed: %q %q %q, want %q %q %q", got.Kind, got.Key, got.Reason, in.Kind, in.Key, in.Reason)
		}
	}
	if total, ok, err := c.Posted(ctx, "a", es[0].Key); total != -5 || !ok || err != nil {
		t.Errorf("Posted(the entry's key) = %d, %v, %v", total, ok, err)
	}
}
