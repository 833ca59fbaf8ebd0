package cdr

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/trunkline/trunkline/rating"
)

// testRecord returns a distinct, fully populated record.
func testRecord(i int) Record {
	return Record{
		CallID:      fmt.Sprintf("call-%06d@test.example", i),
		Attempt:     1 + i%3,
		Final:       i%3 == 2,
		Node:        "node-1",
		CustomerID:  fmt.Sprintf("cust-%d", i%4),
		AuthMethod:  "ip",
		CarrierID:   fmt.Sprintf("carrier-%d", i%5),
		SourceIP:    "192.0.2.10",
		Caller:      "442071234567",
		Callee:      "4915112345678",
		Prefix:      "49151",
		Description: "Germany Mobile",
		SetupMs:     1_700_000_000_000 + int64(i)*1000,
		AnswerMs:    1_700_000_002_000 + int64(i)*1000,
		EndMs:       1_700_000_062_000 + int64(i)*1000,
		PDDMs:       1800,
		Duration:    60,
		Billed:      60,
		SIPCode:     200,
		Reason:      "OK",
		HangupSide:  "customer",
		Currency:    "EUR",
		SellRate:    rating.Money(12_300 + i),
		SellCost:    rating.Money(12_300),
		BuyRate:     rating.Money(9_000),
		BuyCost:     rating.Money(-9_000),
		Margin:      rating.Money(3_300),
		Trace:       "card=7 rev=3 inc=60/60",
		// Customers reuse Call-IDs: fifty for two hundred calls.
		SIPCallID: fmt.Sprintf("%08x-leg@pbx.example", i%50),
	}
}

func openTestJournal(t testing.TB, dir string, opts ...JournalOption) *Journal {
	t.Helper()
	j, err := OpenJournal(dir, opts...)
	if err != nil {
		t.Fatalf("OpenJournal: %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j
}

func writeN(t testing.TB, j *Journal, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		if err := j.Write(context.Background(), testRecord(i)); err != nil {
			t.Fatalf("Write %d: %v", i, err)
		}
	}
}

// readAll drains a reader without committing.
func readAll(t testing.TB, r *Reader) ([]Record, Position) {
	t.Helper()
	var all []Record
	var pos Position
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		recs, p, err := r.Next(ctx, 7)
		cancel()
		if errors.Is(err, context.DeadlineExceeded) {
			return all, pos
		}
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		all, pos = append(all, recs...), p
	}
}

func segmentFiles(t testing.TB, dir string) []uint64 {
	t.Helper()
	seqs, err := listSegments(dir)
	if err != nil {
		t.Fatal(err)
	}
	return seqs
}

func TestJournalWriteThenQuery(t *testing.T) {
	j := openTestJournal(t, t.TempDir())
	writeN(t, j, 0, 10)
	got, err := j.Query(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 10 {
		t.Fatalf("got %d records, want 10", len(got))
	}
	for k, r := range got {
		if want := testRecord(9 - k); r != want {
			t.Errorf("record %d = %+v, want %+v", k, r, want)
		}
	}
}

func TestJournalCrashRecovery(t *testing.T) {
	tests := []struct {
		name    string
		corrupt func(t *testing.T, path string, lastFrame int64)
		keep    int // complete records expected after reopening
	}{
		{"torn last frame", func(t *testing.T, path string, last int64) { truncateBy(t, path, 5) }, 9},
		{"torn header of last frame", func(t *testing.T, path string, last int64) { truncateTo(t, path, last+3) }, 9},
		{"bad checksum in last frame", func(t *testing.T, path string, last int64) { flipByte(t, path, last+frameHeaderSize+2) }, 9},
		{"garbage after last frame", func(t *testing.T, path string, last int64) { appendBytes(t, path, []byte{7, 0, 0, 0, 1, 2}) }, 10},
		{"zero-filled tail", func(t *testing.T, path string, last int64) { appendBytes(t, path, make([]byte, 4096)) }, 10},
		{"clean", func(t *testing.T, path string, last int64) {}, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			j, err := OpenJournal(dir)
			if err != nil {
				t.Fatal(err)
			}
			writeN(t, j, 0, 9)
			last := j.size
			writeN(t, j, 9, 1)
			j.Close()
			path := filepath.Join(dir, segmentName(1))
			tt.corrupt(t, path, last)

			j = openTestJournal(t, dir)
			got, err := j.Query(context.Background(), Query{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != tt.keep {
				t.Fatalf("after recovery: %d records, want %d", len(got), tt.keep)
			}
			if got[0] != testRecord(tt.keep-1) {
				t.Errorf("newest record = %+v, want %+v", got[0], testRecord(tt.keep-1))
			}
			writeN(t, j, 100, 2)
			j.Close()
			j = openTestJournal(t, dir)
			got, _ = j.Query(context.Background(), Query{})
			if len(got) != tt.keep+2 || got[0] != testRecord(101) {
				t.Fatalf("after new writes and reopen: %d records, newest %q", len(got), got[0].CallID)
			}
		})
	}
}

func truncateBy(t *testing.T, path string, n int64) {
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	truncateTo(t, path, fi.Size()-n)
}

func truncateTo(t *testing.T, path string, size int64) {
	if err := os.Truncate(path, size); err != nil {
		t.Fatal(err)
	}
}

func flipByte(t *testing.T, path string, off int64) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := make([]byte, 1)
	if _, err := f.ReadAt(b, off); err != nil {
		t.Fatal(err)
	}
	b[0] ^= 0xff
	if _, err := f.WriteAt(b, off); err != nil {
		t.Fatal(err)
	}
}

func appendBytes(t *testing.T, path string, b []byte) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(b); err != nil {
		t.Fatal(err)
	}
}

