package admin

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/trunkline/trunkline/cdr"
)

// A customer's token sees its own calls, CDRs, routes and account, never
// the operator's side of them: which carrier carried a call, what it cost,
// the margin, and the routing and margin rules behind them. Every JSON
// answer to a customer token loses these keys, wherever they are nested,
// and its CDR CSV loses these columns; a field added later under one of
// these names is hidden too.
var buySideKeys = map[string]bool{
	"carrier_id": true, "carriers": true, "buy_rate": true, "buy_cost": true, "margin": true,
	"trace": true, "pin": true, "block": true, "strategy": true, "min_margin": true, "min_margin_percent": true,
	// A carrier's own reason phrase, the attempt count (failovers) and the
	// node are the operator's too: the customer has the SIP code.
	"reason": true, "attempt": true, "node": true,
}

// customerWriter marks the answer to a customer token.
type customerWriter struct{ http.ResponseWriter }

// Unwrap lets http.ResponseController reach the connection's writer.
func (w *customerWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// forCustomer reports whether w answers a customer token.
func forCustomer(w http.ResponseWriter) bool {
	for {
		switch x := w.(type) {
		case *customerWriter:
			return true
		case interface{ forCustomer() bool }:
			return x.forCustomer()
		case interface{ Unwrap() http.ResponseWriter }:
			w = x.Unwrap()
		default:
			return false
		}
	}
}

// hideBuySide returns the JSON b without the buy-side keys.
func hideBuySide(b []byte) ([]byte, error) {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber() // money and ids pass through as they were
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, err
	}
	scrub(v, buySideKeys, func(m map[string]any, k string) { delete(m, k) })
	return json.Marshal(v)
}

// customerColumns drops the buy-side columns from a CDR CSV's fields;
// with none left (or none given) a customer gets its default columns
// (cdr.CustomerDefaultFields, as its exports do), never "every column".
func customerColumns(fields []string) []string {
	out := slices.DeleteFunc(slices.Clone(fields), func(f string) bool { return buySideKeys[f] })
	if len(out) == 0 {
		out = cdr.CustomerDefaultFields()
	}
	return out
}

// scrub calls act on every key of keys in decoded JSON v, wherever nested
// (act may delete or replace it; what it leaves is not walked into).
func scrub(v any, keys map[string]bool, act func(m map[string]any, k string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			if keys[k] {
				act(x, k)
			} else {
				scrub(e, keys, act)
			}
		}
	case []any:
		for _, e := range x {
			scrub(e, keys, act)
		}
	}
}
