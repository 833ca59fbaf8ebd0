package routing

import "github.com/trunkline/trunkline/rating"

// Skipped is a carrier endpoint margin protection keeps off a call: it is
// never tried, and is kept on the Plan for simulation and logs. In a plan
// made for Simulate it may also be one the route leaves out (Route says
// why: its pin, block or max_attempts).
type Skipped struct {
	CarrierID string
	Addr      string
	Transport string
	Buy       Leg
	Skip      Skip
	Route     string
}

// Reason says why the carrier was skipped: the route's reason, or the
// margin's, naming the duration and both costs.
func (s Skipped) Reason() string {
	if s.Route != "" {
		return s.Route
	}
	return s.Skip.String()
}

// lcrKey is what least-cost order compares: the buy cost at the expected
// call length, then at the first billed block, then the rate per minute.
type lcrKey struct{ expected, first, perMinute rating.Money }

func (a lcrKey) less(b lcrKey) bool {
	if a.expected != b.expected {
		return a.expected < b.expected
	}
	if a.first != b.first {
		return a.first < b.first
	}
	return a.perMinute < b.perMinute
}

// orderLCR sorts attempts least cost first by their keys (one per
// attempt); equal keys keep the card order (an insertion sort: stable, no
// allocation, and attempts are few).
func orderLCR(attempts []Attempt, keys []lcrKey) {
	for i := 1; i < len(attempts); i++ {
		for j := i; j > 0 && keys[j].less(keys[j-1]); j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			attempts[j], attempts[j-1] = attempts[j-1], attempts[j]
		}
	}
}
