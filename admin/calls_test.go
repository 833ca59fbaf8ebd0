package admin_test

import (
	"context"
	"errors"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/cdr"
)

// fakeCalls is a switch's call table: Calls filters its calls as sip's
// does, Hangup removes one.
type fakeCalls struct {
	mu      sync.Mutex
	calls   []cdr.ActiveCall // newest first
	hung    []string
	err     error
	missing int // nodes that did not answer
}

func (f *fakeCalls) Calls(_ context.Context, flt cdr.CallFilter) ([]cdr.ActiveCall, int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []cdr.ActiveCall
	for _, c := range f.calls {
		if (flt.CallID == "" || c.ID == flt.CallID) && (flt.CustomerID == "" || c.CustomerID == flt.CustomerID) &&
			(flt.CarrierID == "" || c.CarrierID == flt.CarrierID) && (flt.Limit == 0 || len(out) < flt.Limit) {
			out = append(out, c)
		}
	}
	return out, f.missing, nil
}

func (f *fakeCalls) Hangup(_ context.Context, id string) (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return false, f.err
	}
	i := slices.IndexFunc(f.calls, func(c cdr.ActiveCall) bool { return c.ID == id })
	if i < 0 {
		return false, nil
	}
	f.calls = slices.Delete(f.calls, i, i+1)
	f.hung = append(f.hung, id)
	return true, nil
}

func TestCallsAPI(t *testing.T) {
	t.Parallel()
	calls := &fakeCalls{}
	e := newEnv(t, cheapArgon, admin.WithLiveCalls(calls))
	a := e.create("/api/v1/customers", map[string]any{"name": "A", "currency": "EUR"})
	b := e.create("/api/v1/customers", map[string]any{"name": "B", "currency": "EUR"})
	calls.calls = []cdr.ActiveCall{
		{ID: "b1", CustomerID: b, CarrierID: "k2", State: "ringing", SetupMs: 3},
		{ID: "a2", CustomerID: a, CarrierID: "k1", State: "answered", SetupMs: 2, AnswerMs: 2, Duration: 7, SellRate: 10000, BuyRate: 5000, Currency: "EUR"},
		{ID: "a1", CustomerID: a, CarrierID: "k2", State: "trying", SetupMs: 1},
	}
	e.newUser("ro", "read-only", "")
	e.newUser("cust", "customer", a)
	ro, cu := e.tokenFor("ro"), e.tokenFor("cust")

	list := func(token, query string) []string {
		t.Helper()
		w := e.send("GET", "/api/v1/calls"+query, nil, "Bearer "+token, "")
		wantStatus(t, w, http.StatusOK)
		var v struct{ Calls []map[string]any }
		decode(t, w, &v)
		var ids []string
		for _, c := range v.Calls {
			ids = append(ids, c["id"].(string))
		}
		return ids
	}
	for _, tt := range []struct {
		name, token, query string
		want               []string
	}{
		{"admin sees all", e.token, "", []string{"b1", "a2", "a1"}},
		{"by customer", e.token, "?customer=" + a, []string{"a2", "a1"}},
		{"by carrier", e.token, "?carrier=k2", []string{"b1", "a1"}},
		{"limit", e.token, "?limit=1", []string{"b1"}},
		{"read-only sees all", ro, "", []string{"b1", "a2", "a1"}},
		{"customer sees its own", cu, "", []string{"a2", "a1"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := list(tt.token, tt.query); !slices.Equal(got, tt.want) {
				t.Fatalf("GET /api/v1/calls%s = %v, want %v", tt.query, got, tt.want)
			}
		})
	}

	w := e.req("GET", "/api/v1/calls?customer="+a+"&carrier=k1", nil)
	var v struct{ Calls []map[string]any }
	decode(t, w, &v)
	want := map[string]any{"id": "a2", "sip_call_id": "", "customer_id": a, "carrier_id": "k1", "caller": "", "callee": "",
		"state": "answered", "setup_ms": 2.0, "answer_ms": 2.0, "duration_s": 7.0, "currency": "EUR",
		"sell_rate": "0.010000", "buy_rate": "0.005000", "node": "", "attempt": 0.0}
	if len(v.Calls) != 1 || len(v.Calls[0]) != len(want) {
		t.Fatalf("calls %v, want %v", v.Calls, want)
	}
	for k, x := range want {
		if v.Calls[0][k] != x {
			t.Errorf("%s = %v, want %v", k, v.Calls[0][k], x)
		}
	}

	wantError(t, e.req("GET", "/api/v1/calls?limit=0", nil), http.StatusBadRequest, admin.CodeInvalid, "limit")
	wantError(t, e.send("GET", "/api/v1/calls?customer="+b, nil, "Bearer "+cu, ""), http.StatusForbidden, admin.CodeForbidden, "")
	wantError(t, e.send("GET", "/api/v1/calls?carrier=k2", nil, "Bearer "+cu, ""), http.StatusForbidden, admin.CodeForbidden, "")
	wantError(t, e.send("DELETE", "/api/v1/calls/a1", nil, "Bearer "+ro, ""), http.StatusForbidden, admin.CodeForbidden, "")
	wantError(t, e.send("DELETE", "/api/v1/calls/b1", nil, "Bearer "+cu, ""), http.StatusNotFound, admin.CodeNotFound, "")
	wantError(t, e.req("DELETE", "/api/v1/calls/nope", nil), http.StatusNotFound, admin.CodeNotFound, "")
	wantStatus(t, e.send("DELETE", "/api/v1/calls/a1", nil, "Bearer "+cu, ""), http.StatusNoContent)
	wantStatus(t, e.req("DELETE", "/api/v1/calls/b1", nil), http.StatusNoContent)
	wantError(t, e.req("DELETE", "/api/v1/calls/b1", nil), http.StatusNotFound, admin.CodeNotFound, "")
	if !slices.Equal(calls.hung, []string{"a1", "b1"}) {
		t.Fatalf("hung up %v, want [a1 b1]", calls.hung)
	}
	calls.err = errors.New("switch closed")
	wantError(t, e.req("DELETE", "/api/v1/calls/a2", nil), http.StatusServiceUnavailable, admin.CodeUnavailable, "")

	// A node that did not answer: the listing says it is partial, and a
	// customer's hangup of a call not found is not a 404.
	calls.mu.Lock()
	calls.missing, calls.err = 1, nil
	calls.mu.Unlock()
	w = e.req("GET", "/api/v1/calls", nil)
	wantStatus(t, w, http.StatusOK)
	var partial struct {
		Calls        []map[string]any
		NodesMissing int `json:"nodes_missing"`
	}
	decode(t, w, &partial)
	if w.Header().Get("Trunkline-Nodes-Missing") != "1" || partial.NodesMissing != 1 || len(partial.Calls) != 1 {
		t.Fatalf("partial listing: header %q, body %+v", w.Header().Get("Trunkline-Nodes-Missing"), partial)
	}
	wantError(t, e.send("DELETE", "/api/v1/calls/gone", nil, "Bearer "+cu, ""), http.StatusServiceUnavailable, admin.CodeUnavailable, "")
}

func TestCallsAPIWithoutSwitch(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	wantError(t, e.req("GET", "/api/v1/calls", nil), http.StatusServiceUnavailable, admin.CodeUnavailable, "")
	wantError(t, e.req("DELETE", "/api/v1/calls/x", nil), http.StatusServiceUnavailable, admin.CodeUnavailable, "")
}
