package admin_test

import (
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/cdr"
)

// TestCDRsFromJournal lists CDRs written to a real journal.
func TestCDRsFromJournal(t *testing.T) {
	j, err := cdr.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	for i, cust := range []string{"c1", "c2", "c1"} {
		r := cdr.Record{CallID: "call-" + cust, Attempt: i + 1, Final: true, CustomerID: cust, CarrierID: "k1",
			SetupMs: 1_700_000_000_000 + int64(i)*1000, Currency: "EUR", SellCost: 1500}
		if err := j.Write(t.Context(), r); err != nil {
			t.Fatal(err)
		}
	}
	e := newEnv(t, admin.WithCDRs(j))
	tests := []struct {
		query string
		want  int
	}{
		{"", 3},
		{"?customer=c1", 2},
		{"?customer=c2&carrier=k1", 1},
		{"?carrier=nope", 0},
		{"?from=1700000001000", 2},
		{"?from=2023-11-14T22:13:20Z&to=1700000001000", 1},
		{"?limit=1", 1},
		{"?limit=2&offset=2", 1},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			w := e.req("GET", "/api/v1/cdrs"+tt.query, nil)
			wantStatus(t, w, 200)
			var body struct{ CDRs []cdr.Record }
			decode(t, w, &body)
			if len(body.CDRs) != tt.want {
				t.Errorf("%d cdrs, want %d: %+v", len(body.CDRs), tt.want, body.CDRs)
			}
			for _, r := range body.CDRs {
				if r.SellCost != 1500 || r.Currency != "EUR" {
					t.Errorf("record %+v lost its money", r)
				}
			}
		})
	}
	wantError(t, e.req("GET", "/api/v1/cdrs?from=1969-12-31T00:00:00Z", nil), 400, admin.CodeInvalid, "from")
}
