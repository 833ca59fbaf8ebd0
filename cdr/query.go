package cdr

import "context"

// Query selects CDRs. Zero fields do not filter. Times are unix milliseconds
// of the setup time, From inclusive and To exclusive.
type Query struct {
	CustomerID string
	CarrierID  string
	FromMs     int64
	ToMs       int64
	// CalleePrefix keeps CDRs whose normalised callee starts with these
	// digits.
	CalleePrefix string
	// SIPCode keeps CDRs with this final SIP status code.
	SIPCode int
	// Answered, when not nil, keeps only answered (true) or only unanswered
	// (false) attempts.
	Answered *bool
	// FinalOnly keeps each call's final CDR, not its earlier attempts
	// (what a customer sees: which carriers failed over is the operator's).
	FinalOnly bool
	Limit     int // 0 means a default of 100
	Offset    int
}

// Source answers CDR queries. Implementations are safe for concurrent use.
type Source interface {
	Query(ctx context.Context, q Query) ([]Record, error)
}

// Sink takes finished CDRs. Write returns once the record is durable; an
// error means the record was not kept and the caller must report it.
type Sink interface {
	Write(ctx context.Context, r Record) error
}

// GroupSink is a Sink that also writes many records in one step (the
// Journal: one group commit): nil, or each record's error.
type GroupSink interface {
	Sink
	WriteAll(ctx context.Context, rs []Record) []error
}

// eacher is a Source that can stream every match of a query in one pass:
// the Journal and ClickHouse are.
type eacher interface {
	each(ctx context.Context, q Query, fn func(r *Record) error) error
}

// Each calls fn for every record matching q (ignoring q's paging), in the
// order Query returns them, stopping at the first error fn or src returns.
// The Journal and ClickHouse stream their records in one pass; any other
// Source is read page by page.
func Each(ctx context.Context, src Source, q Query, fn func(r *Record) error) error {
	q.Limit, q.Offset = MaxQueryLimit, 0
	if e, ok := src.(eacher); ok {
		q, err := q.normalized()
		if err != nil {
			return err
		}
		return e.each(ctx, q, fn)
	}
	for {
		recs, err := src.Query(ctx, q)
		if err != nil {
			return err
		}
		for i := range recs {
			if err := fn(&recs[i]); err != nil {
				return err
			}
		}
		if len(recs) < q.Limit {
			return nil
		}
		q.Offset += len(recs)
	}
}
