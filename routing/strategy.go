package routing

import (
	"math"
	"strconv"

	"github.com/trunkline/trunkline/store"
)

// The strategies an ingress route may name (store.Route.Strategy).
const (
	StrategyLCR      = "lcr"      // least cost first (the default)
	StrategyPriority = "priority" // the route's priority list, lower first
	StrategyWeighted = "weighted" // first attempt split by weight per call
)

// Reasons a route's strategy keeps a carrier off a call (Skipped.Route).
const (
	notPinned   = "not pinned by the route"
	blocked     = "blocked by the route"
	overAttempt = "beyond the route's max_attempts"
)

// strategyOf is a route's strategy with the default in place.
func strategyOf(rt *store.Route) string {
	if rt.Strategy == "" {
		return StrategyLCR
	}
	return rt.Strategy
}

// applyStrategy filters and orders a plan's attempts, which margin
// protection already kept and put least cost first, by its route: pin and
// block, then the strategy's order, then MaxAttempts. Carriers the
// strategy does not list keep their least-cost order after those it
// lists; endpoints of one carrier stay together in their order. draw
// returns a uniform value in [0, 1) (one per weighted carrier, per call).
// With explain, what the route leaves out is kept in p.Skipped; without it
// applyStrategy allocates nothing for up to 16 attempts.
func applyStrategy(p *Plan, rt *store.Route, draw func() float64, explain bool) {
	p.Strategy = strategyOf(rt)
	if len(rt.Pin) > 0 || len(rt.Block) > 0 {
		kept := p.Attempts[:0]
		for _, a := range p.Attempts {
			why := ""
			switch {
			case contains(rt.Block, a.CarrierID):
				why = blocked
			case len(rt.Pin) > 0 && !contains(rt.Pin, a.CarrierID):
				why = notPinned
			}
			if why == "" {
				kept = append(kept, a)
			} else if explain {
				p.Skipped = append(p.Skipped, skippedBy(a, why))
			}
		}
		clear(p.Attempts[len(kept):])
		p.Attempts = kept
	}
	if p.Strategy != StrategyLCR && len(rt.Carriers) > 0 && len(p.Attempts) > 1 {
		var buf [16]float64
		keys := buf[:0]
		for i, a := range p.Attempts {
			keys = append(keys, strategyKey(p.Strategy, rt.Carriers, p.Attempts[:i], keys, a.CarrierID, draw))
		}
		orderByKey(p.Attempts, keys)
	}
}

// cutAttempts keeps the route's first max_attempts attempts. Route cuts
// after health has taken the down endpoints out, so that they do not use
// up the attempts; explain lists the attempts cut in Plan.Skipped.
func cutAttempts(p *Plan, explain bool) {
	rt := p.route
	if rt == nil {
		return
	}
	if n := rt.MaxAttempts; n > 0 && len(p.Attempts) > n {
		if explain {
			for _, a := range p.Attempts[n:] {
				p.Skipped = append(p.Skipped, skippedBy(a, overAttempt+" ("+strconv.Itoa(n)+")"))
			}
		}
		p.Attempts = p.Attempts[:n]
	}
}

// strategyKey is where a carrier goes (lower first): its priority, or an
// exponential draw over its weight (ordering by −ln U / w is a weighted
// random order without replacement, whose first is carrier i with
// probability wᵢ / Σw). A carrier not listed, or with weight 0, goes
// last (+Inf, in least-cost order). An endpoint of a carrier already seen
// (in before, with keys) takes its key.
func strategyKey(strategy string, list []store.RouteCarrier, before []Attempt, keys []float64, id string, draw func() float64) float64 {
	for j := range before {
		if before[j].CarrierID == id {
			return keys[j]
		}
	}
	rc, ok := routeCarrier(list, id)
	switch {
	case !ok:
		return math.Inf(1)
	case strategy == StrategyPriority:
		return float64(rc.Priority)
	case rc.Weight <= 0:
		return math.Inf(1)
	default:
		return -math.Log(1-draw()) / float64(rc.Weight)
	}
}

// orderByKey sorts attempts by keys (one per attempt), stable: equal keys
// keep their order (an insertion sort, as orderLCR).
func orderByKey(attempts []Attempt, keys []float64) {
	for i := 1; i < len(attempts); i++ {
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
			attempts[j], attempts[j-1] = attempts[j-1], attempts[j]
		}
	}
}

func routeCarrier(list []store.RouteCarrier, id string) (store.RouteCarrier, bool) {
	for _, rc := range list {
		if rc.CarrierID == id {
			return rc, true
		}
	}
	return store.RouteCarrier{}, false
}

func contains(ids []string, id string) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

func skippedBy(a Attempt, why string) Skipped {
	return Skipped{CarrierID: a.CarrierID, Addr: a.Addr, Transport: a.Transport, Buy: a.Buy, Route: why}
}

// placement says why a carrier that is tried sits where it is in a plan
// of route rt, for Simulate: "pinned, priority 1", "weight 70 of 100",
// "not listed: least cost".
func placement(rt *store.Route, id string) string {
	s := ""
	if len(rt.Pin) > 0 {
		s = "pinned, "
	}
	strategy := strategyOf(rt)
	rc, listed := routeCarrier(rt.Carriers, id)
	switch {
	case strategy == StrategyLCR:
		return s + "least cost"
	case !listed:
		return s + "not listed: least cost"
	case strategy == StrategyPriority:
		return s + "priority " + strconv.Itoa(rc.Priority)
	case rc.Weight <= 0:
		return s + "weight 0: least cost"
	default:
		total := 0
		for _, c := range rt.Carriers {
			total += max(c.Weight, 0)
		}
		return s + "weight " + strconv.Itoa(rc.Weight) + " of " + strconv.Itoa(total)
	}
}
