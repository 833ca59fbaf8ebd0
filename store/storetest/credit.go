package storetest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// CreditRestart is how RunCredit restarts a Credit backend.
type CreditRestart struct {
	// Reopen closes the backend behind c, as the end of the process would,
	// and opens it again on the same data. Every method of c must fail
	// afterwards (with an error, not a panic).
	Reopen func(t *testing.T, c store.Credit) store.Credit
	// HoldsSurvive is true for a backend whose holds live outside the
	// process (Redis, shared by nodes): they outlive a restart of one
	// node. An embedded backend's holds die with its process.
	HoldsSurvive bool
}

// RunCredit runs the conformance suite of store.Credit as subtests of t.
//
// open must return a Credit on empty storage of its own for the test it is
// given, and register its cleanup with t. restart.Reopen is required: the
// persistence subtests use it.
//
// Besides store.Credit's contract, the suite holds backends to these
// choices: an empty account, hold name or Posted key is store.ErrEmptyKey;
// a ttl ≤ 0 is store.ErrBadAmount like a negative amount; a done context
// fails every method with its error and changes nothing.
func RunCredit(t *testing.T, open func(t *testing.T) store.Credit, restart CreditRestart) {
	tests := []struct {
		name string
		fn   func(t *testing.T, open func(t *testing.T) store.Credit, restart CreditRestart)
	}{
		{"Empty", testCreditEmpty},
		{"BadAmount", testCreditBadAmount},
		{"EmptyNames", testCreditEmptyNames},
		{"Canceled", testCreditCanceled},
		{"AccountNames", testCreditAccountNames},
		{"ReserveFloor", testReserveFloor},
		{"ReserveZero", testReserveZero},
		{"HoldsAddUp", testHoldsAddUp},
		{"Release", testRelease},
		{"HoldExpiry", testHoldExpiry},
		{"PostRunningBalance", testPostRunningBalance},
		{"PostIdempotent", testPostIdempotent},
		{"PostZeroFirst", testPostZeroFirst},
		{"Bounds", testCreditBounds},
		{"Exact", testCreditExact},
		{"BinaryText", testCreditBinaryText},
		{"PostDropsHold", testPostDropsHold},
		{"EntriesPaging", testEntriesPaging},
		{"ConcurrentReserve", testConcurrentReserve},
		{"ConcurrentPost", testConcurrentPost},
		{"ConcurrentSameKey", testConcurrentSameKey},
		{"PostHoldAtomic", testPostHoldAtomic},
		{"PostAll", testPostAll},
		{"ConcurrentPostAll", testConcurrentPostAll},
		{"Persistence", testCreditPersistence},
		{"AfterClose", testCreditAfterClose},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, open, restart) })
	}
}

// long is the ttl of holds in subtests that are not about expiry.
const long = time.Hour

func testCreditEmpty(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	if a := account(t, c, "nobody"); a != (store.Account{}) {
		t.Errorf("Account of a new account = %+v, want zero", a)
	}
	if es, err := c.Entries(ctx, "nobody", 0, 0); err != nil || len(es) != 0 {
		t.Errorf("Entries of a new account = %v, %v; want none", es, err)
	}
	if total, ok, err := c.Posted(ctx, "nobody", "k"); total != 0 || ok || err != nil {
		t.Errorf("Posted on a new account = %d, %v, %v; want 0, false, nil", total, ok, err)
	}
	if err := c.Release(ctx, "nobody", "h"); err != nil {
		t.Errorf("Release on a new account: %v", err)
	}
}

func testCreditBadAmount(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	if _, err := c.Reserve(ctx, "a", "h", -1, -1000, long); !errors.Is(err, store.ErrBadAmount) {
		t.Errorf("Reserve(-1): err = %v, want ErrBadAmount", err)
	}
	for _, ttl := range []time.Duration{0, -time.Second} {
		if _, err := c.Reserve(ctx, "a", "h", 1, -1000, ttl); !errors.Is(err, store.ErrBadAmount) {
			t.Errorf("Reserve with ttl %v: err = %v, want ErrBadAmount", ttl, err)
		}
	}
	for _, e := range []store.Entry{
		{Kind: "", Key: "k", Amount: 5},
		{Kind: "payment", Key: "", Amount: 5},
	} {
		if _, err := c.Post(ctx, "a", "", e); !errors.Is(err, store.ErrBadAmount) {
			t.Errorf("Post(%+v): err = %v, want ErrBadAmount", e, err)
		}
	}
	if a := account(t, c, "a"); a != (store.Account{}) {
		t.Errorf("after refused calls Account = %+v, want zero", a)
	}
}

func testCreditEmptyNames(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	e := store.Entry{Kind: "payment", Key: "k", Amount: 5}
	errs := map[string]error{}
	_, errs["Account(\"\")"] = c.Account(ctx, "")
	_, errs["Reserve(\"\", h)"] = c.Reserve(ctx, "", "h", 0, 0, long)
	_, errs["Reserve(a, \"\")"] = c.Reserve(ctx, "a", "", 0, 0, long)
	errs["Release(\"\", h)"] = c.Release(ctx, "", "h")
	errs["Release(a, \"\")"] = c.Release(ctx, "a", "")
	_, errs["Post(\"\")"] = c.Post(ctx, "", "", e)
	_, _, errs["Posted(\"\", k)"] = c.Posted(ctx, "", "k")
	_, _, errs["Posted(a, \"\")"] = c.Posted(ctx, "a", "")
	_, errs["Entries(\"\")"] = c.Entries(ctx, "", 0, 0)
	for call, err := range errs {
		if !errors.Is(err, store.ErrEmptyKey) {
			t.Errorf("%s: err = %v, want ErrEmptyKey", call, err)
		}
	}
	if a := account(t, c, "a"); a != (store.Account{}) {
		t.Errorf("after refused calls Account = %+v, want zero", a)
	}
}

