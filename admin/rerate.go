package admin

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// Rerate limits.
const (
	defaultRerateList = 1000
	maxRerateScan     = 1_000_000 // CDRs examined in one request
)

// rerateInput is the body of POST /api/v1/cdrs/rerate: a range of setup
// times in Unix seconds, from inclusive, to exclusive.
type rerateInput struct {
	From       int64  `json:"from"`
	To         int64  `json:"to"`
	CustomerID string `json:"customer_id"`
	Limit      int    `json:"limit"`
	// Apply writes a corrected CDR (new costs, margin, billed seconds and
	// trace) for each CDR whose both sides could be re-rated and changed.
	Apply bool `json:"apply"`
}

// rerateChange is one side of one CDR whose cost would change.
type rerateChange struct {
	CallID      string `json:"call_id"`
	Attempt     int    `json:"attempt"`
	SetupMs     int64  `json:"setup_ms"`
	Callee      string `json:"callee"`
	Duration    int    `json:"duration"`
	Side        string `json:"side"` // "sell" or "buy"
	Card        string `json:"card"`
	OldRevision int    `json:"old_revision"`
	NewRevision int    `json:"new_revision,omitempty"`
	OldPrefix   string `json:"old_prefix"`
	NewPrefix   string `json:"new_prefix,omitempty"`
	OldCost     string `json:"old_cost"`
	NewCost     string `json:"new_cost,omitempty"`
	Reason      string `json:"reason,omitempty"` // why there is no new cost
}

type rerateResult struct {
	Examined     int `json:"examined"`
	Unchanged    int `json:"unchanged"`
	ChangedCount int `json:"changed_count"`
	Untraced     int `json:"untraced"` // answered CDRs without a readable trace
	Applied      int `json:"applied"`  // corrected CDRs written (apply)
	// Posted counts the corrected CDRs whose change of sell cost went to
	// the customer's ledger (a re-rating entry of the difference).
	Posted    int            `json:"ledger_posted"`
	Changed   []rerateChange `json:"changed"`
	Truncated bool           `json:"truncated,omitempty"`
}

