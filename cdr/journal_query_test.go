package cdr

import (
	"context"
	"errors"
	"testing"
)

// testSourceQueries runs the Source conformance cases against src, which
// must hold exactly testRecord(0) … testRecord(199): customer i%4, carrier
// i%5, setup time base + i seconds.
func testSourceQueries(t *testing.T, src Source) {
	base := testRecord(0).SetupMs
	tests := []struct {
		name    string
		q       Query
		want    int // records returned
		newest  int // index of the first record returned, -1 for none
		wantErr error
	}{
		{"default limit", Query{}, 100, 199, nil},
		{"limit", Query{Limit: 7}, 7, 199, nil},
		{"limit capped", Query{Limit: 1_000_000}, 200, 199, nil},
		{"offset", Query{Limit: 10, Offset: 195}, 5, 4, nil},
		{"offset past end", Query{Offset: 500}, 0, -1, nil},
		{"customer", Query{CustomerID: "cust-1", Limit: 1000}, 50, 197, nil},
		{"carrier", Query{CarrierID: "carrier-3", Limit: 1000}, 40, 198, nil},
		{"customer and carrier", Query{CustomerID: "cust-0", CarrierID: "carrier-0", Limit: 1000}, 10, 180, nil},
		{"from inclusive", Query{FromMs: base + 190_000}, 10, 199, nil},
		{"to exclusive", Query{ToMs: base + 10_000}, 10, 9, nil},
		{"window", Query{FromMs: base + 10_000, ToMs: base + 20_000}, 10, 19, nil},
		{"window in ms", Query{FromMs: base + 10_001, ToMs: base + 20_001}, 10, 20, nil},
		{"window paged", Query{FromMs: base + 10_000, ToMs: base + 20_000, Limit: 3, Offset: 3}, 3, 16, nil},
		{"final only", Query{FinalOnly: true, Limit: 1000}, 66, 197, nil},
		{"unknown customer", Query{CustomerID: "nobody"}, 0, -1, nil},
		{"hostile customer", Query{CustomerID: `x' OR 1=1 OR customer_id = '\`}, 0, -1, nil},
		{"negative limit", Query{Limit: -1}, 0, -1, ErrBadQuery},
		{"negative offset", Query{Offset: -1}, 0, -1, ErrBadQuery},
		{"inverted window", Query{FromMs: base + 10, ToMs: base}, 0, -1, ErrBadQuery},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := src.Query(context.Background(), tt.q)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Query: %v, want %v", err, tt.wantErr)
			}
			if len(got) != tt.want {
				t.Fatalf("got %d records, want %d", len(got), tt.want)
			}
			if tt.newest >= 0 && got[0] != testRecord(tt.newest) {
				t.Errorf("first record %+v, want %+v", got[0], testRecord(tt.newest))
			}
			for k := 1; k < len(got); k++ {
				if got[k].SetupMs >= got[k-1].SetupMs {
					t.Fatalf("records not newest first at %d", k)
				}
			}
		})
	}
}

func TestJournalQuery(t *testing.T) {
	j := openTestJournal(t, t.TempDir(), WithSegmentSize(2048))
	writeN(t, j, 0, 200)
	testSourceQueries(t, j)
}
