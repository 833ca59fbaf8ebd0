package cdr

import (
	"context"
	"testing"

	"github.com/trunkline/trunkline/rating"
)

// A CDR written again with the same (call_id, attempt) — a re-rated one —
// replaces the earlier version in queries; other CDRs are untouched.
func TestJournalQueryKeepsNewestVersion(t *testing.T) {
	j := openTestJournal(t, t.TempDir())
	ctx := context.Background()
	first, other := testRecord(1), testRecord(2)
	for _, r := range []Record{first, other} {
		if err := j.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	rerated := first
	rerated.SellCost = first.SellCost + rating.Money(1000)
	rerated.Trace = "re-rated"
	if err := j.Write(ctx, rerated); err != nil {
		t.Fatal(err)
	}
	recs, err := j.Query(ctx, Query{Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 2 {
		t.Fatalf("got %d records, want 2: %+v", len(recs), recs)
	}
	for _, r := range recs {
		if r.CallID == first.CallID && r.Attempt == first.Attempt && (r.SellCost != rerated.SellCost || r.Trace != "re-rated") {
			t.Fatalf("old version returned: %+v", r)
		}
	}
}
