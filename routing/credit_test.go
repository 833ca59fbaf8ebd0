package routing

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

func testCredit(t testing.TB) store.Credit {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st.Credit()
}

func fund(t testing.TB, cr store.Credit, acct string, amount rating.Money) {
	t.Helper()
	if _, err := cr.Post(context.Background(), acct, "", store.Entry{Kind: KindPayment, Key: PaymentKey("p-" + acct), Amount: int64(amount)}); err != nil {
		t.Fatal(err)
	}
}

func rejectCode(err error) int {
	var r *Reject
	if errors.As(err, &r) {
		return r.Code
	}
	return 0
}

func TestWalletPrepaid(t *testing.T) {
	ctx := context.Background()
	cr := testCredit(t)
	w := NewWallet(cr)
	p := &Plan{Customer: store.Customer{ID: "c1", CreditLimit: "0"}, Sell: testLeg(t, "USD", "0.06", "", 1, 1, 0)}

	if _, err := w.Open(ctx, p, "call0"); rejectCode(err) != 402 {
		t.Fatalf("Open without balance: %v, want 402", err)
	}
	fund(t, cr, "c1", 30_000) // 30 s
	g, err := w.Open(ctx, p, "call1")
	if err != nil {
		t.Fatal(err)
	}
	if g.Paid != 1 || g.Max != 30 {
		t.Fatalf("opened: paid %d max %d, want 1 and 30", g.Paid, g.Max)
	}
	var got []int
	for {
		added, err := w.Extend(ctx, g)
		if err != nil {
			t.Fatal(err)
		}
		if added == 0 {
			break
		}
		got = append(got, added)
	}
	if g.Paid != 30 || len(got) != 3 || got[0] != 10 || got[2] != 9 {
		t.Fatalf("extensions %v, paid %d; want 10, 10, 9 and 30", got, g.Paid)
	}
	if a, _ := cr.Account(ctx, "c1"); a.Reserved != 30_000 {
		t.Fatalf("reserved %d, want all 30_000", a.Reserved)
	}
	// A second call finds nothing left.
	if _, err := w.Open(ctx, p, "call2"); rejectCode(err) != 402 {
		t.Fatalf("second Open: %v, want 402", err)
	}
	// The call is charged for 30 s: everything, once, however often.
	setup := time.Now()
	for range 3 {
		if err := w.Charge(ctx, "c1", "call1", g, KindCharge, p.Sell.Charge(30).Cost, setup); err != nil {
			t.Fatal(err)
		}
	}
	a, _ := cr.Account(ctx, "c1")
	if a.Balance != 0 || a.Reserved != 0 || a.Entries != 2 {
		t.Fatalf("after the charge: %+v", a)
	}
	// Re-rated lower, the difference comes back.
	if err := w.Charge(ctx, "c1", "call1", nil, KindRerate, 25_000, setup); err != nil {
		t.Fatal(err)
	}
	if a, _ := cr.Account(ctx, "c1"); a.Balance != 5_000 || a.Entries != 3 {
		t.Fatalf("after re-rating: %+v", a)
	}
}

