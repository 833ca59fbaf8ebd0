package cdr

import (
	"context"
	"errors"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
)

// A batch is one group commit: every record in it is durable and read back
// in order, except one too large, which fails alone.
func TestJournalWriteAll(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	j := openTestJournal(t, dir, WithRegisterer(reg), WithCommitDelay(0))
	rs := make([]Record, 5)
	for i := range rs {
		rs[i] = testRecord(i)
	}
	rs[2].Trace = string(make([]byte, MaxRecordSize))
	errs := j.WriteAll(context.Background(), rs)
	if len(errs) != len(rs) {
		t.Fatalf("WriteAll returned %d errors for %d records", len(errs), len(rs))
	}
	for i, err := range errs {
		if (i == 2) != (err != nil) || (i == 2 && !errors.Is(err, ErrRecordTooLarge)) {
			t.Errorf("record %d: %v", i, err)
		}
	}
	var m dto.Metric
	if err := j.m.groupSize.(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	if h := m.GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() != 4 {
		t.Errorf("group commits: %d of %v records in all, want one of 4", h.GetSampleCount(), h.GetSampleSum())
	}
	if got := testutil.ToFloat64(j.m.appended); got != 4 {
		t.Errorf("appended metric = %v, want 4", got)
	}
	j.Close()

	j = openTestJournal(t, dir)
	r, err := j.Reader("check")
	if err != nil {
		t.Fatal(err)
	}
	got, _ := readAll(t, r)
	want := []Record{rs[0], rs[1], rs[3], rs[4]}
	if len(got) != len(want) {
		t.Fatalf("read %d records after reopening, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("record %d = %s, want %s", i, got[i].CallID, want[i].CallID)
		}
	}
	if errs := j.WriteAll(context.Background(), want); errs != nil {
		t.Errorf("WriteAll of good records: %v", errs)
	}
	j.Close()
	for i, err := range j.WriteAll(context.Background(), want) {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("record %d after Close: %v, want ErrClosed", i, err)
		}
	}
}
