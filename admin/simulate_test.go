package admin_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

func TestSimulate(t *testing.T) {
	type call struct {
		customer, number string
		at               time.Time
	}
	var got call
	fake := func(_ context.Context, customer, number, _ string, at time.Time) (any, error) {
		if customer == "broken" {
			return nil, errors.New("no table")
		}
		got = call{customer, number, at}
		return map[string]any{"sell": map[string]string{"prefix": "44", "rate": "0.010000"}}, nil
	}
	e := newEnv(t, admin.WithSimulator(fake))
	w := e.req("GET", "/api/v1/simulate?customer=c1&number=%2B4420&at=2024-01-02T03:04:05Z", nil)
	wantStatus(t, w, 200)
	var body struct{ Sell map[string]string }
	decode(t, w, &body)
	if body.Sell["prefix"] != "44" || got.customer != "c1" || got.number != "+4420" || !got.at.Equal(time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)) {
		t.Errorf("answered %+v after call %+v", body, got)
	}
	wantStatus(t, e.req("GET", "/api/v1/simulate?customer=c1&number=4420&at=1700000000", nil), 200)
	if got.at.Unix() != 1700000000 {
		t.Errorf("at = %v, want Unix 1700000000", got.at)
	}
	before := time.Now()
	wantStatus(t, e.req("GET", "/api/v1/simulate?customer=c1&number=4420", nil), 200)
	if got.at.Before(before.Add(-time.Second)) {
		t.Errorf("at defaults to %v, want now", got.at)
	}
	wantError(t, e.req("GET", "/api/v1/simulate?number=4420", nil), 400, admin.CodeInvalid, "customer")
	wantError(t, e.req("GET", "/api/v1/simulate?customer=c1", nil), 400, admin.CodeInvalid, "number")
	wantError(t, e.req("GET", "/api/v1/simulate?customer=c1&number=1&at=yesterday", nil), 400, admin.CodeInvalid, "at")
	wantError(t, e.req("GET", "/api/v1/simulate?customer=broken&number=1", nil), 503, admin.CodeUnavailable, "")

	plain := newEnv(t)
	wantError(t, plain.req("GET", "/api/v1/simulate?customer=c1&number=1", nil), 503, admin.CodeUnavailable, "")
}

