package admin

import (
	"context"
	"slices"

	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// Bounds of a route's strategy.
const (
	maxRouteCarriers = 64
	maxRouteWeight   = 1_000_000
	maxRoutePriority = 1_000_000
)

// validStrategy checks a route's strategy fields without the store:
// a known strategy ("lcr" when empty), at most 64 carriers each listed
// once with a priority and weight in bounds, weights that sum above zero
// for "weighted", pin and block of at most 64 distinct ids that do not
// overlap, and max_attempts from 0 (all) to 64.
func validStrategy(rt *store.Route) error {
	if err := oneOf("strategy", &rt.Strategy, routing.StrategyLCR, routing.StrategyLCR, routing.StrategyPriority, routing.StrategyWeighted); err != nil {
		return err
	}
	if len(rt.Carriers) > maxRouteCarriers {
		return errInvalid("carriers", "at most %d carriers, got %d", maxRouteCarriers, len(rt.Carriers))
	}
	total := 0
	for i, c := range rt.Carriers {
		switch {
		case c.CarrierID == "":
			return errInvalid("carriers", "entry %d: carrier_id required", i)
		case slices.ContainsFunc(rt.Carriers[:i], func(o store.RouteCarrier) bool { return o.CarrierID == c.CarrierID }):
			return errInvalid("carriers", "carrier %q listed twice", c.CarrierID)
		case c.Priority < 0 || c.Priority > maxRoutePriority:
			return errInvalid("carriers", "carrier %q: priority must be between 0 and %d, got %d", c.CarrierID, maxRoutePriority, c.Priority)
		case c.Weight < 0 || c.Weight > maxRouteWeight:
			return errInvalid("carriers", "carrier %q: weight must be between 0 and %d, got %d", c.CarrierID, maxRouteWeight, c.Weight)
		}
		total += c.Weight
	}
	switch rt.Strategy {
	case routing.StrategyWeighted:
		if total <= 0 {
			return errInvalid("carriers", "a weighted route needs carriers whose weights sum above 0")
		}
	case routing.StrategyPriority:
		if len(rt.Carriers) == 0 {
			return errInvalid("carriers", "a priority route needs its carriers in order")
		}
	}
	for _, f := range []struct {
		field string
		ids   []string
	}{{"pin", rt.Pin}, {"block", rt.Block}} {
		if len(f.ids) > maxRouteCarriers {
			return errInvalid(f.field, "at most %d carriers, got %d", maxRouteCarriers, len(f.ids))
		}
		for i, id := range f.ids {
			if id == "" || slices.Contains(f.ids[:i], id) {
				return errInvalid(f.field, "carrier %q empty or listed twice", id)
			}
		}
	}
	for _, id := range rt.Pin {
		if slices.Contains(rt.Block, id) {
			return errInvalid("block", "carrier %q is both pinned and blocked", id)
		}
	}
	if rt.MaxAttempts < 0 || rt.MaxAttempts > maxRouteCarriers {
		return errInvalid("max_attempts", "must be between 0 (all) and %d, got %d", maxRouteCarriers, rt.MaxAttempts)
	}
	return nil
}

// routeCarriersExist checks that every carrier a route names exists,
// naming the field of the first that does not.
func (s *Server) routeCarriersExist(ctx context.Context, rt *store.Route) error {
	check := func(field, id string) error {
		if _, err := store.GetJSON[store.Carrier](ctx, s.st, store.Carriers, id); err != nil {
			if isNotFound(err) {
				return errInvalid(field, "carrier %q does not exist", id)
			}
			return err
		}
		return nil
	}
	for _, c := range rt.Carriers {
		if err := check("carriers", c.CarrierID); err != nil {
			return err
		}
	}
	for _, f := range []struct {
		field string
		ids   []string
	}{{"pin", rt.Pin}, {"block", rt.Block}} {
		for _, id := range f.ids {
			if err := check(f.field, id); err != nil {
				return err
			}
		}
	}
	return nil
}
