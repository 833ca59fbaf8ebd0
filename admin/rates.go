package admin

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Rate row limits.
const (
	maxIncrement   = rating.MaxIncrement // seconds, for increments and grace
	maxDescription = rating.MaxDescription
	maxRowErrors   = 1000 // bad rows reported in one response
)

// putRates replaces every row of a card with the JSON array in the body,
// bumps the card's revision and calls OnChange. Rows are checked all at
// once; if any is bad nothing is written and the 400 lists every bad row
// (up to maxRowErrors) by its index in the array.
func (s *Server) putRates(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var raws []json.RawMessage
	if err := decodeBody(w, r, maxRatesBody, &raws); err != nil {
		return err
	}
	if len(raws) == 0 {
		if err := replaceAll(r); err != nil {
			return err
		}
	}
	rows, bad := decodeRates(raws)
	bad = append(bad, validRates(rows, bad)...)
	slices.SortStableFunc(bad, func(a, b RowError) int { return cmp.Compare(a.Row, b.Row) })
	if len(bad) > 0 {
		return rowsError(bad, len(raws))
	}
	var card store.RateCard
	if err := s.write(r, func(ctx context.Context) error {
		var err error
		card, err = s.replaceRates(ctx, id, rows)
		return err
	}); err != nil {
		return err
	}
	s.log.Info("rates replaced", "card", id, "rows", len(rows), "revision", card.Revision)
	writeJSON(w, http.StatusOK, map[string]any{"card_id": card.ID, "revision": card.Revision, "rows": len(rows)})
	return nil
}

// replaceAll lets a deck without rows through only with ?replace_all=true:
// an empty array, a null or a CSV of just its header would otherwise
// wipe a card by mistake.
func replaceAll(r *http.Request) error {
	v := r.URL.Query().Get("replace_all")
	if ok, err := strconv.ParseBool(v); err == nil && ok {
		return nil
	}
	return errInvalid("replace_all", "the deck has no rows: it would remove every row of the card; send ?replace_all=true to do that")
}

// replaceRates stores valid rows as the whole content of card id, sorted by
// prefix and start, and bumps the card's revision. The caller holds the
// write lock and calls OnChange; a CSV upload goes through here too.
func (s *Server) replaceRates(ctx context.Context, id string, rows []store.Rate) (store.RateCard, error) {
	card, err := load[store.RateCard](ctx, s.st, store.RateCards, "rate card", id)
	if err != nil {
		return card, err
	}
	if card.Markup != nil {
		return card, errConflict("", "rate card %s is derived from its provider cards by a markup; it has no rows of its own", id)
	}
	slices.SortStableFunc(rows, func(a, b store.Rate) int {
		return cmp.Or(cmp.Compare(a.Prefix, b.Prefix), cmp.Compare(a.From, b.From))
	})
	if rows == nil {
		rows = []store.Rate{}
	}
	if err := store.PutJSON(ctx, s.st, store.Rates, id, rows); err != nil {
		return card, err
	}
	card.Revision++
	return card, store.PutJSON(ctx, s.st, store.RateCards, id, card)
}

func (s *Server) getRates(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	meta, err := load[store.RateCard](r.Context(), s.st, store.RateCards, "rate card", id)
	if err != nil {
		return err
	}
	rows, err := s.cardRows(r.Context(), meta)
	if err != nil {
		return err
	}
	if q := r.URL.Query(); q.Has("prefix") || q.Has("format") || q.Has("limit") {
		ref := cardRef{meta.ID, meta.Name, meta.Currency}
		return s.writeRates(w, r, ref, []cardRef{ref}, rows)
	}
	if rows == nil {
		rows = []store.Rate{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rates": rows})
	return nil
}

// decodeRates decodes every row on its own, so that a type error or an
// unknown field is reported against its row.
func decodeRates(raws []json.RawMessage) ([]store.Rate, []RowError) {
	rows := make([]store.Rate, len(raws))
	var bad []RowError
	for i, raw := range raws {
		if err := decodeJSON(bytes.NewReader(raw), &rows[i]); err != nil {
			e := asError(err)
			reason := strings.TrimPrefix(e.Message, e.Field+": ")
			if e.Field == "" {
				reason = strings.Replace(reason, "the body must be", "the row must be", 1)
			}
			bad = append(bad, RowError{Row: i, Field: e.Field, Reason: reason})
		}
	}
	return rows, bad
}

// validRates checks every row that decoded (those not in undecoded) and
// rewrites money amounts in canonical form.
func validRates(rows []store.Rate, undecoded []RowError) []RowError {
	var bad []RowError
	type key struct {
		prefix string
		from   int64
	}
	seen := make(map[key]int, len(rows))
	for i := range rows {
		if len(undecoded) > 0 && undecoded[0].Row == i {
			undecoded = undecoded[1:]
			continue
		}
		rw := &rows[i]
		fail := func(field, format string, args ...any) {
			bad = append(bad, RowError{Row: i, Field: field, Reason: fmt.Sprintf(format, args...)})
		}
		if rw.Prefix == "" || len(rw.Prefix) > maxPrefixLen || !isDigits(rw.Prefix) {
			fail("prefix", "must be 1 to %d digits, got %q", maxPrefixLen, rw.Prefix)
		} else if j, dup := seen[key{rw.Prefix, rw.From}]; dup {
			fail("prefix", "prefix %s with effective_from %d repeats row %d", rw.Prefix, rw.From, j)
		} else {
			seen[key{rw.Prefix, rw.From}] = i
		}
		if len(rw.Description) > maxDescription {
			fail("description", "longer than %d bytes", maxDescription)
		} else if why := rating.TextProblem(rw.Description); why != "" {
			fail("description", "%s", why)
		}
		if m, err := rating.ParseMoney(rw.PerMinute); err != nil {
			fail("rate", "%v", err)
		} else if m < 0 {
			fail("rate", "must not be negative, got %s", rw.PerMinute)
		} else {
			rw.PerMinute = m.String()
		}
		if rw.ConnectionFee != "" {
			if m, err := rating.ParseMoney(rw.ConnectionFee); err != nil {
				fail("connection_fee", "%v", err)
			} else if m < 0 {
				fail("connection_fee", "must not be negative, got %s", rw.ConnectionFee)
			} else {
				rw.ConnectionFee = m.String()
			}
		}
		for _, f := range []struct {
			name string
			v    int
		}{{"initial_increment", rw.Initial}, {"subsequent_increment", rw.Increment}, {"grace", rw.Grace}} {
			if f.v < 0 || f.v > maxIncrement {
				fail(f.name, "must be between 0 and %d seconds, got %d", maxIncrement, f.v)
			}
		}
		if rw.From < 0 {
			fail("effective_from", "must not be negative, got %d", rw.From)
		}
		if rw.To < 0 || (rw.To != 0 && rw.To <= rw.From) {
			fail("effective_to", "must be 0 (open) or after effective_from %d, got %d", rw.From, rw.To)
		}
	}
	return bad
}

func rowsError(bad []RowError, total int) *Error {
	rows := 0
	for i := range bad {
		if i == 0 || bad[i].Row != bad[i-1].Row {
			rows++
		}
	}
	msg := fmt.Sprintf("%d of %d rows are invalid; nothing was saved", rows, total)
	if len(bad) > maxRowErrors {
		bad = bad[:maxRowErrors]
		msg += fmt.Sprintf(" (the first %d problems are listed)", maxRowErrors)
	}
	return &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: "rows", Message: msg, Rows: bad}
}
