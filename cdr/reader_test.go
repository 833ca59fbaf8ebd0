package cdr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReaderCommitRemovesSegments(t *testing.T) {
	dir := t.TempDir()
	j := openTestJournal(t, dir, WithSegmentSize(1024))
	a, err := j.Reader("clickhouse")
	if err != nil {
		t.Fatal(err)
	}
	b, err := j.Reader("files")
	if err != nil {
		t.Fatal(err)
	}
	writeN(t, j, 0, 100)
	before := segmentFiles(t, dir)
	if len(before) < 5 {
		t.Fatalf("%d segments, want rotation at 1 KiB", len(before))
	}

	recsA, posA := readAll(t, a)
	if len(recsA) != 100 {
		t.Fatalf("reader a read %d records, want 100", len(recsA))
	}
	for i, r := range recsA {
		if r != testRecord(i) {
			t.Fatalf("reader a record %d = %q, want %q", i, r.CallID, testRecord(i).CallID)
		}
	}
	if err := a.Commit(posA); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); len(got) != len(before) {
		t.Fatalf("segments removed while reader b has committed nothing: %v", got)
	}

	// b commits half way: segments before b's segment go.
	recsB, _, err := b.Next(context.Background(), 50)
	if err != nil || len(recsB) != 50 {
		t.Fatalf("b.Next: %d records, %v", len(recsB), err)
	}
	b.Rewind()
	recsB, posB, err := b.Next(context.Background(), 50)
	if err != nil || len(recsB) != 50 || recsB[0] != testRecord(0) {
		t.Fatalf("b.Next after Rewind: %d records, %v", len(recsB), err)
	}
	if err := b.Commit(posB); err != nil {
		t.Fatal(err)
	}
	got := segmentFiles(t, dir)
	if got[0] != posB.Segment {
		t.Fatalf("oldest segment %d, want %d (b's committed segment)", got[0], posB.Segment)
	}

	// After a restart b resumes from its committed position.
	j.Close()
	j = openTestJournal(t, dir, WithSegmentSize(1024))
	b, err = j.Reader("files")
	if err != nil {
		t.Fatal(err)
	}
	rest, posB := readAll(t, b)
	if len(rest) != 50 || rest[0] != testRecord(50) {
		t.Fatalf("b after restart read %d records starting %q, want 50 from call 50", len(rest), rest[0].CallID)
	}
	if err := b.Commit(posB); err != nil {
		t.Fatal(err)
	}
	if got := segmentFiles(t, dir); len(got) != 1 {
		t.Fatalf("segments %v, want only the active one", got)
	}
	writeN(t, j, 100, 1)
	a, _ = j.Reader("clickhouse")
	if recs, _ := readAll(t, a); len(recs) != 1 || recs[0] != testRecord(100) {
		t.Fatalf("reader a after restart: %d records", len(recs))
	}
}

func TestJournalKeepsSegments(t *testing.T) {
	tests := []struct {
		name   string
		opts   []JournalOption
		reader bool
	}{
		{"no reader registered", nil, false},
		{"retention", []JournalOption{WithRetention(time.Hour)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			j := openTestJournal(t, dir, append(tt.opts, WithSegmentSize(1024))...)
			writeN(t, j, 0, 50)
			before := segmentFiles(t, dir)
			if tt.reader {
				r, _ := j.Reader("x")
				_, pos := readAll(t, r)
				if err := r.Commit(pos); err != nil {
					t.Fatal(err)
				}
			}
			writeN(t, j, 50, 50)
			if got := segmentFiles(t, dir); got[0] != before[0] {
				t.Fatalf("oldest segment %d removed", before[0])
			}
			if got, _ := j.Query(context.Background(), Query{Limit: 1000}); len(got) != 100 {
				t.Fatalf("query found %d, want 100", len(got))
			}
		})
	}
}

func TestRemoveReaderReleasesSegments(t *testing.T) {
	dir := t.TempDir()
	j := openTestJournal(t, dir, WithSegmentSize(1024))
	keep, _ := j.Reader("keep")
	if _, err := j.Reader("gone"); err != nil {
		t.Fatal(err)
	}
	writeN(t, j, 0, 50)
	_, pos := readAll(t, keep)
	if err := keep.Commit(pos); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n < 2 {
		t.Fatalf("%d segments, reader gone should hold them", n)
	}
	if err := j.RemoveReader("gone"); err != nil {
		t.Fatal(err)
	}
	if n := len(segmentFiles(t, dir)); n != 1 {
		t.Fatalf("%d segments after RemoveReader, want 1", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "gone"+readerExt)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("position file of removed reader: %v", err)
	}
}

func TestReaderNextBlocks(t *testing.T) {
	j := openTestJournal(t, t.TempDir(), WithPollInterval(time.Hour))
	r, err := j.Reader("x")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan []Record)
	go func() {
		recs, _, err := r.Next(context.Background(), 10)
		if err != nil {
			t.Errorf("Next: %v", err)
		}
		done <- recs
	}()
	time.Sleep(20 * time.Millisecond)
	writeN(t, j, 0, 1)
	select {
	case recs := <-done:
		if len(recs) != 1 {
			t.Fatalf("Next returned %d records", len(recs))
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Next was not woken by Write")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if _, _, err := r.Next(ctx, 10); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Next on an idle journal: %v", err)
	}
	go func() { time.Sleep(10 * time.Millisecond); j.Close() }()
	if _, _, err := r.Next(context.Background(), 10); !errors.Is(err, ErrClosed) {
		t.Fatalf("Next on a closing journal: %v", err)
	}
}

func TestReaderValidation(t *testing.T) {
	j := openTestJournal(t, t.TempDir())
	for _, name := range []string{"", "a/b", "../x", "a b", string(make([]byte, 65))} {
		if _, err := j.Reader(name); !errors.Is(err, ErrBadReaderName) {
			t.Errorf("Reader(%q): %v, want ErrBadReaderName", name, err)
		}
	}
	r, _ := j.Reader("ok")
	if err := r.Commit(Position{Segment: 99, Offset: 8}); err == nil {
		t.Error("Commit past the end succeeded")
	}
}

// The backlog in records: what a reader has not committed, counted by the
// mean size of the CDRs written; it falls to 0 once all are committed.
func TestBacklogRecords(t *testing.T) {
	reg := prometheus.NewRegistry()
	j, err := OpenJournal(t.TempDir(), WithRegisterer(reg), WithCommitDelay(0))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	r, err := j.Reader("clickhouse")
	if err != nil {
		t.Fatal(err)
	}
	for i := range 10 {
		if err := j.Write(t.Context(), Record{CallID: fmt.Sprint("c", i), Attempt: 1, Final: true, CustomerID: "k"}); err != nil {
			t.Fatal(err)
		}
	}
	gauge := func() float64 {
		return testutil.ToFloat64(j.m.backlogRecs.WithLabelValues("clickhouse"))
	}
	if n := gauge(); n < 9 || n > 11 {
		t.Fatalf("backlog of 10 written CDRs reads %v records", n)
	}
	recs, pos, err := r.Next(t.Context(), 100)
	if err != nil || len(recs) != 10 {
		t.Fatalf("read %d: %v", len(recs), err)
	}
	if err := r.Commit(pos); err != nil {
		t.Fatal(err)
	}
	if n := gauge(); n != 0 {
		t.Fatalf("backlog after the commit: %v records", n)
	}
}
