package cdr

import (
	"context"
	"fmt"
	"math"
	"sort"

	"github.com/trunkline/trunkline/rating"
)

// Summary groups.
const (
	GroupCustomer = "customer" // one attempt per call: the final CDR
	GroupCarrier  = "carrier"  // one attempt per carrier attempt
)

// SummaryQuery selects the CDRs a summary covers. Times are unix
// milliseconds of the setup time, From inclusive and To exclusive; zero
// fields do not filter.
type SummaryQuery struct {
	Group      string // GroupCustomer or GroupCarrier
	CustomerID string
	CarrierID  string
	FromMs     int64
	ToMs       int64
	// BucketMs, when set, splits each row by the time its calls were
	// set up, in buckets of this many milliseconds (the row's AtMs).
	BucketMs int64
}

// Bucket limits: a minute at least, a day at most.
const (
	MinBucketMs = 60_000
	MaxBucketMs = 86_400_000
)

// SummaryRow is the traffic of one customer or carrier in one currency.
// Attempts counts calls for a customer (final CDRs) and routing attempts for
// a carrier. ASR is answered/attempts in percent, ACD the mean answered
// duration in seconds, both rounded to two decimals; Seconds and Billed are
// exact sums, Minutes is Seconds/60 rounded to two decimals. Money sums are
// exact.
type SummaryRow struct {
	Key      string       `json:"key"`
	AtMs     int64        `json:"at_ms,omitempty"` // the bucket's start (with BucketMs)
	Currency string       `json:"currency"`
	Attempts int64        `json:"attempts"`
	Answered int64        `json:"answered"`
	ASR      float64      `json:"asr"`
	ACD      float64      `json:"acd"`
	Seconds  int64        `json:"seconds"`
	Billed   int64        `json:"billed_seconds"`
	Minutes  float64      `json:"minutes"`
	Sell     rating.Money `json:"sell"`
	Buy      rating.Money `json:"buy"`
	Margin   rating.Money `json:"margin"`
	// PDD is the mean post-dial delay (to ringing or answer) in
	// milliseconds of the calls that had one; PDDCalls counts them.
	PDD      float64 `json:"pdd_ms"`
	PDDCalls int64   `json:"pdd_calls"`
	pddSum   int64
}

// Summarizer answers traffic summaries. Implementations are safe for
// concurrent use.
type Summarizer interface {
	Summary(ctx context.Context, q SummaryQuery) ([]SummaryRow, error)
}

// query returns the Query selecting the CDRs of q, or ErrBadQuery.
func (q SummaryQuery) query() (Query, error) {
	if q.Group != GroupCustomer && q.Group != GroupCarrier {
		return Query{}, fmt.Errorf("%w: group %q is not %s or %s", ErrBadQuery, q.Group, GroupCustomer, GroupCarrier)
	}
	if q.BucketMs != 0 && (q.BucketMs < MinBucketMs || q.BucketMs > MaxBucketMs) {
		return Query{}, fmt.Errorf("%w: bucket of %d ms is outside %d..%d", ErrBadQuery, q.BucketMs, MinBucketMs, MaxBucketMs)
	}
	return Query{CustomerID: q.CustomerID, CarrierID: q.CarrierID, FromMs: q.FromMs, ToMs: q.ToMs}.normalized()
}

// counts reports whether r is an attempt of q's group.
func (q SummaryQuery) counts(r *Record) bool {
	if q.Group == GroupCustomer {
		return r.Final
	}
	return r.CarrierID != ""
}

// key returns r's group key.
func (q SummaryQuery) key(r *Record) string {
	if q.Group == GroupCustomer {
		return r.CustomerID
	}
	return r.CarrierID
}

// summaryKey is a summary row's identity: its bucket, key and currency.
type summaryKey struct {
	at            int64
	key, currency string
}

// summaryAcc adds up summary rows by bucket, key and currency.
type summaryAcc map[summaryKey]*SummaryRow

func (a summaryAcc) row(at int64, key, currency string) *SummaryRow {
	k := summaryKey{at, key, currency}
	row := a[k]
	if row == nil {
		row = &SummaryRow{Key: key, Currency: currency, AtMs: at}
		a[k] = row
	}
	return row
}

// bucket is the start of the bucket of setupMs (0 without buckets).
func (q SummaryQuery) bucket(setupMs int64) int64 {
	if q.BucketMs == 0 {
		return 0
	}
	return setupMs / q.BucketMs * q.BucketMs
}

func (a summaryAcc) add(at int64, key string, r *Record) {
	row := a.row(at, key, r.Currency)
	row.Attempts++
	if r.AnswerMs > 0 {
		row.Answered++
	}
	row.Seconds += int64(r.Duration)
	row.Billed += int64(r.Billed)
	row.Sell += r.SellCost
	row.Buy += r.BuyCost
	row.Margin += r.Margin
	if r.PDDMs > 0 {
		row.PDDCalls++
		row.pddSum += r.PDDMs
	}
}

// rows returns the finished rows sorted by key and currency.
func (a summaryAcc) rows() []SummaryRow {
	out := make([]SummaryRow, 0, len(a))
	for _, r := range a {
		out = append(out, r.finish())
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AtMs != out[j].AtMs {
			return out[i].AtMs < out[j].AtMs
		}
		if out[i].Key != out[j].Key {
			return out[i].Key < out[j].Key
		}
		return out[i].Currency < out[j].Currency
	})
	return out
}

func (r SummaryRow) finish() SummaryRow {
	if r.Attempts > 0 {
		r.ASR = round2(float64(r.Answered) * 100 / float64(r.Attempts))
	}
	if r.Answered > 0 {
		r.ACD = round2(float64(r.Seconds) / float64(r.Answered))
	}
	r.Minutes = round2(float64(r.Seconds) / 60)
	if r.PDDCalls > 0 {
		r.PDD = round2(float64(r.pddSum) / float64(r.PDDCalls))
	}
	r.pddSum = 0 // summed: the row is its shown fields
	return r
}

func round2(f float64) float64 { return math.Round(f*100) / 100 }

// Summary implements Summarizer by scanning the journal.
func (j *Journal) Summary(ctx context.Context, sq SummaryQuery) ([]SummaryRow, error) {
	q, err := sq.query()
	if err != nil {
		return nil, err
	}
	acc := summaryAcc{}
	err = Each(ctx, j, q, func(r *Record) error {
		if sq.counts(r) {
			acc.add(sq.bucket(r.SetupMs), sq.key(r), r)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return acc.rows(), nil
}