func TestJournalTornSegmentHeader(t *testing.T) {
	dir := t.TempDir()
	j := openTestJournal(t, dir, WithSegmentSize(300))
	writeN(t, j, 0, 3)
	j.Close()
	seqs := segmentFiles(t, dir)
	next := seqs[len(seqs)-1] + 1
	// A crash while creating the next segment leaves part of its header.
	if err := os.WriteFile(filepath.Join(dir, segmentName(next)), segmentMagic[:3], 0o640); err != nil {
		t.Fatal(err)
	}
	j = openTestJournal(t, dir, WithSegmentSize(300))
	writeN(t, j, 3, 1)
	got, err := j.Query(context.Background(), Query{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("got %d records, want 4", len(got))
	}
}

func TestJournalNotASegment(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, segmentName(1)), []byte("hello, this is not a journal"), 0o640); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenJournal(dir); err == nil {
		t.Fatal("OpenJournal accepted a foreign file")
	}
}

func TestJournalLocked(t *testing.T) {
	dir := t.TempDir()
	openTestJournal(t, dir)
	if _, err := OpenJournal(dir); !errors.Is(err, ErrLocked) {
		t.Fatalf("second OpenJournal: %v, want ErrLocked", err)
	}
}

func TestJournalClosed(t *testing.T) {
	j := openTestJournal(t, t.TempDir())
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Write(context.Background(), testRecord(1)); !errors.Is(err, ErrClosed) {
		t.Fatalf("Write after Close: %v, want ErrClosed", err)
	}
	if err := j.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestJournalRecordTooLarge(t *testing.T) {
	j := openTestJournal(t, t.TempDir())
	r := testRecord(1)
	r.Trace = string(make([]byte, MaxRecordSize))
	if err := j.Write(context.Background(), r); !errors.Is(err, ErrRecordTooLarge) {
		t.Fatalf("Write: %v, want ErrRecordTooLarge", err)
	}
}

func TestJournalConcurrentWriters(t *testing.T) {
	reg := prometheus.NewRegistry()
	dir := t.TempDir()
	j := openTestJournal(t, dir, WithSegmentSize(64<<10), WithRegisterer(reg))
	const writers, each = 16, 250
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if err := j.Write(context.Background(), testRecord(w*each+i)); err != nil {
					t.Errorf("Write: %v", err)
					return
				}
			}
		})
	}
	wg.Wait()
	if got := testutil.ToFloat64(j.m.appended); got != writers*each {
		t.Errorf("appended metric = %v, want %d", got, writers*each)
	}
	r, err := j.Reader("check")
	if err != nil {
		t.Fatal(err)
	}
	recs, _ := readAll(t, r)
	seen := make(map[string]bool)
	for _, rec := range recs {
		if seen[rec.CallID] {
			t.Fatalf("duplicate %s", rec.CallID)
		}
		seen[rec.CallID] = true
	}
	if len(seen) != writers*each {
		t.Fatalf("read %d distinct records, want %d", len(seen), writers*each)
	}
	if n := len(segmentFiles(t, dir)); n < 2 {
		t.Errorf("%d segments, want rotation", n)
	}
}