// rerateCDRs re-rates the answered CDRs of a time range against the cards
// as they are now, without writing anything (a dry run): each side's
// trace names its card; the callee is looked up on that card at the
// call's setup time and priced for the CDR's duration, and every side
// whose cost would differ from the recorded one is listed.
func (s *Server) rerateCDRs(w http.ResponseWriter, r *http.Request) error {
	if s.cdrs == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no CDR source is configured")
	}
	var in rerateInput
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	switch {
	case in.From < 0:
		return errInvalid("from", "must be Unix seconds >= 0, got %d", in.From)
	case in.To <= in.From:
		return errInvalid("to", "must be after from")
	case in.Limit < 0 || in.Limit > maxCDRLimit:
		return errInvalid("limit", "must be from 1 to %d, got %d", maxCDRLimit, in.Limit)
	}
	if in.Limit == 0 {
		in.Limit = defaultRerateList
	}
	if in.Apply && s.sink == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no CDR sink is configured to write re-rated CDRs")
	}
	cards := cardCache{s: s, cards: map[string]*rating.Card{}}
	res := rerateResult{Changed: []rerateChange{}}
	q := cdr.Query{CustomerID: in.CustomerID, FromMs: in.From * 1000, ToMs: in.To * 1000, Limit: maxCDRLimit}
	for q.Offset < maxRerateScan {
		recs, err := s.cdrs.Query(r.Context(), q)
		if errors.Is(err, cdr.ErrBadQuery) {
			return errStatus(http.StatusBadRequest, CodeInvalid, "%v", err)
		}
		if err != nil {
			return err
		}
		for i := range recs {
			if recs[i].AnswerMs == 0 {
				continue // nothing was billed
			}
			if err := s.rerateOne(r.Context(), &recs[i], &cards, &res, in.Limit, in.Apply); err != nil {
				return err
			}
		}
		if len(recs) < q.Limit {
			break
		}
		q.Offset += len(recs)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

func (s *Server) rerateOne(ctx context.Context, rec *cdr.Record, cards *cardCache, res *rerateResult, limit int, apply bool) error {
	res.Examined++
	sides, ok := splitTrace(rec.Trace)
	if !ok {
		res.Untraced++
		return nil
	}
	changed, complete := false, true
	var now [2]rating.Charge // each side priced on the current card
	for i, sd := range []struct {
		name  string
		trace string
		cost  rating.Money
	}{{"sell", sides[0], rec.SellCost}, {"buy", sides[1], rec.BuyCost}} {
		t, err := rating.ParseTrace(sd.trace)
		if err != nil {
			res.Untraced++
			return nil
		}
		ch := rerateChange{CallID: rec.CallID, Attempt: rec.Attempt, SetupMs: rec.SetupMs, Callee: rec.Callee,
			Duration: rec.Duration, Side: sd.name, Card: t.Card, OldRevision: t.Revision, OldPrefix: t.Prefix,
			OldCost: sd.cost.String()}
		// The trace alone must give the recorded cost back.
		if old := rating.Rerate(t, rec.Duration); old.Cost != sd.cost {
			ch.Reason = "the trace gives " + old.Cost.String() + ", not the recorded cost"
		}
		card, err := cards.get(ctx, t.Card)
		if err != nil {
			return err
		}
		if card == nil {
			ch.Reason = "card no longer exists"
		} else if row, err := card.Lookup(rec.Callee, rec.SetupMs/1000); err != nil {
			ch.Reason = err.Error()
		} else {
			now[i] = card.Charge(&row, rec.Duration)
			ch.NewRevision, ch.NewPrefix, ch.NewCost = now[i].Trace.Revision, now[i].Trace.Prefix, now[i].Cost.String()
			if now[i].Cost == sd.cost && ch.Reason == "" {
				continue
			}
		}
		if ch.Reason != "" {
			complete = false
		}
		changed = true
		if len(res.Changed) < limit {
			res.Changed = append(res.Changed, ch)
		} else {
			res.Truncated = true
		}
	}
	if !changed {
		res.Unchanged++
		if !apply {
			return nil
		}
		// The CDR is right; its ledger charge may not be yet (an apply
		// interrupted between the two, a charge that raced it).
		posted, err := s.postRerate(ctx, rec)
		if posted {
			res.Posted++
		}
		return err
	}
	res.ChangedCount++
	if !apply || !complete {
		return nil
	}
	fixed := *rec
	fixed.SellRate, fixed.SellCost = now[0].Trace.Rate, now[0].Cost
	fixed.BuyRate, fixed.BuyCost = now[1].Trace.Rate, now[1].Cost
	fixed.Margin = fixed.SellCost - fixed.BuyCost
	fixed.Billed = int(now[0].Billed)
	fixed.Prefix = now[0].Trace.Prefix
	fixed.Trace = "sell " + now[0].Trace.String() + "; buy " + now[1].Trace.String()
	if err := s.sink.Write(ctx, fixed); err != nil {
		return fmt.Errorf("writing re-rated CDR %s/%d: %w", rec.CallID, rec.Attempt, err)
	}
	res.Applied++
	posted, err := s.postRerate(ctx, &fixed)
	if err != nil {
		return err
	}
	if posted {
		res.Posted++
	}
	return nil
}

// postRerate brings the ledger charge of an answered call to the sell cost
// of its CDR: one entry of the difference, whatever is repeated, nothing
// when they agree. A call never charged (from before the ledger, or
// answered on no credit store) is left alone. It goes on when the client
// goes away: the CDR it follows is written.
func (s *Server) postRerate(ctx context.Context, r *cdr.Record) (bool, error) {
	if s.credit == nil || !r.Final || r.AnswerMs == 0 {
		return false, nil
	}
	ctx = context.WithoutCancel(ctx)
	acct, key := routing.BalanceAccount(r.CustomerID), routing.CallKey(r.CallID, time.UnixMilli(r.SetupMs))
	total, charged, err := s.credit.Posted(ctx, acct, key)
	if err != nil || !charged || total == -int64(r.SellCost) {
		return false, err
	}
	e, err := s.credit.Post(ctx, acct, "", store.Entry{Kind: routing.KindRerate, Key: key, Amount: -int64(r.SellCost)})
	if err != nil {
		return false, fmt.Errorf("posting the re-rating of call %s: %w", r.CallID, err)
	}
	// The day's spend of a customer with a daily limit follows (where the
	// call was counted: the account names the day of its set-up).
	if c, err := store.GetJSON[store.Customer](ctx, s.st, store.Customers, r.CustomerID); err == nil && c.DailySpendLimit != "" {
		day := routing.SpendAccount(c, time.UnixMilli(r.SetupMs))
		if _, counted, err := s.credit.Posted(ctx, day, key); err == nil && counted {
			if _, err := s.credit.Post(ctx, day, "", store.Entry{Kind: routing.KindRerate, Key: key, Amount: -int64(r.SellCost)}); err != nil {
				return true, fmt.Errorf("posting the re-rating of call %s to its day's spend: %w", r.CallID, err)
			}
		}
	}
	return e.Seq != 0, nil
}

// splitTrace splits a CDR trace "sell <trace>; buy <trace>".
func splitTrace(s string) ([2]string, bool) {
	sell, buy, ok := strings.Cut(s, "; buy ")
	if !ok || !strings.HasPrefix(sell, "sell ") {
		return [2]string{}, false
	}
	return [2]string{strings.TrimPrefix(sell, "sell "), buy}, true
}

// cardCache builds each card of the store once per request, derived cards
// from their provider cards.
type cardCache struct {
	s     *Server
	cards map[string]*rating.Card // nil: no such card
}

func (c *cardCache) get(ctx context.Context, id string) (*rating.Card, error) {
	if card, ok := c.cards[id]; ok {
		return card, nil
	}
	meta, err := store.GetJSON[store.RateCard](ctx, c.s.st, store.RateCards, id)
	if isNotFound(err) {
		c.cards[id] = nil
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	var card *rating.Card
	if meta.Markup == nil {
		card, _, err = c.s.ratingCard(ctx, meta)
	} else {
		card, err = c.derive(ctx, meta)
	}
	if err != nil {
		return nil, err
	}
	c.cards[id] = card
	return card, nil
}

func (c *cardCache) derive(ctx context.Context, meta store.RateCard) (*rating.Card, error) {
	set, err := ratingSettings(meta)
	if err != nil {
		return nil, err
	}
	v, err := rating.ParseMoney(meta.Markup.Value)
	if err != nil {
		return nil, err
	}
	var providers []*rating.Card
	for _, pid := range meta.ProviderCards {
		p, err := c.get(ctx, pid)
		if err != nil {
			return nil, err
		}
		if p != nil {
			providers = append(providers, p)
		}
	}
	return rating.Derive(set, rating.Markup{Kind: meta.Markup.Kind, Value: v, Combine: meta.Markup.Combine}, providers...)
}
