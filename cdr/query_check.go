package cdr

import "fmt"

// Paging limits of Query.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 10_000
)

// normalized returns q with Limit defaulted and capped, or ErrBadQuery for
// negative paging or a time range that ends before it starts.
func (q Query) normalized() (Query, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return q, fmt.Errorf("%w: negative limit or offset", ErrBadQuery)
	}
	if q.FromMs < 0 || q.ToMs < 0 || q.ToMs != 0 && q.FromMs > q.ToMs {
		return q, fmt.Errorf("%w: time range %d..%d", ErrBadQuery, q.FromMs, q.ToMs)
	}
	if q.Limit == 0 {
		q.Limit = DefaultQueryLimit
	}
	q.Limit = min(q.Limit, MaxQueryLimit)
	return q, nil
}

// match reports whether r passes q's filters.
func (q Query) match(r *Record) bool {
	return (q.CustomerID == "" || r.CustomerID == q.CustomerID) &&
		(q.CarrierID == "" || r.CarrierID == q.CarrierID) &&
		(q.FromMs == 0 || r.SetupMs >= q.FromMs) &&
		(q.ToMs == 0 || r.SetupMs < q.ToMs)
}
