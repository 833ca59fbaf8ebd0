package admin

import (
	"context"
	"errors"
	"strings"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip/border"
	"github.com/trunkline/trunkline/store"
)

// Limits on what the API accepts.
const (
	maxNameLen   = 200
	maxPrefixLen = 24
	maxLimit     = 1_000_000 // channel and CPS limits
)

// validName checks a name: not blank, at most maxNameLen bytes, plain
// text (no NUL, CR, LF or other control characters: names go into logs,
// CSV files and SIP headers).
func validName(field, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return errInvalid(field, "required")
	case len(name) > maxNameLen:
		return errInvalid(field, "longer than %d bytes", maxNameLen)
	}
	if why := rating.TextProblem(name); why != "" {
		return errInvalid(field, "%s", why)
	}
	return nil
}

// validNameCurrency checks a record's name and currency; on a change
// (old != nil) a value kept as it was passes even if stored before today's
// rules, so an old record can still be edited (suspended, say).
func validNameCurrency(name, currency string, old *[2]string) error {
	if old == nil || name != old[0] {
		if err := validName("name", name); err != nil {
			return err
		}
	}
	if old == nil || currency != old[1] {
		return validCurrency("currency", currency)
	}
	return nil
}

// validCurrency accepts an ISO 4217 currency code in use (EUR, USD, …).
func validCurrency(field, c string) error {
	if !rating.IsCurrency(c) {
		return errInvalid(field, "must be an ISO 4217 currency code such as USD or EUR, got %q", c)
	}
	return nil
}

// validHeaders checks header names an operator lets cross the switch:
// header tokens that are not among those that never cross.
func validHeaders(field string, names []string) error {
	if len(names) > 32 {
		return errInvalid(field, "at most 32 headers, got %d", len(names))
	}
	if _, err := border.Default().With(border.ToCarrier, names); err != nil {
		return errInvalid(field, "%v", err)
	}
	return nil
}

// validTranslations checks number translation rules as routing compiles
// them: at most routing.MaxRules, one operation each, regular expressions
// that compile (RE2, linear time) within routing.MaxRuleText bytes.
func validTranslations(field string, rules []store.Translation) error {
	if _, err := routing.CompileTranslations(rules); err != nil {
		return errInvalid(field, "%v", err)
	}
	return nil
}

func validLimit(field string, n int) error {
	if n < 0 || n > maxLimit {
		return errInvalid(field, "must be between 0 and %d, got %d", maxLimit, n)
	}
	return nil
}

// oneOf checks v against allowed; an empty v becomes def.
func oneOf(field string, v *string, def string, allowed ...string) error {
	if *v == "" {
		*v = def
	}
	for _, a := range allowed {
		if *v == a {
			return nil
		}
	}
	return errInvalid(field, "must be one of %s, got %q", strings.Join(allowed, ", "), *v)
}

// validMediaRelay checks a customer's or carrier's media relay setting:
// empty (auto), auto, always or never.
func validMediaRelay(v string) error {
	switch v {
	case "", store.MediaRelayAuto, store.MediaRelayAlways, store.MediaRelayNever:
		return nil
	}
	return errInvalid("media_relay", "must be one of auto, always, never, got %q", v)
}

// checkID rejects a body id that is not the one the server uses.
func checkID(bodyID, want string) error {
	if bodyID != "" && bodyID != want {
		if want == "" {
			return errInvalid("id", "is assigned by the server")
		}
		return errInvalid("id", "%q does not match the path id %q", bodyID, want)
	}
	return nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func isUpper(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 'A' || s[i] > 'Z' {
			return false
		}
	}
	return true
}

// load reads coll/id as T, turning ErrNotFound into a 404 naming kind.
func load[T any](ctx context.Context, st store.Store, coll, kind, id string) (T, error) {
	v, err := store.GetJSON[T](ctx, st, coll, id)
	if errors.Is(err, store.ErrNotFound) {
		return v, errNotFound(kind, id)
	}
	return v, err
}

// remove deletes coll/id, turning ErrNotFound into a 404 naming kind.
func remove(ctx context.Context, st store.Store, coll, kind, id string) error {
	err := st.Delete(ctx, coll, id)
	if errors.Is(err, store.ErrNotFound) {
		return errNotFound(kind, id)
	}
	return err
}

// listWhere returns the documents of coll for which keep is true.
func listWhere[T any](ctx context.Context, st store.Store, coll string, keep func(T) bool) ([]T, error) {
	all, err := store.ListJSON[T](ctx, st, coll)
	if err != nil {
		return nil, err
	}
	out := all[:0]
	for _, v := range all {
		if keep(v) {
			out = append(out, v)
		}
	}
	return out, nil
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
