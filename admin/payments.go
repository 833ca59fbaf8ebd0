package admin

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"slices"
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// Payment statuses. A payment is created pending or completed; a pending
// one may then be completed or cancelled, once; nothing else changes.
const (
	PaymentPending   = "pending"
	PaymentCompleted = "completed"
	PaymentCancelled = "cancelled"
)

// maxTextLen bounds payment descriptions and adjustment reasons.
const maxTextLen = 256

type paymentInput struct {
	Total       string `json:"total"`
	Description string `json:"description"`
	Status      string `json:"status"`
}

// createPayment records a payment of the customer: pending, or (the
// default) completed at once, which credits its balance.
func (s *Server) createPayment(w http.ResponseWriter, r *http.Request) error {
	if err := s.needCredit(); err != nil {
		return err
	}
	id := r.PathValue("id")
	var in paymentInput
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := oneOf("status", &in.Status, PaymentCompleted, PaymentCompleted, PaymentPending); err != nil {
		return err
	}
	if err := validText("description", in.Description, maxTextLen, false); err != nil {
		return err
	}
	ikey, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	var p store.Payment
	replayed := false
	err = s.locked(r, func(ctx context.Context) error {
		c, err := load[store.Customer](ctx, s.st, store.Customers, "customer", id)
		if err != nil {
			return err
		}
		minor := rating.MinorUnits(c.Currency)
		if in.Total == "" {
			return errInvalid("total", "required")
		}
		total, err := parseAmount("total", in.Total, minor, c.Currency)
		if err != nil {
			return err
		}
		if total <= 0 {
			return errInvalid("total", "must be more than 0, got %q", in.Total)
		}
		pid := store.NewID()
		if ikey != "" {
			// A retried request (same key) finds its payment: the same
			// payment again, never a second one.
			pid = idempotentID(id, ikey)
			old, err := store.GetJSON[store.Payment](ctx, s.st, store.Payments, pid)
			switch {
			case err == nil:
				if old.Total != rating.FormatMoney(total, minor) || old.Description != in.Description {
					return errConflict("Idempotency-Key", "was used for another payment (%s %s)", old.Total, old.Currency)
				}
				p, replayed = old, true
				if in.Status == PaymentCompleted && p.Status == PaymentPending {
					return s.completePayment(ctx, c, &p) // the first try stopped before its completion
				}
				return nil
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		p = store.Payment{
			ID: pid, CustomerID: id, Total: rating.FormatMoney(total, minor),
			Currency: c.Currency, Description: in.Description, Status: PaymentPending,
			Created: time.Now().UnixMilli(),
		}
		// Stored pending first even when completed at once, so that a
		// crash between the ledger and the record leaves a pending
		// payment whose completion posts nothing twice.
		if err := store.PutJSON(ctx, s.st, store.Payments, p.ID, p); err != nil {
			return err
		}
		if in.Status == PaymentCompleted {
			return s.completePayment(ctx, c, &p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("payment created", "customer", id, "payment", p.ID, "status", p.Status,
		"total", p.Total, "net", p.Net, "currency", p.Currency, "replayed", replayed, "by", who(r))
	w.Header().Set("Location", "/api/v1/customers/"+id+"/payments/"+p.ID)
	writeJSON(w, http.StatusCreated, p)
	return nil
}

// completePayment takes the customer's tax out of p's total, credits the
// net to its balance under the payment's key, then stores p completed.
// Posting first makes a retry after a failure safe: the ledger's total
// under the key is set, not added to. The caller holds the write lock.
func (s *Server) completePayment(ctx context.Context, c store.Customer, p *store.Payment) error {
	var pct rating.Percent
	if c.TaxPercent != "" {
		v, err := rating.ParsePercent(c.TaxPercent)
		if err != nil {
			return err
		}
		pct = v
	}
	total, err := rating.ParseMoney(p.Total)
	if err != nil {
		return err
	}
	minor := rating.MinorUnits(p.Currency)
	tax := rating.TaxOut(total, pct, minor)
	net := total - tax
	_, err = s.credit.Post(ctx, routing.BalanceAccount(c.ID), "", store.Entry{
		Kind: routing.KindPayment, Key: routing.PaymentKey(p.ID), Amount: int64(net), Reason: p.Description,
	})
	if err != nil {
		return postError("total", err)
	}
	p.TaxPercent = pct.String()
	p.Tax = rating.FormatMoney(tax, minor)
	p.Net = rating.FormatMoney(net, minor)
	p.Status = PaymentCompleted
	p.Completed = time.Now().UnixMilli()
	return store.PutJSON(ctx, s.st, store.Payments, p.ID, *p)
}

// cancelPayment cancels a pending payment. Should a completion have
// credited it and failed before recording it, the credit is taken back.
func (s *Server) cancelPayment(ctx context.Context, p *store.Payment) error {
	acct, key := routing.BalanceAccount(p.CustomerID), routing.PaymentKey(p.ID)
	posted, _, err := s.credit.Posted(ctx, acct, key)
	if err != nil {
		return err
	}
	if posted != 0 {
		e := store.Entry{Kind: routing.KindPayment, Key: key, Amount: 0, Reason: "payment cancelled"}
		if _, err := s.credit.Post(ctx, acct, "", e); err != nil {
			return err
		}
	}
	p.Status = PaymentCancelled
	return store.PutJSON(ctx, s.st, store.Payments, p.ID, *p)
}

// putPayment moves a payment to the status in the body: pending →
// completed or cancelled. Asking for the status it has is a no-op, so a
// repeated or raced completion credits once and answers the same payment.
func (s *Server) putPayment(w http.ResponseWriter, r *http.Request) error {
	if err := s.needCredit(); err != nil {
		return err
	}
	var in struct {
		Status string `json:"status"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if in.Status == "" {
		return errInvalid("status", "required")
	}
	if err := oneOf("status", &in.Status, "", PaymentPending, PaymentCompleted, PaymentCancelled); err != nil {
		return err
	}
	var (
		p    store.Payment
		from string
	)
	err := s.locked(r, func(ctx context.Context) error {
		c, err := load[store.Customer](ctx, s.st, store.Customers, "customer", r.PathValue("id"))
		if err != nil {
			return err
		}
		if p, err = s.loadPayment(ctx, c.ID, r.PathValue("pid")); err != nil {
			return err
		}
		from = p.Status
		switch {
		case p.Status == in.Status:
			return nil
		case p.Status == PaymentPending && in.Status == PaymentCompleted:
			return s.completePayment(ctx, c, &p)
		case p.Status == PaymentPending && in.Status == PaymentCancelled:
			return s.cancelPayment(ctx, &p)
		}
		return errConflict("status", "payment %s is %s; it cannot become %s", p.ID, p.Status, in.Status)
	})
	if err != nil {
		return err
	}
	if from != p.Status {
		s.log.Info("payment "+p.Status, "customer", p.CustomerID, "payment", p.ID,
			"total", p.Total, "net", p.Net, "currency", p.Currency, "by", who(r))
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// listPayments answers the customer's payments, newest first.
func (s *Server) listPayments(w http.ResponseWriter, r *http.Request) error {
	if err := s.needCredit(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", id); err != nil {
		return err
	}
	ps, err := listWhere(r.Context(), s.st, store.Payments, func(p store.Payment) bool { return p.CustomerID == id })
	if err != nil {
		return err
	}
	slices.SortFunc(ps, func(a, b store.Payment) int {
		return cmp.Or(cmp.Compare(b.Created, a.Created), cmp.Compare(b.ID, a.ID))
	})
	if ps == nil {
		ps = []store.Payment{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"payments": ps})
	return nil
}

func (s *Server) getPayment(w http.ResponseWriter, r *http.Request) error {
	if err := s.needCredit(); err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", id); err != nil {
		return err
	}
	p, err := s.loadPayment(r.Context(), id, r.PathValue("pid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// loadPayment reads payment pid of customer id; another customer's
// payment is not found.
func (s *Server) loadPayment(ctx context.Context, id, pid string) (store.Payment, error) {
	p, err := load[store.Payment](ctx, s.st, store.Payments, "payment", pid)
	if err == nil && p.CustomerID != id {
		return store.Payment{}, errNotFound("payment", pid)
	}
	return p, err
}

// who names the principal of r for logs.
func who(r *http.Request) string {
	p := principalOf(r)
	if p.username != "" {
		return p.username
	}
	return "token:" + p.tokenID
}

// idempotencyKey reads the request's Idempotency-Key header: "" when it has
// none; printable ASCII, at most 128 bytes.
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if len(k) > 128 {
		return "", errInvalid("Idempotency-Key", "longer than 128 bytes")
	}
	for i := 0; i < len(k); i++ {
		if k[i] < 0x21 || k[i] > 0x7e {
			return "", errInvalid("Idempotency-Key", "only printable ASCII without spaces")
		}
	}
	return k, nil
}

// idempotentID is the id of what a customer's request with idempotency key
// k creates: the same for every retry of it.
func idempotentID(customerID, k string) string {
	sum := sha256.Sum256([]byte(customerID + "\x00" + k))
	return "ik" + hex.EncodeToString(sum[:12])
}
