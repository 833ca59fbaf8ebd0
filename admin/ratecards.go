package admin

import (
	"context"
	"net/http"
	"slices"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Rate card kinds.
const (
	KindProvider = "provider"
	KindCustomer = "customer"
)

// Rate card defaults.
const (
	defaultPrecision = 4
	defaultRounding  = "half-up"
	maxPrecision     = rating.Digits
)

// cardInput is the body of POST /api/v1/ratecards. Precision is a pointer
// so that an explicit 0 differs from "use the default".
type cardInput struct {
	Name          string        `json:"name"`
	Kind          string        `json:"kind"`
	CarrierID     string        `json:"carrier_id"`
	ProviderCards []string      `json:"provider_cards"`
	Currency      string        `json:"currency"`
	Precision     *int          `json:"precision"`
	Rounding      string        `json:"rounding"`
	Markup        *store.Markup `json:"markup"`
}

// card validates what needs no store and returns the card to create.
func (in cardInput) card() (store.RateCard, error) {
	c := store.RateCard{Name: in.Name, Kind: in.Kind, CarrierID: in.CarrierID,
		ProviderCards: in.ProviderCards, Currency: in.Currency, Precision: defaultPrecision}
	if err := validName("name", c.Name); err != nil {
		return c, err
	}
	if err := oneOf("kind", &c.Kind, "", KindProvider, KindCustomer); err != nil {
		return c, err
	}
	if in.Precision != nil {
		c.Precision = *in.Precision
	}
	if c.Precision < 0 || c.Precision > maxPrecision {
		return c, errInvalid("precision", "must be between 0 and %d, got %d", maxPrecision, c.Precision)
	}
	rounding := in.Rounding
	if rounding == "" {
		rounding = defaultRounding
	}
	rd, err := rating.ParseRounding(rounding)
	if err != nil {
		return c, errInvalid("rounding", "must be one of up, down, half-up, half-even, got %q", in.Rounding)
	}
	c.Rounding = rd.String()
	switch c.Kind {
	case KindProvider:
		if c.CarrierID == "" {
			return c, errInvalid("carrier_id", "required for a provider card")
		}
		if len(c.ProviderCards) > 0 {
			return c, errInvalid("provider_cards", "only a customer card is derived from provider cards")
		}
	case KindCustomer:
		if c.CarrierID != "" {
			return c, errInvalid("carrier_id", "only a provider card belongs to a carrier")
		}
		if len(c.ProviderCards) == 0 {
			return c, errInvalid("provider_cards", "a customer card needs at least one provider card")
		}
		if c.Currency == "" {
			return c, errInvalid("currency", "required for a customer card")
		}
	}
	if in.Markup != nil {
		if c.Kind != KindCustomer {
			return c, errInvalid("markup", "only a customer card is derived by a markup")
		}
		m, err := validMarkup(*in.Markup)
		if err != nil {
			return c, err
		}
		c.Markup = &m
	}
	if c.Currency != "" {
		if err := validCurrency("currency", c.Currency); err != nil {
			return c, err
		}
	}
	return c, nil
}

// validMarkup checks a markup rule and returns it with its value in
// canonical form.
func validMarkup(m store.Markup) (store.Markup, error) {
	switch m.Kind {
	case "percent", "fixed", "sell":
	default:
		return m, errInvalid("markup.kind", "must be one of percent, fixed, sell, got %q", m.Kind)
	}
	switch m.Combine {
	case "", "min", "max", "avg":
	default:
		return m, errInvalid("markup.combine", "must be one of min, max, avg, got %q", m.Combine)
	}
	v, err := rating.ParseMoney(m.Value)
	if err != nil {
		return m, errInvalid("markup.value", "%v", err)
	}
	if err := (rating.Markup{Kind: m.Kind, Value: v, Combine: m.Combine}).Validate(); err != nil {
		return m, errInvalid("markup.value", "%v", err)
	}
	m.Value = v.String()
	return m, nil
}

// checkRefs checks the carrier or provider cards c refers to, taking a
// provider card's currency from its carrier when it names none.
func (s *Server) checkRefs(ctx context.Context, c *store.RateCard) error {
	if c.Kind == KindProvider {
		car, err := store.GetJSON[store.Carrier](ctx, s.st, store.Carriers, c.CarrierID)
		if isNotFound(err) {
			return errInvalid("carrier_id", "carrier %q does not exist", c.CarrierID)
		} else if err != nil {
			return err
		}
		if c.Currency == "" {
			c.Currency = car.Currency
		}
		if c.Currency != car.Currency {
			return errInvalid("currency", "carrier %s bills in %s, not %s", car.ID, car.Currency, c.Currency)
		}
		return nil
	}
	for i, id := range c.ProviderCards {
		if slices.Contains(c.ProviderCards[:i], id) {
			return errInvalid("provider_cards", "lists %q twice", id)
		}
		p, err := store.GetJSON[store.RateCard](ctx, s.st, store.RateCards, id)
		if isNotFound(err) {
			return errInvalid("provider_cards", "rate card %q does not exist", id)
		} else if err != nil {
			return err
		}
		if p.Kind != KindProvider {
			return errInvalid("provider_cards", "rate card %q is a %s card, not a provider card", id, p.Kind)
		}
		if p.Currency != c.Currency {
			return errInvalid("provider_cards", "provider card %q is in %s, this card in %s", id, p.Currency, c.Currency)
		}
	}
	return nil
}

func (s *Server) createRateCard(w http.ResponseWriter, r *http.Request) error {
	var in cardInput
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	c, err := in.card()
	if err != nil {
		return err
	}
	c.ID = store.NewID()
	err = s.write(r, func(ctx context.Context) error {
		if err := s.checkRefs(ctx, &c); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.RateCards, c.ID, c)
	})
	if err != nil {
		return err
	}
	s.log.Info("rate card created", "id", c.ID, "kind", c.Kind)
	w.Header().Set("Location", "/api/v1/ratecards/"+c.ID)
	writeJSON(w, http.StatusCreated, c)
	return nil
}

func (s *Server) listRateCards(w http.ResponseWriter, r *http.Request) error {
	cs, err := store.ListJSON[store.RateCard](r.Context(), s.st, store.RateCards)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ratecards": cs})
	return nil
}

func (s *Server) getRateCard(w http.ResponseWriter, r *http.Request) error {
	c, err := load[store.RateCard](r.Context(), s.st, store.RateCards, "rate card", r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// deleteRateCard removes a card and its rates; a card still used by a route
// or by a customer card is a conflict.
func (s *Server) deleteRateCard(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.write(r, func(ctx context.Context) error {
		if _, err := load[store.RateCard](ctx, s.st, store.RateCards, "rate card", id); err != nil {
			return err
		}
		users, err := listWhere(ctx, s.st, store.RateCards, func(c store.RateCard) bool { return slices.Contains(c.ProviderCards, id) })
		if err != nil {
			return err
		}
		if len(users) > 0 {
			return errConflict("", "rate card %s is still used by customer card %s", id, users[0].ID)
		}
		routes, err := listWhere(ctx, s.st, store.Routes, func(rt store.Route) bool { return rt.CardID == id })
		if err != nil {
			return err
		}
		if len(routes) > 0 {
			return errConflict("", "rate card %s is still used by route %s of customer %s", id, routes[0].ID, routes[0].CustomerID)
		}
		if err := s.st.Delete(ctx, store.Rates, id); err != nil && !isNotFound(err) {
			return err
		}
		return remove(ctx, s.st, store.RateCards, "rate card", id)
	})
	if err != nil {
		return err
	}
	s.log.Info("rate card deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
