package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// WithCredit serves customers' balances, payments and ledgers from c, the
// switch's runtime money state. Without it customer responses carry no
// money fields and the payment and ledger endpoints answer 503.
func WithCredit(c store.Credit) Option { return func(s *Server) { s.credit = c } }

func (s *Server) needCredit() error {
	if s.credit == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no credit store is configured")
	}
	return nil
}

// customerView is a customer as responses show it: the record plus its
// money state, in its currency. The money fields are read-only and absent
// without a credit store; the daily spend ones only appear for a customer
// with a daily_spend_limit.
type customerView struct {
	store.Customer
	Balance             string    `json:"balance,omitempty"`
	Reserved            string    `json:"reserved,omitempty"`
	Available           string    `json:"available,omitempty"` // balance − reserved
	SpentToday          string    `json:"spent_today,omitempty"`
	DailySpendAvailable string    `json:"daily_spend_available,omitempty"`
	Warnings            []Warning `json:"warnings"`
}

// customerInput is what a customer request body decodes into: the record
// and, accepted so that a GET → PUT round trip works but ignored, the
// read-only money fields. Any other unknown field is still refused.
type customerInput struct {
	*store.Customer
	Balance             json.RawMessage `json:"balance"`
	Reserved            json.RawMessage `json:"reserved"`
	Available           json.RawMessage `json:"available"`
	SpentToday          json.RawMessage `json:"spent_today"`
	DailySpendAvailable json.RawMessage `json:"daily_spend_available"`
	Warnings            json.RawMessage `json:"warnings"`
}

// viewCustomer adds c's money state at now to c.
func (s *Server) viewCustomer(ctx context.Context, c store.Customer, now time.Time) (customerView, error) {
	v, err := s.viewCustomerMoney(ctx, c, now)
	if err != nil {
		return v, err
	}
	idx, err := s.configIndex(ctx)
	if err != nil {
		return v, err
	}
	available := v.Available
	if s.credit == nil {
		available = ""
	}
	v.Warnings = s.customerWarnings(idx, c, available)
	return v, nil
}

// viewCustomerMoney adds c's money state at now to c.
func (s *Server) viewCustomerMoney(ctx context.Context, c store.Customer, now time.Time) (customerView, error) {
	v := customerView{Customer: c}
	if s.credit == nil {
		return v, nil
	}
	minor := rating.MinorUnits(c.Currency)
	acct, err := s.credit.Account(ctx, routing.BalanceAccount(c.ID))
	if err != nil {
		return v, err
	}
	v.Balance = rating.FormatMoney(rating.Money(acct.Balance), minor)
	v.Reserved = rating.FormatMoney(rating.Money(acct.Reserved), minor)
	v.Available = rating.FormatMoney(rating.Money(acct.Balance-acct.Reserved), minor)
	if c.DailySpendLimit == "" {
		return v, nil
	}
	limit, err := rating.ParseMoney(c.DailySpendLimit)
	if err != nil {
		return v, err
	}
	// The spend account's balance is minus the day's charges; its holds
	// are what live calls may still spend.
	day, err := s.credit.Account(ctx, routing.SpendAccount(c, now))
	if err != nil {
		return v, err
	}
	v.SpentToday = rating.FormatMoney(rating.Money(-day.Balance), minor)
	v.DailySpendAvailable = rating.FormatMoney(limit+rating.Money(day.Balance-day.Reserved), minor)
	return v, nil
}

// validMoneySettings checks c's money fields, each "" or a decimal string:
// percentages from 0 to 100, amounts ≥ 0, the credit limit in the
// currency's minor unit.
func validMoneySettings(c *store.Customer) error {
	for _, f := range []struct{ name, v string }{
		{"tax_percent", c.TaxPercent},
		{"min_margin_percent", c.MinMarginPercent},
	} {
		if f.v == "" {
			continue
		}
		if _, err := rating.ParsePercent(f.v); err != nil {
			return errInvalid(f.name, "must be a percentage from 0 to 100 with at most %d decimals, got %q", rating.Digits, f.v)
		}
	}
	for _, f := range []struct {
		name, v  string
		decimals int
	}{
		{"credit_limit", c.CreditLimit, rating.MinorUnits(c.Currency)},
		{"max_call_cost", c.MaxCallCost, rating.Digits},
		{"max_rate", c.MaxRate, rating.Digits},
		{"daily_spend_limit", c.DailySpendLimit, rating.Digits},
		{"min_margin", c.MinMargin, rating.Digits},
	} {
		if f.v == "" {
			continue
		}
		m, err := parseAmount(f.name, f.v, f.decimals, c.Currency)
		if err != nil {
			return err
		}
		if m < 0 {
			return errInvalid(f.name, "must not be negative, got %q", f.v)
		}
	}
	return nil
}

// parseAmount reads a money amount written as plain decimal digits with an
// optional leading '-' and at most decimals decimal places (those of the
// currency's minor unit for amounts that are paid or credited).
func parseAmount(field, s string, decimals int, currency string) (rating.Money, error) {
	if !isDecimal(s) {
		return 0, errInvalid(field, "must be a decimal amount such as \"12.50\", got %q", s)
	}
	if d := rating.Decimals(s); d > decimals {
		if decimals < rating.Digits {
			return 0, errInvalid(field, "%s has at most %d decimal places, got %q", currency, decimals, s)
		}
		return 0, errInvalid(field, "at most %d decimal places, got %q", decimals, s)
	}
	m, err := rating.ParseMoney(s)
	if err != nil {
		return 0, errInvalid(field, "%v", err)
	}
	return m, nil
}

// isDecimal reports whether s is [-]digits[.digits].
func isDecimal(s string) bool {
	if len(s) > 0 && s[0] == '-' {
		s = s[1:]
	}
	whole, frac, dot := strings.Cut(s, ".")
	return whole != "" && isDigits(whole) && (!dot || (frac != "" && isDigits(frac)))
}

// validText checks a free-text field: at most max bytes of valid UTF-8
// without control characters; required refuses "".
func validText(field, s string, max int, required bool) error {
	switch {
	case required && s == "":
		return errInvalid(field, "required")
	case len(s) > max:
		return errInvalid(field, "longer than %d bytes", max)
	case !utf8.ValidString(s):
		return errInvalid(field, "must be valid UTF-8")
	}
	for _, r := range s {
		if unicode.IsControl(r) {
			return errInvalid(field, "must be UTF-8 text without control characters")
		}
	}
	return nil
}
