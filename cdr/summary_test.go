package cdr

import (
	"context"
	"errors"
	"reflect"
	"testing"

	"github.com/trunkline/trunkline/rating"
)

// variedRecord is testRecord(i) with a callee, SIP code and answer that
// vary: every third attempt is unanswered with 486 and costs nothing.
func variedRecord(i int) Record {
	r := testRecord(i)
	r.PDDMs = int64(i%7) * 150 // some with none
	if i%2 == 1 {
		r.Callee = "4420" + r.Callee[4:]
	}
	if i%3 == 0 {
		r.AnswerMs, r.Duration, r.Billed, r.SIPCode = 0, 0, 0, 486
		r.SellCost, r.BuyCost, r.Margin = 0, 0, 0
	} else {
		r.Duration, r.Billed = 1+i%50, 60
	}
	return r
}

func variedRecords(n int) []Record {
	recs := make([]Record, n)
	for i := range recs {
		recs[i] = variedRecord(i)
	}
	return recs
}

// testFilters checks the callee, SIP code and answered filters of src,
// which holds variedRecords(200).
func testFilters(t *testing.T, src Source, recs []Record) {
	yes, no := true, false
	tests := []struct {
		name string
		q    Query
	}{
		{"callee prefix", Query{CalleePrefix: "4420"}},
		{"callee prefix full", Query{CalleePrefix: "4915112345678"}},
		{"sip code", Query{SIPCode: 486}},
		{"answered", Query{Answered: &yes}},
		{"unanswered", Query{Answered: &no}},
		{"combined", Query{CustomerID: "cust-1", CalleePrefix: "44", Answered: &yes, SIPCode: 200}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := 0
			for i := range recs {
				if tt.q.match(&recs[i]) {
					want++
				}
			}
			var got int
			err := Each(context.Background(), src, tt.q, func(r *Record) error {
				if !tt.q.match(r) {
					t.Errorf("record does not match: %+v", r)
				}
				got++
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if got != want || want == 0 {
				t.Errorf("got %d records, want %d (> 0)", got, want)
			}
		})
	}
	for _, q := range []Query{{CalleePrefix: "44%"}, {CalleePrefix: "x"}, {SIPCode: 42}} {
		if _, err := src.Query(context.Background(), q); !errors.Is(err, ErrBadQuery) {
			t.Errorf("Query(%+v): %v, want ErrBadQuery", q, err)
		}
	}
}

// testSummary checks both summary groups of s, which holds recs.
func testSummary(t *testing.T, s Summarizer, recs []Record) {
	base := recs[0].SetupMs
	for _, sq := range []SummaryQuery{
		{Group: GroupCustomer},
		{Group: GroupCarrier},
		{Group: GroupCarrier, CustomerID: "cust-2", FromMs: base + 10_000, ToMs: base + 150_000},
		{Group: GroupCustomer, BucketMs: MinBucketMs},
		{Group: GroupCarrier, BucketMs: 2 * MinBucketMs, CarrierID: "carrier-1"},
	} {
		want := summaryAcc{}
		q, _ := sq.query()
		for i := range recs {
			if q.match(&recs[i]) && sq.counts(&recs[i]) {
				want.add(sq.bucket(recs[i].SetupMs), sq.key(&recs[i]), &recs[i])
			}
		}
		got, err := s.Summary(context.Background(), sq)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want.rows()) || len(got) == 0 {
			t.Errorf("Summary(%+v):\n got %+v\nwant %+v", sq, got, want.rows())
		}
	}
	if _, err := s.Summary(context.Background(), SummaryQuery{Group: "node"}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("bad group: %v, want ErrBadQuery", err)
	}
	if _, err := s.Summary(context.Background(), SummaryQuery{Group: GroupCustomer, BucketMs: 1000}); !errors.Is(err, ErrBadQuery) {
		t.Errorf("a one-second bucket: %v, want ErrBadQuery", err)
	}
}

func TestSummaryRowFinish(t *testing.T) {
	r := SummaryRow{Attempts: 3, Answered: 2, Seconds: 125, Sell: rating.Money(1)}.finish()
	if r.ASR != 66.67 || r.ACD != 62.5 || r.Minutes != 2.08 {
		t.Errorf("finish: %+v", r)
	}
}

func TestJournalFiltersAndSummary(t *testing.T) {
	j := openTestJournal(t, t.TempDir(), WithSegmentSize(4096))
	recs := variedRecords(200)
	for _, r := range recs {
		if err := j.Write(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	testFilters(t, j, recs)
	testSummary(t, j, recs)
}

func TestClickHouseFiltersAndSummary(t *testing.T) {
	ch, _, _ := testClickHouse(t)
	recs := variedRecords(200)
	for range 2 { // duplicates must not count twice
		if err := ch.WriteBatch(context.Background(), recs); err != nil {
			t.Fatal(err)
		}
	}
	testFilters(t, ch, recs)
	testSummary(t, ch, recs)
}
