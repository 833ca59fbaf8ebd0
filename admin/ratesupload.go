package admin

import (
	"bytes"
	"context"
	"errors"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// maxDiffEntries caps the changed rows listed in an upload's diff; the
// counts always cover every row.
const maxDiffEntries = 1000

// uploadReport is the answer to a CSV upload: the importer's per-line
// report, the diff against the card as it was, and what was stored.
type uploadReport struct {
	CardID   string         `json:"card_id"`
	DryRun   bool           `json:"dry_run"`
	Stored   bool           `json:"stored"`
	Revision int            `json:"revision"`
	Report   *rating.Report `json:"report"`
	Diff     *diffJSON      `json:"diff,omitempty"`
}

// diffJSON is rating.Diff as JSON: counts by kind of change and the first
// maxDiffEntries changed rows.
type diffJSON struct {
	Counts    map[string]int `json:"counts"`
	Entries   []diffEntry    `json:"entries"`
	Truncated bool           `json:"truncated,omitempty"`
}

type diffEntry struct {
	Change  string `json:"change"`
	Prefix  string `json:"prefix"`
	From    int64  `json:"effective_from,omitempty"`
	OldRate string `json:"old_rate,omitempty"`
	NewRate string `json:"new_rate,omitempty"`
	OldFee  string `json:"old_connection_fee,omitempty"`
	NewFee  string `json:"new_connection_fee,omitempty"`
}

func newDiffJSON(d rating.Diff) *diffJSON {
	out := &diffJSON{Counts: map[string]int{}, Entries: []diffEntry{}}
	for c := rating.Unchanged; c <= rating.Changed; c++ {
		out.Counts[c.String()] = d.Count(c)
	}
	for i, e := range d.Entries {
		if i == maxDiffEntries {
			out.Truncated = true
			break
		}
		de := diffEntry{Change: e.Change.String()}
		if e.Old != nil {
			de.Prefix, de.From = e.Old.Prefix, e.Old.From
			de.OldRate, de.OldFee = e.Old.PerMinute.String(), e.Old.ConnectionFee.String()
		}
		if e.New != nil {
			de.Prefix, de.From = e.New.Prefix, e.New.From
			de.NewRate, de.NewFee = e.New.PerMinute.String(), e.New.ConnectionFee.String()
		}
		out.Entries = append(out.Entries, de)
	}
	return out
}

// errDeckRejected ends an upload whose report lists problems; the handler
// answers 400 with the report.
var errDeckRejected = errors.New("rate deck rejected")

// postRates imports a CSV rate deck into card id (POST with Content-Type
// text/csv). The deck is checked line by line and diffed against the card
// as stored; ?dry_run=true answers the report and diff only. Otherwise a
// deck without problems replaces the card's rows through replaceRates
// (revision bump, then OnChange, so the switch swaps the card whole). A
// deck with problems answers 400 with the report and stores nothing.
func (s *Server) postRates(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	if ct := r.Header.Get("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "text/csv" && mt != "application/csv" && mt != "text/plain") {
			return errStatus(http.StatusUnsupportedMediaType, CodeUnsupportedType,
				"content type %q is not supported; send text/csv (or PUT application/json)", ct)
		}
	}
	dryRun := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return errInvalid("dry_run", "must be true or false, got %q", v)
		}
		dryRun = b
	}
	deck, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRatesBody))
	if err != nil {
		var maxErr *http.MaxBytesError
		if errors.As(err, &maxErr) {
			return errStatus(http.StatusRequestEntityTooLarge, CodeTooLarge, "request body larger than %d bytes", maxErr.Limit)
		}
		return errStatus(http.StatusBadRequest, CodeInvalid, "reading the deck: %v", err)
	}
	res := uploadReport{CardID: id, DryRun: dryRun}
	importDeck := func(ctx context.Context) ([]store.Rate, error) {
		meta, err := load[store.RateCard](ctx, s.st, store.RateCards, "rate card", id)
		if err != nil {
			return nil, err
		}
		if meta.Markup != nil {
			return nil, errConflict("", "rate card %s is derived from its provider cards by a markup; it has no rows of its own", id)
		}
		current, set, err := s.ratingCard(ctx, meta)
		if err != nil {
			return nil, err
		}
		card, rep, err := rating.ImportCSV(bytes.NewReader(deck), set, current)
		if err != nil {
			return nil, errInvalid("deck", "%v", err)
		}
		res.Revision, res.Report = meta.Revision, rep
		if len(rep.Problems) > maxRowErrors {
			rep.Problems = rep.Problems[:maxRowErrors]
		}
		if !rep.OK() {
			return nil, errDeckRejected
		}
		if rep.Rows == 0 && !dryRun {
			if err := replaceAll(r); err != nil {
				return nil, err
			}
		}
		res.Diff = newDiffJSON(rep.Diff)
		return storeRates(card.Rows()), nil
	}
	if dryRun {
		if _, err := importDeck(r.Context()); err != nil && !errors.Is(err, errDeckRejected) {
			return err
		}
	} else {
		err = s.write(r, func(ctx context.Context) error {
			rows, err := importDeck(ctx)
			if err != nil {
				return err
			}
			card, err := s.replaceRates(ctx, id, rows)
			res.Revision, res.Stored = card.Revision, err == nil
			return err
		})
		if err != nil && !errors.Is(err, errDeckRejected) {
			return err
		}
	}
	if res.Report != nil && !res.Report.OK() {
		msg := strconv.Itoa(len(res.Report.Problems)) + " problems in the deck; nothing was saved"
		if dryRun {
			msg = strconv.Itoa(len(res.Report.Problems)) + " problems in the deck"
		}
		writeJSON(w, http.StatusBadRequest, map[string]any{
			"error":  &Error{Status: http.StatusBadRequest, Code: CodeInvalid, Field: "deck", Message: msg},
			"report": res,
		})
		return nil
	}
	if res.Stored {
		s.log.Info("rate deck imported", "card", id, "rows", res.Report.Rows, "revision", res.Revision)
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// ratingRows converts stored rates into rating rows.
func ratingRows(rates []store.Rate) ([]rating.Row, error) {
	out := make([]rating.Row, len(rates))
	for i, rt := range rates {
		per, err := rating.ParseMoney(rt.PerMinute)
		if err != nil {
			return nil, err
		}
		var fee rating.Money
		if strings.TrimSpace(rt.ConnectionFee) != "" {
			if fee, err = rating.ParseMoney(rt.ConnectionFee); err != nil {
				return nil, err
			}
		}
		out[i] = rating.Row{Prefix: rt.Prefix, Description: rt.Description, PerMinute: per, ConnectionFee: fee,
			Initial: int32(rt.Initial), Increment: int32(rt.Increment), Grace: int32(rt.Grace),
			From: rt.From, To: rt.To, Blocked: rt.Blocked}
	}
	return out, nil
}

// storeRates converts rating rows into stored rates, amounts in canonical
// form.
func storeRates(rows []rating.Row) []store.Rate {
	out := make([]store.Rate, len(rows))
	for i, r := range rows {
		out[i] = store.Rate{Prefix: r.Prefix, Description: r.Description, PerMinute: r.PerMinute.String(),
			Initial: int(r.Initial), Increment: int(r.Increment), Grace: int(r.Grace),
			From: r.From, To: r.To, Blocked: r.Blocked}
		if r.ConnectionFee != 0 {
			out[i].ConnectionFee = r.ConnectionFee.String()
		}
	}
	return out
}

// ratingSettings returns the rating settings of a stored card.
func ratingSettings(meta store.RateCard) (rating.Settings, error) {
	rd := rating.RoundHalfUp
	if meta.Rounding != "" {
		var err error
		if rd, err = rating.ParseRounding(meta.Rounding); err != nil {
			return rating.Settings{}, err
		}
	}
	return rating.Settings{ID: meta.ID, Revision: meta.Revision, Currency: meta.Currency,
		Precision: meta.Precision, Rounding: rd}, nil
}

// ratingCard builds the card as stored, with its settings.
func (s *Server) ratingCard(ctx context.Context, meta store.RateCard) (*rating.Card, rating.Settings, error) {
	set, err := ratingSettings(meta)
	if err != nil {
		return nil, set, err
	}
	rates, err := store.GetJSON[[]store.Rate](ctx, s.st, store.Rates, meta.ID)
	if err != nil && !isNotFound(err) {
		return nil, set, err
	}
	rows, err := ratingRows(rates)
	if err != nil {
		return nil, set, err
	}
	c, err := rating.NewCard(set, rows)
	return c, set, err
}
