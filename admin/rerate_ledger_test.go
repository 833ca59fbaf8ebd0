package admin_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// rerateEnv is a journal of CDRs and a customer's ledger, for re-rating.
type rerateEnv struct {
	t *testing.T
	e *env
	j *cdr.Journal
	f fixture
}

func newRerateEnv(t *testing.T, sellRate string) *rerateEnv {
	j, err := cdr.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e := newCreditEnv(t, admin.WithCDRs(j), admin.WithCDRSink(j))
	f := e.fixture()
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.provider+"/rates", `[{"prefix":"44","rate":"0.01","initial_increment":30,"subsequent_increment":6}]`), 200)
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.card+"/rates", `[{"prefix":"44","rate":"`+sellRate+`","initial_increment":30,"subsequent_increment":6}]`), 200)
	return &rerateEnv{t: t, e: e, j: j, f: f}
}

// cdrAt is the CDR of a 61 s call rated by the sell card at rate (revision rev).
func (r *rerateEnv) cdrAt(rate string, rev int) cdr.Record {
	card := func(id, rate string, rev int) *rating.Card {
		m, _ := rating.ParseMoney(rate)
		c, err := rating.NewCard(rating.Settings{ID: id, Revision: rev, Currency: "EUR", Precision: 4, Rounding: rating.RoundHalfUp},
			[]rating.Row{{Prefix: "44", PerMinute: m, Initial: 30, Increment: 6}})
		if err != nil {
			r.t.Fatal(err)
		}
		return c
	}
	sell, _ := card(r.f.card, rate, rev).Rate("4420", 1_700_000_000, 61)
	buy, _ := card(r.f.provider, "0.01", 1).Rate("4420", 1_700_000_000, 61)
	return cdr.Record{CallID: "c1", Attempt: 1, Final: true, CustomerID: r.f.customer, CarrierID: r.f.carrier,
		Callee: "442079460000", SetupMs: 1_700_000_000_000, AnswerMs: 1_700_000_001_000,
		Duration: 61, Billed: int(sell.Billed), Currency: "EUR", SellRate: sell.Trace.Rate, SellCost: sell.Cost,
		BuyRate: buy.Trace.Rate, BuyCost: buy.Cost, Trace: "sell " + sell.Trace.String() + "; buy " + buy.Trace.String()}
}

// switchEnds is what the switch does when the call ends: CDR, then charge.
func (r *rerateEnv) switchEnds(rec cdr.Record) {
	if err := r.j.Write(r.t.Context(), rec); err != nil {
		r.t.Fatal(err)
	}
	w := routing.NewWallet(r.e.credit)
	if err := w.Charge(r.t.Context(), r.f.customer, rec.CallID, nil, routing.KindCharge, rec.SellCost, time.UnixMilli(rec.SetupMs)); err != nil {
		r.t.Fatal(err)
	}
}

func (r *rerateEnv) applyRerate() {
	wantStatus(r.t, r.e.req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 1_699_999_999, "to": 1_700_000_100, "apply": true}), http.StatusOK)
}

func (r *rerateEnv) balance() int64 {
	a, err := r.e.credit.Account(r.t.Context(), routing.BalanceAccount(r.f.customer))
	if err != nil {
		r.t.Fatal(err)
	}
	return a.Balance
}

// A call charged 0 (a rate entered as 0 by mistake, a call inside the
// grace) is charged 0: once its rate is fixed and the re-rating applied,
// the ledger follows the CDR's new cost.
func TestRerateOfAFreeCallIsCharged(t *testing.T) {
	r := newRerateEnv(t, "0")
	r.switchEnds(r.cdrAt("0", 1))
	wantStatus(t, r.e.req("PUT", "/api/v1/ratecards/"+r.f.card+"/rates", `[{"prefix":"44","rate":"0.03","initial_increment":30,"subsequent_increment":6}]`), 200)
	r.applyRerate()
	if b := r.balance(); b != -33_000 {
		t.Fatalf("re-rated CDR costs 0.033; balance %d", b)
	}
}

// Apply writes the corrected CDR, then posts. When the Post did not happen
// (a crash, a store error, the live charge landing after it), a later apply
// finds the CDR right and brings the ledger to it.
func TestRerateReconcilesAnInterruptedApply(t *testing.T) {
	r := newRerateEnv(t, "0.02")
	r.switchEnds(r.cdrAt("0.02", 1)) // charged 0.022
	wantStatus(t, r.e.req("PUT", "/api/v1/ratecards/"+r.f.card+"/rates", `[{"prefix":"44","rate":"0.03","initial_increment":30,"subsequent_increment":6}]`), 200)
	// The first apply wrote the corrected CDR and stopped before its Post.
	if err := r.j.Write(t.Context(), r.cdrAt("0.03", 2)); err != nil {
		t.Fatal(err)
	}
	r.applyRerate()
	r.applyRerate()
	if b := r.balance(); b != -33_000 {
		t.Fatalf("CDR says 0.033, balance %d", b)
	}
}

// A customer with a daily spend limit: re-rating also corrects what the
// call counted on the day it was set up.
func TestRerateCorrectsTheDaysSpend(t *testing.T) {
	r := newRerateEnv(t, "0.02")
	wantStatus(t, r.e.req("PUT", "/api/v1/customers/"+r.f.customer, map[string]any{"name": "Acme", "currency": "EUR", "daily_spend_limit": "100"}), 200)
	rec := r.cdrAt("0.02", 1)
	r.switchEnds(rec)
	cust := store.Customer{ID: r.f.customer, DailySpendLimit: "100"}
	day := routing.SpendAccount(cust, time.UnixMilli(rec.SetupMs))
	charge := store.Entry{Kind: routing.KindCharge, Key: routing.CallKey(rec.CallID, time.UnixMilli(rec.SetupMs)), Amount: -int64(rec.SellCost)}
	if _, err := r.e.credit.Post(t.Context(), day, "", charge); err != nil {
		t.Fatal(err)
	}
	wantStatus(t, r.e.req("PUT", "/api/v1/ratecards/"+r.f.card+"/rates", `[{"prefix":"44","rate":"0.03","initial_increment":30,"subsequent_increment":6}]`), 200)
	r.applyRerate()
	a, err := r.e.credit.Account(t.Context(), day)
	if err != nil || a.Balance != -33_000 {
		t.Fatalf("the day's spend after re-rating: %+v, %v; want -0.033", a, err)
	}
}