func TestWalletPostpaidAndCaps(t *testing.T) {
	ctx := context.Background()
	cr := testCredit(t)
	w := NewWallet(cr, WithCreditBlock(60))
	sell := testLeg(t, "USD", "6", "", 1, 1, 0) // 0.10 a second
	p := &Plan{Customer: store.Customer{ID: "c2", CreditLimit: "5"}, Sell: sell}
	g, err := w.Open(ctx, p, "a")
	if err != nil {
		t.Fatal(err)
	}
	if g.Max != 50 {
		t.Fatalf("max %d s, want 50 (5.00 of credit at 0.10/s)", g.Max)
	}
	if added, _ := w.Extend(ctx, g); added != 49 || g.Paid != 50 {
		t.Fatalf("extended by %d to %d, want 49 to 50", added, g.Paid)
	}

	// Maximum cost per call: 1.00 is 10 s (Route refuses a first block
	// above it).
	capped := &Plan{Customer: store.Customer{ID: "c3", MaxCallCost: "1.00"}, Sell: sell}
	g, err = w.Open(ctx, capped, "b")
	if err != nil {
		t.Fatal(err)
	}
	if w.Extend(ctx, g); g.Paid != 10 || !g.AtCap() {
		t.Fatalf("capped call paid %d (at cap %v), want 10", g.Paid, g.AtCap())
	}

	// A daily limit is spent by charges and reserved by live calls.
	daily := &Plan{Customer: store.Customer{ID: "c4", DailySpendLimit: "2.00"}, Sell: sell}
	g, err = w.Open(ctx, daily, "d")
	if err != nil {
		t.Fatal(err)
	}
	w.Extend(ctx, g)
	if err := w.Charge(ctx, "c4", "d", g, KindCharge, sell.Charge(20).Cost, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Open(ctx, daily, "e"); rejectCode(err) != 403 {
		t.Fatalf("after spending the day's 2.00: %v, want 403", err)
	}
	a, _ := cr.Account(ctx, SpendAccount(daily.Customer, time.Now()))
	if a.Balance != -2_000_000 || a.Reserved != 0 {
		t.Fatalf("spend account %+v", a)
	}
	if a, _ := cr.Account(ctx, "c4"); a.Balance != -2_000_000 {
		t.Fatalf("balance account %+v", a)
	}
}

// Concurrent calls share a balance: the sum of what they hold never passes
// it, and all but less than one block of it gets held.
func TestWalletConcurrentCallsShare(t *testing.T) {
	ctx := context.Background()
	cr := testCredit(t)
	w := NewWallet(cr)
	p := &Plan{Customer: store.Customer{ID: "c5", CreditLimit: "0"}, Sell: testLeg(t, "USD", "0.06", "", 1, 1, 0)}
	fund(t, cr, "c5", 600_000) // 600 s
	grants := make([]*Grant, 50)
	for i := range grants {
		g, err := w.Open(ctx, p, "call"+string(rune('A'+i)))
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		grants[i] = g
	}
	var wg sync.WaitGroup
	for _, g := range grants {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				added, err := w.Extend(ctx, g)
				if err != nil {
					t.Error(err)
				}
				if added == 0 {
					return
				}
			}
		}()
	}
	wg.Wait()
	paid := 0
	for _, g := range grants {
		paid += g.Paid
	}
	if paid != 600 {
		t.Fatalf("the calls hold %d s of 600", paid)
	}
	if a, _ := cr.Account(ctx, "c5"); a.Reserved != 600_000 {
		t.Fatalf("reserved %d", a.Reserved)
	}
}

// BenchmarkWalletCall is the money path of one prepaid call: open (first
// block), three extensions, the charge.
func BenchmarkWalletCall(b *testing.B) {
	ctx := context.Background()
	cr := testCredit(b)
	w := NewWallet(cr)
	p := &Plan{Customer: store.Customer{ID: "bench", CreditLimit: "0"}, Sell: testLeg(b, "USD", "0.06", "", 1, 1, 0)}
	fund(b, cr, "bench", 1<<50)
	ids := make([]string, 1024)
	for i := range ids {
		ids[i] = "call" + string(rune('a'+i%26)) + string(rune('a'+i/26%26)) + string(rune('a'+i/676))
	}
	b.ReportAllocs()
	b.SetParallelism(64) // calls end concurrently: their charges share commits
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			id := ids[i%len(ids)] + time.Now().String()
			i++
			g, err := w.Open(ctx, p, id)
			if err != nil {
				b.Fatal(err)
			}
			for range 3 {
				if _, err := w.Extend(ctx, g); err != nil {
					b.Fatal(err)
				}
			}
			if err := w.Charge(ctx, "bench", id, g, KindCharge, p.Sell.Charge(g.Paid).Cost, time.Now()); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A call's holds live while it refreshes them, and expire when its node
// stops refreshing (here: nobody does).
func TestWalletRefreshKeepsHolds(t *testing.T) {
	ctx := context.Background()
	cr := testCredit(t)
	w := NewWallet(cr, WithHoldTTL(300*time.Millisecond))
	p := &Plan{Customer: store.Customer{ID: "c6", CreditLimit: "0"}, Sell: testLeg(t, "USD", "0.06", "", 1, 1, 0)}
	fund(t, cr, "c6", 10_000)
	g, err := w.Open(ctx, p, "call")
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		time.Sleep(w.RefreshEvery())
		if err := w.Refresh(ctx, g); err != nil {
			t.Fatal(err)
		}
	}
	if a, _ := cr.Account(ctx, "c6"); a.Reserved != 1_000 {
		t.Fatalf("refreshed hold: reserved %d, want 1_000", a.Reserved)
	}
	time.Sleep(400 * time.Millisecond)
	if a, _ := cr.Account(ctx, "c6"); a.Reserved != 0 {
		t.Fatalf("a hold nobody refreshed for its TTL: reserved %d, want 0", a.Reserved)
	}
}
