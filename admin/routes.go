package admin

import (
	"context"
	"net/http"

	"github.com/trunkline/trunkline/store"
)

// createRoute adds an ingress route: the customer's calls to numbers
// starting with prefix ("" for all) are rated on a customer card in the
// customer's currency. A customer has at most one route per prefix.
func (s *Server) createRoute(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	var rt store.Route
	if err := decodeBody(w, r, maxJSONBody, &rt); err != nil {
		return err
	}
	if err := checkID(rt.ID, ""); err != nil {
		return err
	}
	if err := validRoute(&rt, cust); err != nil {
		return err
	}
	rt.ID, rt.CustomerID = store.NewID(), cust
	err := s.write(r, func(ctx context.Context) error {
		if err := s.checkRoute(ctx, &rt); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.Routes, rt.ID, rt)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+cust+"/routes/"+rt.ID)
	writeJSON(w, http.StatusCreated, rt)
	return nil
}

// getRoute answers one of the customer's routes; another customer's is
// not found.
func (s *Server) getRoute(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", cust); err != nil {
		return err
	}
	rt, err := s.loadRoute(r.Context(), cust, r.PathValue("rid"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rt)
	return nil
}

// putRoute replaces one of the customer's routes, checked as createRoute
// checks a new one; its id and customer come from the path.
func (s *Server) putRoute(w http.ResponseWriter, r *http.Request) error {
	cust, id := r.PathValue("id"), r.PathValue("rid")
	var rt store.Route
	if err := decodeBody(w, r, maxJSONBody, &rt); err != nil {
		return err
	}
	if err := checkID(rt.ID, id); err != nil {
		return err
	}
	if err := validRoute(&rt, cust); err != nil {
		return err
	}
	rt.ID, rt.CustomerID = id, cust
	err := s.write(r, func(ctx context.Context) error {
		if _, err := s.loadRoute(ctx, cust, id); err != nil {
			return err
		}
		if err := s.checkRoute(ctx, &rt); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.Routes, id, rt)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rt)
	return nil
}

// customerRoutes returns the routes of customer cust, or 404 when there
// is no such customer.
func (s *Server) customerRoutes(ctx context.Context, cust string) ([]store.Route, error) {
	if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", cust); err != nil {
		return nil, err
	}
	return listWhere(ctx, s.st, store.Routes, func(rt store.Route) bool { return rt.CustomerID == cust })
}

func (s *Server) listRoutes(w http.ResponseWriter, r *http.Request) error {
	routes, err := s.customerRoutes(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"routes": routes})
	return nil
}

func (s *Server) deleteRoute(w http.ResponseWriter, r *http.Request) error {
	cust, id := r.PathValue("id"), r.PathValue("rid")
	err := s.write(r, func(ctx context.Context) error {
		if _, err := s.loadRoute(ctx, cust, id); err != nil {
			return err
		}
		return remove(ctx, s.st, store.Routes, "route", id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// loadRoute reads route id of customer cust; another customer's route is
// not found.
func (s *Server) loadRoute(ctx context.Context, cust, id string) (store.Route, error) {
	rt, err := load[store.Route](ctx, s.st, store.Routes, "route", id)
	if err == nil && rt.CustomerID != cust {
		return store.Route{}, errNotFound("route", id)
	}
	return rt, err
}

// validRoute checks a route body for customer cust without the store: a
// customer_id, if given, that is cust's, a prefix of digits, a card, and
// its strategy (see validStrategy, which also sets its default).
func validRoute(rt *store.Route, cust string) error {
	if rt.CustomerID != "" && rt.CustomerID != cust {
		return errInvalid("customer_id", "%q does not match the path customer %q", rt.CustomerID, cust)
	}
	if !isDigits(rt.Prefix) || len(rt.Prefix) > maxPrefixLen {
		return errInvalid("prefix", "must be at most %d digits (or empty for all numbers), got %q", maxPrefixLen, rt.Prefix)
	}
	if rt.CardID == "" {
		return errInvalid("card_id", "required")
	}
	return validStrategy(rt)
}

// checkRoute checks rt (ID and CustomerID set) against the store: its
// customer exists, its card is a customer card in the customer's
// currency, its carriers exist, and no other route of the customer has
// its prefix. The caller holds the write lock.
func (s *Server) checkRoute(ctx context.Context, rt *store.Route) error {
	c, err := load[store.Customer](ctx, s.st, store.Customers, "customer", rt.CustomerID)
	if err != nil {
		return err
	}
	card, err := store.GetJSON[store.RateCard](ctx, s.st, store.RateCards, rt.CardID)
	if err != nil {
		if isNotFound(err) {
			return errInvalid("card_id", "rate card %q does not exist", rt.CardID)
		}
		return err
	}
	if card.Kind != KindCustomer {
		return errInvalid("card_id", "rate card %q is a %s card, not a customer card", card.ID, card.Kind)
	}
	if card.Currency != c.Currency {
		return errInvalid("card_id", "rate card %q is in %s, the customer in %s", card.ID, card.Currency, c.Currency)
	}
	if err := s.routeCarriersExist(ctx, rt); err != nil {
		return err
	}
	dups, err := listWhere(ctx, s.st, store.Routes, func(o store.Route) bool {
		return o.CustomerID == rt.CustomerID && o.Prefix == rt.Prefix && o.ID != rt.ID
	})
	if err != nil {
		return err
	}
	if len(dups) > 0 {
		return errConflict("prefix", "customer %s already has route %s for prefix %q", rt.CustomerID, dups[0].ID, rt.Prefix)
	}
	return nil
}
