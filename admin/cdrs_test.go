package admin_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/cdr"
)

// fakeCDRs answers every query with its records and remembers the query.
type fakeCDRs struct {
	mu   sync.Mutex
	last cdr.Query
	recs []cdr.Record
	err  error
}

func (f *fakeCDRs) Query(ctx context.Context, q cdr.Query) ([]cdr.Record, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.last = q
	return f.recs, f.err
}

func TestCDRs(t *testing.T) {
	src := &fakeCDRs{recs: []cdr.Record{
		{CallID: "a@x", Attempt: 1, Final: true, CustomerID: "c1", CarrierID: "k1", SetupMs: 1700000000000, SellCost: 12300, SIPCallID: "leg-1@pbx"},
	}}
	e := newEnv(t, admin.WithCDRs(src))
	from := time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name  string
		query string
		want  cdr.Query
		field string // a 400 on this field when set
	}{
		{"defaults", "", cdr.Query{Limit: 100}, ""},
		{"filters", "?customer=c1&carrier=k1&limit=5&offset=10", cdr.Query{CustomerID: "c1", CarrierID: "k1", Limit: 5, Offset: 10}, ""},
		{"unix ms", "?from=1700000000000&to=1700000001000", cdr.Query{FromMs: 1700000000000, ToMs: 1700000001000, Limit: 100}, ""},
		{"rfc 3339 empty range", "?from=2024-01-02T03:04:05Z&to=2024-01-02T04:04:05%2B01:00", cdr.Query{}, "to"},
		{"bad from", "?from=yesterday", cdr.Query{}, "from"},
		{"bad to", "?to=2024-13-01T00:00:00Z", cdr.Query{}, "to"},
		{"to before from", "?from=2000&to=1000", cdr.Query{}, "to"},
		{"limit zero", "?limit=0", cdr.Query{}, "limit"},
		{"limit huge", "?limit=100001", cdr.Query{}, "limit"},
		{"limit text", "?limit=ten", cdr.Query{}, "limit"},
		{"negative offset", "?offset=-1", cdr.Query{}, "offset"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := e.req("GET", "/api/v1/cdrs"+tt.query, nil)
			if tt.field != "" {
				wantError(t, w, 400, admin.CodeInvalid, tt.field)
				return
			}
			wantStatus(t, w, 200)
			var body struct{ CDRs []cdr.Record }
			decode(t, w, &body)
			if len(body.CDRs) != 1 || body.CDRs[0].CallID != "a@x" || body.CDRs[0].SellCost != 12300 || body.CDRs[0].SIPCallID != "leg-1@pbx" {
				t.Errorf("cdrs = %+v", body.CDRs)
			}
			if src.last != tt.want {
				t.Errorf("query = %+v, want %+v", src.last, tt.want)
			}
		})
	}

	// RFC 3339 with an offset, both ends.
	w := e.req("GET", "/api/v1/cdrs?from=2024-01-02T03:04:05Z&to=2024-01-02T05:04:05%2B01:00", nil)
	wantStatus(t, w, 200)
	if want := (cdr.Query{FromMs: from.UnixMilli(), ToMs: from.Add(time.Hour).UnixMilli(), Limit: 100}); src.last != want {
		t.Errorf("query = %+v, want %+v", src.last, want)
	}

	// A CDR without the customer's Call-ID (written before it was recorded)
	// leaves sip_call_id out.
	src.recs[0].SIPCallID = ""
	w = e.req("GET", "/api/v1/cdrs", nil)
	wantStatus(t, w, 200)
	if strings.Contains(w.Body.String(), "sip_call_id") {
		t.Errorf("empty sip_call_id is written: %s", w.Body)
	}

	src.recs = nil
	w = e.req("GET", "/api/v1/cdrs", nil)
	wantStatus(t, w, 200)
	if got := w.Body.String(); got[:10] != `{"cdrs":[]` {
		t.Errorf("no records = %s, want an empty array", got)
	}

	src.err = errors.New("clickhouse down")
	wantError(t, e.req("GET", "/api/v1/cdrs", nil), 500, admin.CodeInternal, "")
}

func TestCDRsWithoutSource(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.req("GET", "/api/v1/cdrs", nil), 503, admin.CodeUnavailable, "")
}