func testCreditCanceled(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	post(t, c, "a", "", "payment", "p1", 100)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := c.Reserve(ctx, "a", "h", 10, 0, long); !errors.Is(err, context.Canceled) {
		t.Errorf("Reserve: err = %v, want context.Canceled", err)
	}
	if _, err := c.Post(ctx, "a", "", store.Entry{Kind: "payment", Key: "p2", Amount: 5}); !errors.Is(err, context.Canceled) {
		t.Errorf("Post: err = %v, want context.Canceled", err)
	}
	if _, err := c.Account(ctx, "a"); !errors.Is(err, context.Canceled) {
		t.Errorf("Account: err = %v, want context.Canceled", err)
	}
	if a := account(t, c, "a"); a != (store.Account{Balance: 100, Entries: 1}) {
		t.Errorf("after canceled calls Account = %+v, want balance 100, 1 entry", a)
	}
}

// testCreditAccountNames checks that accounts are apart, whatever their
// names hold (Trunkline's spend accounts have slashes).
func testCreditAccountNames(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	names := []string{"c1", "spend/c1/2026-01-01", "C1", "c1 ", "é/ü·€", "a\x00b", "credit.entries", strings.Repeat("x", 300)}
	for i, n := range names {
		post(t, c, n, "", "payment", "p", int64(i+1))
		post(t, c, n, "", "payment", "p-"+n, 1000)
		if !reserve(t, c, n, "h", int64(i+1), 0) {
			t.Errorf("Reserve on %q failed", n)
		}
	}
	for i, n := range names {
		want := store.Account{Balance: int64(i+1) + 1000, Reserved: int64(i + 1), Entries: 2}
		if a := account(t, c, n); a != want {
			t.Errorf("Account(%q) = %+v, want %+v", n, a, want)
		}
		if total, ok, err := c.Posted(t.Context(), n, "p"); total != int64(i+1) || !ok || err != nil {
			t.Errorf("Posted(%q, p) = %d, %v, %v; want %d, true", n, total, ok, err, i+1)
		}
		checkLedger(t, c, n)
	}
}

func post(t *testing.T, c store.Credit, acct, hold, kind, key string, amount int64) store.Entry {
	t.Helper()
	e, err := c.Post(t.Context(), acct, hold, store.Entry{Kind: kind, Key: key, Amount: amount})
	if err != nil {
		t.Fatalf("Post(%s, %s, %d): %v", acct, key, amount, err)
	}
	return e
}

func reserve(t *testing.T, c store.Credit, acct, hold string, amount, floor int64) bool {
	t.Helper()
	ok, err := c.Reserve(t.Context(), acct, hold, amount, floor, long)
	if err != nil {
		t.Fatalf("Reserve(%s, %s, %d, %d): %v", acct, hold, amount, floor, err)
	}
	return ok
}

func account(t *testing.T, c store.Credit, acct string) store.Account {
	t.Helper()
	a, err := c.Account(t.Context(), acct)
	if err != nil {
		t.Fatalf("Account(%s): %v", acct, err)
	}
	return a
}

// checkLedger checks the ledger's invariants: seqs 1..n without gaps, each
// entry's balance the previous one's plus its amount, the last balance and
// seq the account's, and Posted the sum of each key's amounts. It returns
// the entries.
func checkLedger(t *testing.T, c store.Credit, acct string) []store.Entry {
	t.Helper()
	ctx := t.Context()
	es, err := c.Entries(ctx, acct, 0, 0)
	if err != nil {
		t.Fatalf("Entries(%s): %v", acct, err)
	}
	var bal int64
	keys := map[string]int64{}
	for i, e := range es {
		if e.Seq != uint64(i+1) {
			t.Fatalf("%s: entry %d has seq %d", acct, i+1, e.Seq)
		}
		if bal += e.Amount; e.Balance != bal {
			t.Errorf("%s: entry %d has balance %d, want %d", acct, e.Seq, e.Balance, bal)
		}
		if e.Amount == 0 || e.Kind == "" || e.Key == "" {
			t.Errorf("%s: entry %+v has no amount, kind or key", acct, e)
		}
		keys[e.Key] += e.Amount
	}
	a := account(t, c, acct)
	if a.Balance != bal || a.Entries != uint64(len(es)) {
		t.Errorf("%s: Account = %+v, but %d entries sum to %d", acct, a, len(es), bal)
	}
	for k, sum := range keys {
		if total, ok, err := c.Posted(ctx, acct, k); total != sum || !ok || err != nil {
			t.Errorf("%s: Posted(%s) = %d, %v, %v; entries sum to %d", acct, k, total, ok, err, sum)
		}
	}
	return es
}
