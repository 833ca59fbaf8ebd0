package admin

import (
	"bytes"
	"encoding/json"
	"errors"
	"reflect"
	"testing"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// parseRates is the whole JSON path of PUT /ratecards/{id}/rates short of
// the store: decode the array, decode each row, validate.
func parseRates(body []byte) ([]store.Rate, []RowError, error) {
	var raws []json.RawMessage
	if err := decodeJSON(bytes.NewReader(body), &raws); err != nil {
		return nil, nil, err
	}
	rows, bad := decodeRates(raws)
	bad = append(bad, validRates(rows, bad)...)
	return rows, bad, nil
}

// FuzzRatesJSON checks that any body is either refused with an *Error or
// row errors, or yields rows that keep every promise the rating side relies
// on, and that accepted rows survive a round trip unchanged.
func FuzzRatesJSON(f *testing.F) {
	f.Add([]byte(`[{"prefix":"44","rate":"0.01"}]`))
	f.Add([]byte(`[{"prefix":"4420","description":"UK","rate":"0.0123","connection_fee":"0.01","initial_increment":30,"subsequent_increment":6,"grace":3,"effective_from":1,"effective_to":2,"blocked":true}]`))
	f.Add([]byte(`[{"prefix":"44","rate":"1"},{"prefix":"44","rate":"2"}]`))
	f.Add([]byte(`[null,{},{"prefix":1},{"x":1}]`))
	f.Add([]byte(`{"prefix":"44"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, bad, err := parseRates(body)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Status != 400 || e.Message == "" {
				t.Fatalf("decoding error %v is not a 400 *Error", err)
			}
			return
		}
		for _, b := range bad {
			if b.Row < 0 || b.Row >= len(rows) || b.Reason == "" {
				t.Fatalf("bad row error %+v for %d rows", b, len(rows))
			}
		}
		if len(bad) > 0 {
			return
		}
		seen := map[[2]any]bool{}
		for i, r := range rows {
			if r.Prefix == "" || len(r.Prefix) > maxPrefixLen || !isDigits(r.Prefix) {
				t.Fatalf("row %d: accepted prefix %q", i, r.Prefix)
			}
			if m, err := rating.ParseMoney(r.PerMinute); err != nil || m < 0 || m.String() != r.PerMinute {
				t.Fatalf("row %d: accepted rate %q (%v)", i, r.PerMinute, err)
			}
			if r.ConnectionFee != "" {
				if m, err := rating.ParseMoney(r.ConnectionFee); err != nil || m < 0 || m.String() != r.ConnectionFee {
					t.Fatalf("row %d: accepted connection fee %q (%v)", i, r.ConnectionFee, err)
				}
			}
			if r.Initial < 0 || r.Increment < 0 || r.Grace < 0 || r.From < 0 || (r.To != 0 && r.To <= r.From) {
				t.Fatalf("row %d: accepted %+v", i, r)
			}
			k := [2]any{r.Prefix, r.From}
			if seen[k] {
				t.Fatalf("row %d: accepted a duplicate of %v", i, k)
			}
			seen[k] = true
		}
		again, err := json.Marshal(rows)
		if err != nil {
			t.Fatal(err)
		}
		rows2, bad2, err := parseRates(again)
		if err != nil || len(bad2) > 0 {
			t.Fatalf("accepted rows do not decode again: %v %+v\n%s", err, bad2, again)
		}
		if len(rows) == 0 && len(rows2) == 0 {
			return
		}
		if !reflect.DeepEqual(rows, rows2) {
			t.Fatalf("round trip changed rows:\n%+v\n%+v", rows, rows2)
		}
	})
}
