package admin

import (
	"context"
	"encoding/csv"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Rows a JSON page of rates carries, unless ?limit= says otherwise.
const (
	defaultRatesPage = 1000
	maxRatesPage     = 100_000
)

// rateCSVHeader is the header of a rates download; an upload reads it back.
var rateCSVHeader = []string{"prefix", "description", "rate", "connection_fee", "initial_increment", "increment",
	"grace", "effective_from", "effective_to", "blocked"}

// WithLiveCard lets the API read a rate card as the switch rates with it
// (a marked-up card's rows derived from its provider cards); nil: the
// card is not loaded.
func WithLiveCard(fn func(cardID string) *rating.Card) Option {
	return func(s *Server) { s.liveCard = fn }
}

// cardRows returns a card's rows: its own, or those derived by its markup.
func (s *Server) cardRows(ctx context.Context, meta store.RateCard) ([]store.Rate, error) {
	if meta.Markup != nil {
		if s.liveCard == nil {
			return nil, nil
		}
		c := s.liveCard(meta.ID)
		if c == nil {
			return nil, nil
		}
		return storeRates(c.Rows()), nil
	}
	rows, err := store.GetJSON[[]store.Rate](ctx, s.st, store.Rates, meta.ID)
	if err != nil && !isNotFound(err) {
		return nil, err
	}
	return rows, nil
}

// cardRef names a card in a listing of rates.
type cardRef struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Currency string `json:"currency"`
}

// getCustomerRates answers the rates a customer is charged: the rows of
// the card of one of its routes (?card=, by default the first route's),
// narrowed by ?prefix=, as JSON pages or a CSV download (?format=csv).
func (s *Server) getCustomerRates(w http.ResponseWriter, r *http.Request) error {
	routes, err := s.customerRoutes(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	slices.SortFunc(routes, func(a, b store.Route) int { return strings.Compare(a.Prefix, b.Prefix) })
	var cards []cardRef
	var metas []store.RateCard
	for _, rt := range routes {
		if slices.ContainsFunc(cards, func(c cardRef) bool { return c.ID == rt.CardID }) {
			continue
		}
		m, err := load[store.RateCard](r.Context(), s.st, store.RateCards, "rate card", rt.CardID)
		if isNotFoundErr(err) {
			continue
		}
		if err != nil {
			return err
		}
		cards, metas = append(cards, cardRef{m.ID, m.Name, m.Currency}), append(metas, m)
	}
	if len(metas) == 0 {
		writeJSON(w, http.StatusOK, map[string]any{"cards": []cardRef{}, "rates": []store.Rate{}, "total": 0})
		return nil
	}
	i := 0
	if want := r.URL.Query().Get("card"); want != "" {
		if i = slices.IndexFunc(cards, func(c cardRef) bool { return c.ID == want }); i < 0 {
			return errNotFound("rate card of this customer", want)
		}
	}
	rows, err := s.cardRows(r.Context(), metas[i])
	if err != nil {
		return err
	}
	return s.writeRates(w, r, cards[i], cards, rows)
}

// writeRates answers rows of card: those whose prefix starts with
// ?prefix=, all as CSV with ?format=csv, else a JSON page of ?limit=.
func (s *Server) writeRates(w http.ResponseWriter, r *http.Request, card cardRef, cards []cardRef, rows []store.Rate) error {
	q := r.URL.Query()
	if p := q.Get("prefix"); p != "" {
		if len(p) > maxPrefixLen || !isDigits(p) {
			return errInvalid("prefix", "digits only, at most %d", maxPrefixLen)
		}
		kept := rows[:0:0]
		for _, x := range rows {
			if strings.HasPrefix(x.Prefix, p) {
				kept = append(kept, x)
			}
		}
		rows = kept
	}
	switch q.Get("format") {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
		w.Header().Set("Content-Disposition", `attachment; filename="rates-`+card.ID+`.csv"`)
		cw := csv.NewWriter(w)
		cw.Write(rateCSVHeader)
		for _, x := range rows {
			cw.Write([]string{x.Prefix, cdr.Inert(x.Description), x.PerMinute, x.ConnectionFee, incrementOr(x.Initial, rating.DefaultInitial), incrementOr(x.Increment, rating.DefaultIncrement),
				itoaOr(x.Grace), unixOr(x.From), unixOr(x.To), strconv.FormatBool(x.Blocked)})
		}
		cw.Flush()
		return nil
	case "", "json":
	default:
		return errInvalid("format", "csv or json, got %q", q.Get("format"))
	}
	limit := defaultRatesPage
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxRatesPage {
			return errInvalid("limit", "1 to %d", maxRatesPage)
		}
		limit = n
	}
	total := len(rows)
	if rows == nil {
		rows = []store.Rate{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"card": card, "cards": cards, "rates": rows[:min(limit, total)],
		"total": total, "truncated": total > limit})
	return nil
}

// incrementOr is a billing increment as the card applies it (0 takes the
// default), so a download says what a call is billed by.
func incrementOr(n int, def int32) string {
	if n == 0 {
		n = int(def)
	}
	return strconv.Itoa(n)
}

func itoaOr(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func unixOr(t int64) string {
	if t == 0 {
		return ""
	}
	return time.Unix(t, 0).UTC().Format(time.RFC3339)
}
