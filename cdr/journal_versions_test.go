package cdr

import (
	"context"
	"os"
	"path/filepath"
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

// A journal written by the release before SIPCallID was appended opens
// without a torn tail, its CDRs read back with SIPCallID "", and new CDRs
// are appended after them with the field.
func TestJournalReadsSegmentWithoutSIPCallID(t *testing.T) {
	dir := t.TempDir()
	seg := segmentMagic[:]
	var old []Record
	for i := range 3 {
		r := testRecord(i)
		seg = appendPayloadFrame(seg, withoutSIPCallID(t, r))
		r.SIPCallID = ""
		old = append(old, r)
	}
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), seg, 0o644); err != nil {
		t.Fatal(err)
	}
	j := openTestJournal(t, dir)
	ctx := context.Background()
	if err := j.Write(ctx, testRecord(3)); err != nil {
		t.Fatal(err)
	}
	got, err := j.Query(ctx, Query{})
	if err != nil {
		t.Fatal(err)
	}
	want := []Record{testRecord(3), old[2], old[1], old[0]}
	if len(got) != len(want) {
		t.Fatalf("got %d records, want %d: %+v", len(got), len(want), got)
	}
	for k := range want {
		if got[k] != want[k] {
			t.Errorf("record %d:\n got %+v\nwant %+v", k, got[k], want[k])
		}
	}
	if _, err := os.Stat(filepath.Join(dir, segmentName(1)+".torn")); !os.IsNotExist(err) {
		t.Errorf("old segment was cut as torn: %v", err)
	}
}
