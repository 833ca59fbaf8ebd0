package cdr

import "fmt"

// Paging limits of Query.
const (
	DefaultQueryLimit = 100
	MaxQueryLimit     = 10_000
)

// normalized returns q with Limit defaulted and capped, or ErrBadQuery for
// negative paging, a time range that ends before it starts, a callee prefix
// that is not digits, or a SIP code outside 100..699.
func (q Query) normalized() (Query, error) {
	if q.Limit < 0 || q.Offset < 0 {
		return q, fmt.Errorf("%w: negative limit or offset", ErrBadQuery)
	}
	if q.FromMs < 0 || q.ToMs < 0 || q.ToMs != 0 && q.FromMs > q.ToMs {
		return q, fmt.Errorf("%w: time range %d..%d", ErrBadQuery, q.FromMs, q.ToMs)
	}
	if !digitsOnly(q.CalleePrefix) || len(q.CalleePrefix) > 32 {
		return q, fmt.Errorf("%w: callee prefix %q is not up to 32 digits", ErrBadQuery, q.CalleePrefix)
	}
	if q.SIPCode != 0 && (q.SIPCode < 100 || q.SIPCode > 699) {
		return q, fmt.Errorf("%w: SIP code %d is outside 100..699", ErrBadQuery, q.SIPCode)
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
		(q.ToMs == 0 || r.SetupMs < q.ToMs) &&
		(q.CalleePrefix == "" || len(r.Callee) >= len(q.CalleePrefix) && r.Callee[:len(q.CalleePrefix)] == q.CalleePrefix) &&
		(q.SIPCode == 0 || r.SIPCode == q.SIPCode) &&
		(q.Answered == nil || *q.Answered == (r.AnswerMs > 0)) &&
		(!q.FinalOnly || r.Final)
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
