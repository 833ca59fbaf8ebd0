package store

import (
	"fmt"
	"testing"
	"time"
)

// TestCreditFirstReadRace commits a Post between an account's first read
// and the use of what it read: the cached balance must still include it.
func TestCreditFirstReadRace(t *testing.T) {
	e, err := OpenEmbedded(t.TempDir(), WithCreditCommitDelay(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := e.Credit()
	ctx := t.Context()
	if _, err := c.Post(ctx, "a", "", Entry{Kind: "payment", Key: "p1", Amount: 100}); err != nil {
		t.Fatal(err)
	}
	c.afterRead = func() {
		c.afterRead = nil
		if _, err := c.Post(ctx, "a", "", Entry{Kind: "payment", Key: "p2", Amount: 50}); err != nil {
			t.Error(err)
		}
	}
	a, err := c.Account(ctx, "a")
	if err != nil {
		t.Fatal(err)
	}
	if want := (Account{Balance: 150, Entries: 2}); a != want {
		t.Errorf("Account = %+v after a Post during its first read, want %+v", a, want)
	}
}

// TestCreditForget checks that a shard that grew forgets the accounts
// without holds, keeps those with holds, and reads the forgotten ones again.
func TestCreditForget(t *testing.T) {
	e, err := OpenEmbedded(t.TempDir(), WithCreditCommitDelay(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := e.Credit()
	ctx := t.Context()
	if _, err := c.Post(ctx, "paid", "", Entry{Kind: "payment", Key: "p", Amount: 100}); err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Reserve(ctx, "held", "h", 0, 0, time.Hour); !ok || err != nil {
		t.Fatalf("Reserve = %v, %v", ok, err)
	}
	if _, err := c.Account(ctx, "paid"); err != nil {
		t.Fatal(err)
	}
	for i := range 3 * creditForgetAt * creditShards {
		if _, err := c.Account(ctx, fmt.Sprint("idle/", i)); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for i := range c.shards {
		n += len(c.shards[i].accts)
	}
	if n >= 3*creditForgetAt*creditShards {
		t.Errorf("%d accounts in memory: none was forgotten", n)
	}
	if s := c.shard("held"); s.accts["held"] == nil {
		t.Error("an account with a hold was forgotten")
	}
	if a, err := c.Account(ctx, "paid"); err != nil || a.Balance != 100 {
		t.Errorf("Account(paid) = %+v, %v after forgetting; want balance 100", a, err)
	}
}
