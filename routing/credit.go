package routing

import (
	"context"
	"fmt"
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Credit control defaults.
const (
	// DefaultCreditBlock is how many seconds each extension of a call's
	// reservation asks for (rounded up to the rate's increments). Smaller
	// blocks share a balance more finely between concurrent calls; larger
	// ones cost fewer store operations.
	DefaultCreditBlock = 10
	// DefaultHoldTTL is how long a hold outlives the last extension of its
	// call: a node that dies frees its holds after it.
	DefaultHoldTTL = 10 * time.Minute
	// maxPaidSeconds bounds the paid time a search considers (a day).
	maxPaidSeconds = 86_400
)

// Wallet carries out credit control on the call path: it reserves a call's
// credit block by block (Open, Extend), and posts its charge or frees its
// reservation when it ends (Charge, Release). Its decisions are the pure
// functions of this file; its state is a store.Credit. It is safe for
// concurrent use; one Grant is used by one call at a time.
type Wallet struct {
	st    store.Credit
	block int
	ttl   time.Duration
	now   func() time.Time
	// customer looks a customer up for a charge without a grant (after a
	// restart, a re-rating), whose daily spend it counts.
	customer func(id string) (store.Customer, bool)
}

// WalletOption configures a Wallet.
type WalletOption func(*Wallet)

// WithCreditBlock sets the seconds each extension asks for.
func WithCreditBlock(seconds int) WalletOption {
	return func(w *Wallet) { w.block = max(seconds, 1) }
}

// WithHoldTTL sets how long a hold outlives its call's last extension.
func WithHoldTTL(d time.Duration) WalletOption { return func(w *Wallet) { w.ttl = d } }

// WithCustomers sets how the wallet looks customers up when it charges a
// call without its grant (the router's table).
func WithCustomers(fn func(id string) (store.Customer, bool)) WalletOption {
	return func(w *Wallet) { w.customer = fn }
}

// NewWallet returns a Wallet over st.
func NewWallet(st store.Credit, opts ...WalletOption) *Wallet {
	w := &Wallet{st: st, block: DefaultCreditBlock, ttl: DefaultHoldTTL, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	return w
}

// Grant is the credit a call holds: the answered seconds it has paid for
// (Paid), reserved on the customer's balance (when it has a credit limit)
// and on its day's spend (when it has a daily limit). A call with a grant
// must end when its paid time ends unless Extend adds more.
type Grant struct {
	hold  string
	sell  Leg
	steps steps
	holds []hold
	cap   rating.Money // most the call may cost; 0 = no cap
	Paid  int          // answered seconds paid for
	held  rating.Money // what Paid seconds cost: what each hold holds
	// Max is the longest the call could last with the credit available
	// when it was opened.
	Max int
}

// hold is one account a grant reserves on, never below floor.
type hold struct {
	acct  string
	floor int64
}

// AtCap reports whether the next second would cost more than the
// customer's maximum call cost.
func (g *Grant) AtCap() bool {
	return g.cap > 0 && g.sell.Charge(g.steps.atLeast(g.Paid+1)).Cost > g.cap
}

// Open reserves a call's first billing block (its initial increment and
// connection fee) for plan under the hold name callID and computes the
// longest duration the credit allows. It returns nil, nil when the customer
// has no credit limit, daily limit or maximum call cost: such a call is
// charged when it ends and never cut for money. Refusals are *Reject:
// 402 when the balance does not cover the first block, 403 when a spend
// limit does not.
func (w *Wallet) Open(ctx context.Context, p *Plan, callID string) (*Grant, error) {
	c := p.Customer
	if c.CreditLimit == "" && c.DailySpendLimit == "" && c.MaxCallCost == "" {
		return nil, nil
	}
	g := &Grant{hold: callID, sell: p.Sell, steps: stepsOf(p.Sell)}
	if c.CreditLimit != "" {
		limit, err := rating.ParseMoney(c.CreditLimit)
		if err != nil {
			return nil, reject(500, "Bad Credit Limit", fmt.Errorf("customer %s: %w", c.ID, err))
		}
		g.holds = append(g.holds, hold{acct: BalanceAccount(c.ID), floor: -int64(limit)})
	}
	if c.DailySpendLimit != "" {
		limit, err := rating.ParseMoney(c.DailySpendLimit)
		if err != nil {
			return nil, reject(500, "Bad Daily Spend Limit", fmt.Errorf("customer %s: %w", c.ID, err))
		}
		g.holds = append(g.holds, hold{acct: SpendAccount(c, w.now()), floor: -int64(limit)})
	}
	if c.MaxCallCost != "" {
		limit, err := rating.ParseMoney(c.MaxCallCost)
		if err != nil {
			return nil, reject(500, "Bad Maximum Call Cost", fmt.Errorf("customer %s: %w", c.ID, err))
		}
		g.cap = max(limit, 1) // "0" would refuse every call: read it as the smallest cost
	}
	// Route has refused a first block above the maximum call cost.
	first := g.steps.first
	cost := p.Sell.Charge(first).Cost
	budget, err := w.budget(ctx, g)
	if err != nil {
		return nil, reject(503, "Credit Unavailable", err)
	}
	g.Max = g.steps.affordable(p.Sell, budget)
	for i, h := range g.holds {
		ok, err := w.st.Reserve(ctx, h.acct, callID, int64(cost), h.floor, w.ttl)
		if err != nil || !ok {
			w.release(ctx, g, i)
			switch {
			case err != nil:
				return nil, reject(503, "Credit Unavailable", err)
			case h.acct == BalanceAccount(c.ID):
				return nil, reject(402, "Payment Required", nil)
			default:
				return nil, reject(403, "Daily Spend Limit Reached", nil)
			}
		}
	}
	g.Paid, g.held = first, cost
	return g, nil
}

// budget is the most the call may cost: what it holds plus what every
// account it reserves on still has above its floor, and its cap.
func (w *Wallet) budget(ctx context.Context, g *Grant) (rating.Money, error) {
	budget, bounded := rating.Money(1<<62-1), false // no account, no cap: nothing bounds it
	for _, h := range g.holds {
		a, err := w.st.Account(ctx, h.acct)
		if err != nil {
			return 0, err
		}
		// Below its floor already (a limit lowered), an account's part is
		// negative: the budget is less than what the call holds.
		b := g.held + rating.Money(a.Balance-a.Reserved-h.floor)
		if !bounded || b < budget {
			budget, bounded = b, true
		}
	}
	if g.cap > 0 && (!bounded || g.cap < budget) {
		budget = g.cap
	}
	return budget, nil
}

// Extend reserves the next block of a call (DefaultCreditBlock seconds, or
// what is left when less is), and returns the seconds it added to g.Paid:
// 0 when no credit is left, and the call must end when its paid time does.
// A store failure adds nothing and is returned.
func (w *Wallet) Extend(ctx context.Context, g *Grant) (int, error) {
	want := g.steps.atLeast(g.Paid + w.block)
	for range 3 {
		cost := g.sell.Charge(want).Cost
		if g.cap > 0 && cost > g.cap {
			want = g.steps.affordable(g.sell, g.cap)
			cost = g.sell.Charge(want).Cost
		}
		if want <= g.Paid {
			return 0, nil
		}
		ok, err := w.reserve(ctx, g, cost-g.held)
		if err != nil {
			return 0, err
		}
		if ok {
			added := want - g.Paid
			g.Paid, g.held = want, cost
			return added, nil
		}
		// Another call took some of the credit: take what is left.
		budget, err := w.budget(ctx, g)
		if err != nil {
			return 0, err
		}
		want = min(want, g.steps.affordable(g.sell, budget))
	}
	return 0, nil
}

// Refresh keeps a call's holds open for another hold TTL without reserving
// more: a call must refresh (or extend) more often than RefreshEvery while
// it rings or talks, or its holds expire as if its node had died.
func (w *Wallet) Refresh(ctx context.Context, g *Grant) error {
	_, err := w.reserve(ctx, g, 0)
	return err
}

// RefreshEvery is how often a call must refresh or extend its holds.
func (w *Wallet) RefreshEvery() time.Duration { return w.ttl / 3 }

// reserve adds amount to the grant's hold on each account; false when one
// refuses. A refusal after earlier accounts accepted leaves their part
// reserved until the call ends: too much held, never too little.
func (w *Wallet) reserve(ctx context.Context, g *Grant, amount rating.Money) (bool, error) {
	for _, h := range g.holds {
		ok, err := w.st.Reserve(ctx, h.acct, g.hold, int64(amount), h.floor, w.ttl)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// Release frees a call's reservations without a charge (it was not
// answered, or was free).
func (w *Wallet) Release(ctx context.Context, g *Grant) { w.release(ctx, g, len(g.holds)) }

func (w *Wallet) release(ctx context.Context, g *Grant, n int) {
	ctx, cancel := releaseContext(ctx)
	defer cancel()
	for _, h := range g.holds[:n] {
		_ = w.st.Release(ctx, h.acct, g.hold) // holds in memory: cannot fail; in a shared store they expire
	}
}

// Charge posts an answered call's sell cost to its customer's ledger,
// exactly once whatever is repeated (a repeat with a new cost, as after
// re-rating, posts the difference), and frees the call's reservations (g,
// which may be nil) in the same step. setup is the call's set-up time: the
// day its spend counts on when the customer has a daily limit. kind is
// KindCharge, or KindRerate for a correction.
func (w *Wallet) Charge(ctx context.Context, customerID, callID string, g *Grant, kind string, cost rating.Money, setup time.Time) error {
	return w.ChargeAll(ctx, []Charge{{CustomerID: customerID, CallID: callID, Grant: g, Kind: kind, Cost: cost, Setup: setup}})[0]
}

// Charge is one call's charge, as Wallet.Charge takes it.
type Charge struct {
	CustomerID, CallID string
	Grant              *Grant
	Kind               string
	Cost               rating.Money
	Setup              time.Time
}

// ChargeAll posts the charges of many calls, each as Charge would, in one
// step of the store (one transaction, one sync). It returns each charge's
// error, nil for one that was posted.
func (w *Wallet) ChargeAll(ctx context.Context, cs []Charge) []error {
	var ps []store.Posting
	first := make([]int, len(cs)+1) // cs[i]'s postings are ps[first[i]:first[i+1]]
	for i, c := range cs {
		first[i] = len(ps)
		ps = w.postings(ps, c)
	}
	first[len(cs)] = len(ps)
	errs := make([]error, len(cs))
	err := w.st.PostAll(ctx, ps)
	for i, c := range cs {
		if err != nil {
			errs[i] = fmt.Errorf("charging call %s: %w", c.CallID, err)
			continue
		}
		for _, p := range ps[first[i]:first[i+1]] {
			if p.Err != nil {
				errs[i] = fmt.Errorf("charging call %s to account %s: %w", c.CallID, p.Acct, p.Err)
				break
			}
		}
	}
	return errs
}

// postings appends c's postings to ps: its customer's balance, and each
// other account its grant holds on, or, without a grant, its day's spend
// when the customer has a daily limit.
func (w *Wallet) postings(ps []store.Posting, c Charge) []store.Posting {
	e := store.Entry{Kind: c.Kind, Key: CallKey(c.CallID, c.Setup), Amount: -int64(c.Cost)}
	bal := BalanceAccount(c.CustomerID)
	ps = append(ps, store.Posting{Acct: bal, Hold: c.CallID, Entry: e})
	if c.Grant != nil {
		for _, h := range c.Grant.holds {
			if h.acct != bal {
				ps = append(ps, store.Posting{Acct: h.acct, Hold: c.CallID, Entry: e})
			}
		}
	} else if w.customer != nil {
		if cust, ok := w.customer(c.CustomerID); ok && cust.DailySpendLimit != "" {
			ps = append(ps, store.Posting{Acct: SpendAccount(cust, c.Setup), Hold: c.CallID, Entry: e})
		}
	}
	return ps
}

// steps are the paid times of a rate: the billed durations of its calls,
// first, first+inc, first+2·inc… A call that has paid for a step may last
// that many seconds.
type steps struct{ first, inc int }

func stepsOf(l Leg) steps {
	r := l.Row
	// The billed time of the first block margin protection prices.
	first := int(rating.BilledSeconds(FirstBlock(l), r.Initial, r.Increment, r.Grace))
	return steps{first: max(first, 1), inc: max(int(r.Increment), 1)}
}

// atLeast is the first step of at least d seconds.
func (s steps) atLeast(d int) int {
	if d <= s.first {
		return s.first
	}
	return s.first + (d-s.first+s.inc-1)/s.inc*s.inc
}

// affordable is the longest step whose cost is at most budget; 0 when not
// even the first is.
func (s steps) affordable(l Leg, budget rating.Money) int {
	if l.Charge(s.first).Cost > budget {
		return 0
	}
	lo, hi := 0, (maxPaidSeconds-s.first)/s.inc // the answer is first + k·inc, lo ≤ k ≤ hi
	for lo < hi {
		mid := lo + (hi-lo+1)/2
		if l.Charge(s.first+mid*s.inc).Cost <= budget {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	return s.first + lo*s.inc
}
