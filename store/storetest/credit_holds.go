package storetest

import (
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

func testReserveFloor(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	type step struct {
		hold   string
		amount int64
		want   bool
	}
	tests := []struct {
		name         string
		balance      int64
		floor        int64
		steps        []step
		wantReserved int64
	}{
		{"prepaid", 100, 0, []step{{"a", 60, true}, {"b", 50, false}, {"b", 40, true}, {"c", 1, false}}, 100},
		{"prepaid empty", 0, 0, []step{{"a", 1, false}, {"a", 0, true}}, 0},
		{"failed extension keeps the hold", 100, 0, []step{{"a", 70, true}, {"a", 31, false}, {"a", 30, true}}, 100},
		{"floor above zero", 100, 30, []step{{"a", 71, false}, {"a", 70, true}, {"b", 1, false}}, 70},
		{"postpaid limit", 0, -100, []step{{"a", 100, true}, {"b", 1, false}}, 100},
		{"postpaid in debt", -50, -100, []step{{"a", 51, false}, {"a", 50, true}, {"a", 1, false}}, 50},
		{"postpaid over its limit", -150, -100, []step{{"a", 1, false}}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := open(t)
			if tt.balance != 0 {
				post(t, c, "acct", "", "adjustment", "start", tt.balance)
			}
			for i, s := range tt.steps {
				if got := reserve(t, c, "acct", s.hold, s.amount, tt.floor); got != s.want {
					t.Errorf("step %d: Reserve(%s, %d) = %v, want %v", i, s.hold, s.amount, got, s.want)
				}
			}
			want := store.Account{Balance: tt.balance, Reserved: tt.wantReserved, Entries: 0}
			if tt.balance != 0 {
				want.Entries = 1
			}
			if a := account(t, c, "acct"); a != want {
				t.Errorf("Account = %+v, want %+v", a, want)
			}
		})
	}
}

func testReserveZero(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	if !reserve(t, c, "a", "h", 10, -10) {
		t.Fatal("Reserve(10) within a postpaid limit failed")
	}
	// The account is now at its floor and far below a floor of 1000:
	// reserving 0 still refreshes the hold.
	for _, floor := range []int64{-10, 0, 1000} {
		if !reserve(t, c, "a", "h", 0, floor) {
			t.Errorf("Reserve(0) with floor %d failed", floor)
		}
		if !reserve(t, c, "a", "other", 0, floor) {
			t.Errorf("Reserve(0) of a new hold with floor %d failed", floor)
		}
	}
	if a := account(t, c, "a"); a.Reserved != 10 {
		t.Errorf("Reserved = %d after reserving 0, want 10", a.Reserved)
	}
}

func testHoldsAddUp(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	post(t, c, "a", "", "payment", "p", 1000)
	post(t, c, "b", "", "payment", "p", 1000)
	for _, r := range []struct {
		acct, hold string
		amount     int64
	}{{"a", "h1", 10}, {"a", "h2", 20}, {"a", "h1", 5}, {"b", "h1", 7}} {
		if !reserve(t, c, r.acct, r.hold, r.amount, 0) {
			t.Fatalf("Reserve(%s, %s, %d) failed", r.acct, r.hold, r.amount)
		}
	}
	if got := account(t, c, "a").Reserved; got != 35 {
		t.Errorf("a: Reserved = %d, want 35", got)
	}
	if got := account(t, c, "b").Reserved; got != 7 {
		t.Errorf("b: Reserved = %d, want 7 (holds of the same name on another account are apart)", got)
	}
	// The hold h1 of a now holds 15: the last 965 can be reserved, not 966.
	if reserve(t, c, "a", "h3", 966, 0) {
		t.Error("Reserve beyond the balance less both holds succeeded")
	}
	if !reserve(t, c, "a", "h3", 965, 0) {
		t.Error("Reserve of exactly the balance less both holds failed")
	}
}

func testRelease(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	post(t, c, "a", "", "payment", "p", 100)
	reserve(t, c, "a", "h1", 30, 0)
	reserve(t, c, "a", "h2", 20, 0)
	reserve(t, c, "b", "h1", 0, 0)
	for i, r := range []struct {
		acct, hold   string
		wantReserved int64
	}{{"a", "h1", 20}, {"a", "h1", 20}, {"a", "never", 20}, {"b", "h2", 20}, {"a", "h2", 0}} {
		if err := c.Release(ctx, r.acct, r.hold); err != nil {
			t.Fatalf("Release(%s, %s): %v", r.acct, r.hold, err)
		}
		if got := account(t, c, "a").Reserved; got != r.wantReserved {
			t.Errorf("step %d: after Release(%s, %s) a has Reserved %d, want %d", i, r.acct, r.hold, got, r.wantReserved)
		}
	}
	if !reserve(t, c, "a", "h1", 100, 0) {
		t.Error("after releasing everything the whole balance cannot be reserved")
	}
	if a := account(t, c, "a"); a.Balance != 100 || a.Entries != 1 {
		t.Errorf("Release changed the ledger: %+v", a)
	}
}

// testHoldExpiry checks that a hold ends ttl after its last Reserve, and
// that Reserve(0) moves that end. Sleeps are checked: a subtest that
// overslept (a loaded machine) skips the assertion it can no longer make.
func testHoldExpiry(t *testing.T, open func(t *testing.T) store.Credit, _ CreditRestart) {
	c := open(t)
	ctx := t.Context()
	const ttl = 400 * time.Millisecond
	post(t, c, "a", "", "payment", "p", 100)
	// mustReserve returns the times before and after the call: the hold
	// ends between them plus ttl.
	mustReserve := func(hold string, amount int64) (time.Time, time.Time) {
		t.Helper()
		before := time.Now()
		if ok, err := c.Reserve(ctx, "a", hold, amount, 0, ttl); !ok || err != nil {
			t.Fatalf("Reserve(%s, %d) = %v, %v", hold, amount, ok, err)
		}
		return before, time.Now()
	}
	mustReserve("refreshed", 10)
	_, left := mustReserve("left", 20)
	time.Sleep(ttl * 6 / 10)
	refreshed, _ := mustReserve("refreshed", 0)
	time.Sleep(ttl * 6 / 10)
	before := time.Now()
	got := account(t, c, "a").Reserved
	after := time.Now()
	switch {
	case after.Sub(refreshed) >= ttl:
		t.Log("overslept; not checking the refreshed hold")
	case before.Sub(left) < ttl:
		t.Log("slept short; not checking")
	case got != 10:
		t.Errorf("Reserved = %d, %v after the unrefreshed hold and %v after the refresh; want 10 (the refreshed hold only)",
			got, before.Sub(left).Round(time.Millisecond), after.Sub(refreshed).Round(time.Millisecond))
	}
	deadline := time.Now().Add(10 * ttl)
	for account(t, c, "a").Reserved != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("holds still open %v after their ttl of %v", 10*ttl, ttl)
		}
		time.Sleep(ttl / 10)
	}
	if !reserve(t, c, "a", "new", 100, 0) {
		t.Error("after every hold expired the whole balance cannot be reserved")
	}
}
