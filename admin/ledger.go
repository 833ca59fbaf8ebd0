package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// Ledger page sizes.
const (
	defaultLedgerLimit = 100
	maxLedgerLimit     = 1000
)

// ledgerEntry is a store.Entry as the API shows it: amounts as money
// strings in the customer's currency.
type ledgerEntry struct {
	Seq     uint64 `json:"seq"`
	At      int64  `json:"at_ms"`
	Kind    string `json:"kind"`
	Key     string `json:"key"`
	Amount  string `json:"amount"`
	Balance string `json:"balance"` // running balance after the entry
	Reason  string `json:"reason,omitempty"`
}

func viewEntry(e store.Entry, minor int) ledgerEntry {
	return ledgerEntry{
		Seq: e.Seq, At: e.At, Kind: e.Kind, Key: e.Key, Reason: e.Reason,
		Amount:  rating.FormatMoney(rating.Money(e.Amount), minor),
		Balance: rating.FormatMoney(rating.Money(e.Balance), minor),
	}
}

// ledgerPage is the answer of GET …/ledger. Consistent reports that the
// page's running balances follow from its amounts and that the ledger's
// last entry carries the account's balance. NextAfter, when not 0, is the
// after of the next page.
type ledgerPage struct {
	CustomerID string        `json:"customer_id"`
	Currency   string        `json:"currency"`
	Balance    string        `json:"balance"`
	Reserved   string        `json:"reserved"`
	Available  string        `json:"available"`
	Entries    []ledgerEntry `json:"entries"`
	NextAfter  uint64        `json:"next_after,omitempty"`
	Consistent bool          `json:"consistent"`
}

// getLedger answers the entries of the customer's balance account with
// Seq > after, oldest first, at most limit (default 100, at most 1000).
func (s *Server) getLedger(w http.ResponseWriter, r *http.Request) error {
	if err := s.needCredit(); err != nil {
		return err
	}
	q := r.URL.Query()
	var after uint64
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return errInvalid("after", "must be an entry seq (0 or more), got %q", v)
		}
		after = n
	}
	limit := defaultLedgerLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxLedgerLimit {
			return errInvalid("limit", "must be 1..%d, got %q", maxLedgerLimit, v)
		}
		limit = n
	}
	ctx := r.Context()
	c, err := load[store.Customer](ctx, s.st, store.Customers, "customer", r.PathValue("id"))
	if err != nil {
		return err
	}
	name := routing.BalanceAccount(c.ID)
	acct, err := s.credit.Account(ctx, name)
	if err != nil {
		return err
	}
	es, err := s.credit.Entries(ctx, name, after, limit)
	if err != nil {
		return err
	}
	minor := rating.MinorUnits(c.Currency)
	page := ledgerPage{
		CustomerID: c.ID, Currency: c.Currency,
		Balance:   rating.FormatMoney(rating.Money(acct.Balance), minor),
		Reserved:  rating.FormatMoney(rating.Money(acct.Reserved), minor),
		Available: rating.FormatMoney(rating.Money(acct.Balance-acct.Reserved), minor),
		Entries:   make([]ledgerEntry, len(es)),
	}
	for i, e := range es {
		page.Entries[i] = viewEntry(e, minor)
	}
	if n := len(es); n == limit && es[n-1].Seq < acct.Entries {
		page.NextAfter = es[n-1].Seq
	}
	if page.Consistent, err = s.consistent(ctx, name, acct, es); err != nil {
		return err
	}
	if !page.Consistent {
		s.log.Error("ledger does not add up to its balance", "customer", c.ID, "balance", acct.Balance, "entries", acct.Entries)
	}
	writeJSON(w, http.StatusOK, page)
	return nil
}

// consistent checks that each of es (consecutive entries of acct) has the
// running balance of the one before plus its amount, and that the entry
// numbered acct.Entries (the last when acct was read) carries acct's
// balance. Entries posted since acct was read do not upset it.
func (s *Server) consistent(ctx context.Context, name string, acct store.Account, es []store.Entry) (bool, error) {
	for i, e := range es {
		switch {
		case i > 0 && (e.Seq != es[i-1].Seq+1 || e.Balance != es[i-1].Balance+e.Amount):
			return false, nil
		case e.Seq == 1 && e.Balance != e.Amount:
			return false, nil
		}
	}
	if acct.Entries == 0 {
		return acct.Balance == 0, nil
	}
	for _, e := range es {
		if e.Seq == acct.Entries {
			return e.Balance == acct.Balance, nil
		}
	}
	last, err := s.credit.Entries(ctx, name, acct.Entries-1, 1)
	if err != nil {
		return false, err
	}
	return len(last) == 1 && last[0].Seq == acct.Entries && last[0].Balance == acct.Balance, nil
}

// createAdjustment posts a manual change of the customer's balance with a
// reason: {"amount":"-1.50","reason":"…"}.
func (s *Server) createAdjustment(w http.ResponseWriter, r *http.Request) error {
	if err := s.needCredit(); err != nil {
		return err
	}
	var in struct {
		Amount string `json:"amount"`
		Reason string `json:"reason"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := validText("reason", in.Reason, maxTextLen, true); err != nil {
		return err
	}
	ctx := r.Context()
	c, err := load[store.Customer](ctx, s.st, store.Customers, "customer", r.PathValue("id"))
	if err != nil {
		return err
	}
	if in.Amount == "" {
		return errInvalid("amount", "required")
	}
	amount, err := parseAmount("amount", in.Amount, rating.Digits, c.Currency)
	if err != nil {
		return err
	}
	if amount == 0 {
		return errInvalid("amount", "must not be 0")
	}
	ikey, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	key := routing.AdjustmentKey(store.NewID())
	if ikey != "" {
		// A retried request (same key) posts nothing more: its key is
		// the first try's, and a Post is idempotent by key.
		key = routing.AdjustmentKey(idempotentID(c.ID, ikey))
		total, done, err := s.credit.Posted(ctx, routing.BalanceAccount(c.ID), key)
		if err != nil {
			return err
		}
		if done && total != int64(amount) {
			return errConflict("Idempotency-Key", "was used for another adjustment (%s)", rating.Money(total).Compact())
		}
	}
	e, err := s.credit.Post(context.WithoutCancel(ctx), routing.BalanceAccount(c.ID), "", store.Entry{
		Kind: routing.KindAdjustment, Key: key, Amount: int64(amount), Reason: in.Reason,
	})
	if err != nil {
		return postError("amount", err)
	}
	if e.Seq == 0 { // a retry: what the first try posted
		e = store.Entry{Kind: routing.KindAdjustment, Key: key, Amount: int64(amount), Reason: in.Reason}
	}
	minor := rating.MinorUnits(c.Currency)
	s.log.Info("balance adjusted", "customer", c.ID, "key", e.Key, "amount", rating.FormatMoney(amount, minor),
		"currency", c.Currency, "reason", in.Reason, "by", who(r))
	writeJSON(w, http.StatusCreated, viewEntry(e, minor))
	return nil
}

// postError is the answer to a ledger Post that failed: a 409 naming field
// when the balance would leave the range a ledger keeps, the error itself
// (a 500) when the store failed.
func postError(field string, err error) error {
	if errors.Is(err, store.ErrBadAmount) {
		return errConflict(field, "the balance would pass the largest amount a ledger keeps (%d units)", store.MaxAmount/rating.Scale)
	}
	return err
}