func TestRerateCDRs(t *testing.T) {
	j, err := cdr.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	e := newCreditEnv(t, admin.WithCDRs(j), admin.WithCDRSink(j))
	f := e.fixture()
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.provider+"/rates", `[{"prefix":"44","rate":"0.01","initial_increment":30,"subsequent_increment":6}]`), 200)
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.card+"/rates", `[{"prefix":"44","rate":"0.02","initial_increment":30,"subsequent_increment":6}]`), 200)

	// CDRs rated by the cards as they are (revision 1), as the switch does.
	card := func(id string, rate string) *rating.Card {
		m, _ := rating.ParseMoney(rate)
		c, err := rating.NewCard(rating.Settings{ID: id, Revision: 1, Currency: "EUR", Precision: 4, Rounding: rating.RoundHalfUp},
			[]rating.Row{{Prefix: "44", PerMinute: m, Initial: 30, Increment: 6}})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	sellCard, buyCard := card(f.card, "0.02"), card(f.provider, "0.01")
	for i, d := range []int{61, 300} {
		sell, _ := sellCard.Rate("4420", 1_700_000_000, d)
		buy, _ := buyCard.Rate("4420", 1_700_000_000, d)
		rec := cdr.Record{CallID: fmt.Sprint("call", i+1), Attempt: i + 1, Final: true, CustomerID: f.customer, CarrierID: f.carrier,
			Callee: "442079460000", SetupMs: 1_700_000_000_000 + int64(i)*1000, AnswerMs: 1_700_000_001_000 + int64(i)*1000,
			Duration: d, Billed: int(sell.Billed), Currency: "EUR", SellRate: sell.Trace.Rate, SellCost: sell.Cost,
			BuyRate: buy.Trace.Rate, BuyCost: buy.Cost, Trace: "sell " + sell.Trace.String() + "; buy " + buy.Trace.String()}
		if err := j.Write(t.Context(), rec); err != nil {
			t.Fatal(err)
		}
	}
	// The first call was charged when it ended; the second is from before
	// the ledger.
	charge := store.Entry{Kind: routing.KindCharge, Key: routing.CallKey("call1", time.UnixMilli(1_700_000_000_000)), Amount: -22_000}
	if _, err := e.credit.Post(t.Context(), routing.BalanceAccount(f.customer), "", charge); err != nil {
		t.Fatal(err)
	}
	type result struct {
		Examined, Unchanged, Untraced int
		ChangedCount                  int `json:"changed_count"`
		Changed                       []struct {
			Attempt     int
			Side, Card  string
			OldCost     string `json:"old_cost"`
			NewCost     string `json:"new_cost"`
			NewRevision int    `json:"new_revision"`
			Reason      string
		}
	}
	rerate := func() result {
		t.Helper()
		w := e.req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 1_699_999_999, "to": 1_700_000_100})
		wantStatus(t, w, 200)
		var res result
		decode(t, w, &res)
		return res
	}
	if res := rerate(); res.Examined != 2 || res.Unchanged != 2 || res.ChangedCount != 0 || len(res.Changed) != 0 {
		t.Errorf("before any change: %+v", res)
	}
	// The sell card gets dearer: both CDRs' sell side would change.
	wantStatus(t, e.req("PUT", "/api/v1/ratecards/"+f.card+"/rates", `[{"prefix":"44","rate":"0.03","initial_increment":30,"subsequent_increment":6}]`), 200)
	res := rerate()
	if res.Examined != 2 || res.ChangedCount != 2 || len(res.Changed) != 2 {
		t.Fatalf("after the change: %+v", res)
	}
	// 61 s bills 66 s: 0.022 at 0.02, 0.033 at 0.03
	c := res.Changed[0]
	if c.Attempt != 1 {
		c = res.Changed[1]
	}
	if c.Side != "sell" || c.Card != f.card || c.OldCost != "0.022000" || c.NewCost != "0.033000" || c.NewRevision != 2 || c.Reason != "" {
		t.Errorf("first change = %+v", c)
	}
	wantError(t, e.req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 10, "to": 5}), 400, admin.CodeInvalid, "to")
	wantError(t, newEnv(t).req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 1, "to": 5}), 503, admin.CodeUnavailable, "")
	wantError(t, newEnv(t, admin.WithCDRs(j)).req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 1, "to": 5, "apply": true}), 503, admin.CodeUnavailable, "")

	// Apply: corrected CDRs replace the old ones, with the new sell cost,
	// margin and a trace that gives the new cost back; a second pass finds
	// nothing left to change.
	w := e.req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 1_699_999_999, "to": 1_700_000_100, "apply": true})
	wantStatus(t, w, 200)
	var applied struct {
		ChangedCount int `json:"changed_count"`
		Applied      int `json:"applied"`
	}
	decode(t, w, &applied)
	if applied.ChangedCount != 2 || applied.Applied != 2 {
		t.Fatalf("apply: %+v", applied)
	}
	recs, err := j.Query(t.Context(), cdr.Query{Limit: 10})
	if err != nil || len(recs) != 2 {
		t.Fatalf("journal after apply: %d records, %v", len(recs), err)
	}
	for _, r := range recs {
		if r.Attempt == 1 && (r.SellCost.String() != "0.033000" || r.BuyCost.String() != "0.011000" || r.Margin.String() != "0.022000" || r.Billed != 66) {
			t.Errorf("re-rated CDR: sell %s buy %s margin %s billed %d", r.SellCost, r.BuyCost, r.Margin, r.Billed)
		}
	}
	if res := rerate(); res.ChangedCount != 0 || res.Unchanged != 2 {
		t.Errorf("after apply: %+v", res)
	}
	// The charged call's ledger follows its new cost: the difference once,
	// however often the re-rating is applied.
	for range 2 {
		wantStatus(t, e.req("POST", "/api/v1/cdrs/rerate", map[string]any{"from": 1_699_999_999, "to": 1_700_000_100, "apply": true}), 200)
	}
	entries, err := e.credit.Entries(t.Context(), routing.BalanceAccount(f.customer), 0, 0)
	if err != nil || len(entries) != 2 || entries[1].Kind != routing.KindRerate || entries[1].Amount != -11_000 || entries[1].Balance != -33_000 {
		t.Fatalf("ledger after re-rating: %+v, %v", entries, err)
	}
}
