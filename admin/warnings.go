package admin

import (
	"context"
	"fmt"
	"time"

	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// Warning is something a customer or carrier still lacks to carry calls,
// computed from the configuration as it is: it clears by itself once the
// missing piece is added.
type Warning struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Warning codes.
const (
	WarnSuspended      = "suspended"
	WarnNoAuth         = "no_authentication"
	WarnNoRoute        = "no_route"
	WarnRouteCard      = "route_card_empty"
	WarnNoBalance      = "no_balance"
	WarnNoEndpoint     = "no_endpoint"
	WarnNoCard         = "no_card"
	WarnCardEmpty      = "card_empty"
	WarnCardNotApplied = "card_not_loaded"
)

// WithCardsInEffect sets how warnings count a rate card's rows in effect
// at a time, from the switch's live tables (known false: the switch has
// not loaded the card). Without it cards are not checked.
func WithCardsInEffect(fn func(cardID string, at time.Time) (n int, known bool)) Option {
	return func(s *Server) { s.cardsInEffect = fn }
}

// configIndex is what warnings look at, read once per request.
type configIndex struct {
	auth      map[string]bool             // customer id → has an IP, host or SIP user
	routes    map[string][]store.Route    // by customer id
	cards     map[string]store.RateCard   // by id
	byCarrier map[string][]store.RateCard // provider cards by carrier id
	endpoints map[string]int              // by carrier id
	inEffect  map[string]int              // card id → rows in effect now (memo)
	at        time.Time
}

type indexKey struct{}

// withConfigIndex returns ctx carrying the index, for a list's records to
// share one read.
func (s *Server) withConfigIndex(ctx context.Context) (context.Context, error) {
	idx, err := s.configIndex(ctx)
	if err != nil {
		return ctx, err
	}
	return context.WithValue(ctx, indexKey{}, idx), nil
}

// configIndex returns ctx's index, or reads one.
func (s *Server) configIndex(ctx context.Context) (*configIndex, error) {
	if idx, ok := ctx.Value(indexKey{}).(*configIndex); ok {
		return idx, nil
	}
	idx := &configIndex{auth: map[string]bool{}, routes: map[string][]store.Route{}, cards: map[string]store.RateCard{},
		byCarrier: map[string][]store.RateCard{}, endpoints: map[string]int{}, inEffect: map[string]int{}, at: time.Now()}
	// A customer is recognised by an IP address, a host or a SIP user.
	for _, ids := range []func() ([]string, error){
		func() ([]string, error) {
			return customerIDs(ctx, s.st, store.CustomerIPs, func(x store.CustomerIP) string { return x.CustomerID })
		},
		func() ([]string, error) {
			return customerIDs(ctx, s.st, store.CustomerHosts, func(x store.CustomerHost) string { return x.CustomerID })
		},
		func() ([]string, error) {
			return customerIDs(ctx, s.st, store.SIPUsers, func(x store.SIPUser) string { return x.CustomerID })
		},
	} {
		got, err := ids()
		if err != nil {
			return nil, err
		}
		for _, id := range got {
			idx.auth[id] = true
		}
	}
	routes, err := store.ListJSON[store.Route](ctx, s.st, store.Routes)
	if err != nil {
		return nil, err
	}
	for _, x := range routes {
		idx.routes[x.CustomerID] = append(idx.routes[x.CustomerID], x)
	}
	cards, err := store.ListJSON[store.RateCard](ctx, s.st, store.RateCards)
	if err != nil {
		return nil, err
	}
	for _, x := range cards {
		idx.cards[x.ID] = x
		if x.CarrierID != "" {
			idx.byCarrier[x.CarrierID] = append(idx.byCarrier[x.CarrierID], x)
		}
	}
	eps, err := store.ListJSON[store.Endpoint](ctx, s.st, store.Endpoints)
	if err != nil {
		return nil, err
	}
	for _, x := range eps {
		idx.endpoints[x.CarrierID]++
	}
	return idx, nil
}

// customerIDs returns the customer of every record of coll.
func customerIDs[T any](ctx context.Context, st store.Store, coll string, of func(T) string) ([]string, error) {
	xs, err := store.ListJSON[T](ctx, st, coll)
	if err != nil {
		return nil, err
	}
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = of(x)
	}
	return out, nil
}

// cardWarning says what is wrong with card id as a source of prices
// (missing, not loaded, no row in effect), or "".
func (s *Server) cardWarning(idx *configIndex, id string) string {
	card, ok := idx.cards[id]
	if !ok {
		return fmt.Sprintf("rate card %s does not exist", id)
	}
	if s.cardsInEffect == nil {
		return ""
	}
	n, memo := idx.inEffect[id]
	if !memo {
		known := false
		if n, known = s.cardsInEffect(id, idx.at); !known {
			n = -1
		}
		idx.inEffect[id] = n
	}
	switch {
	case n < 0:
		return fmt.Sprintf("rate card %q (%s) is not loaded by the switch yet", card.Name, id)
	case n == 0:
		return fmt.Sprintf("rate card %q (%s) has no rate in effect now", card.Name, id)
	}
	return ""
}

// customerWarnings lists what customer c lacks; available is its
// available balance when under credit control ("" when unknown).
func (s *Server) customerWarnings(idx *configIndex, c store.Customer, available string) []Warning {
	ws := []Warning{}
	if c.Status == "suspended" {
		ws = append(ws, Warning{WarnSuspended, "the customer is suspended: its calls are refused (403)"})
	}
	if !idx.auth[c.ID] {
		ws = append(ws, Warning{WarnNoAuth, "no way to recognise its calls: add an IP address, a host or a SIP user"})
	}
	routes := idx.routes[c.ID]
	if len(routes) == 0 {
		ws = append(ws, Warning{WarnNoRoute, "no ingress route: its calls find no rate card and are refused"})
	}
	for _, r := range routes {
		if why := s.cardWarning(idx, r.CardID); why != "" {
			prefix := r.Prefix
			if prefix == "" {
				prefix = "(every number)"
			}
			ws = append(ws, Warning{WarnRouteCard, fmt.Sprintf("the route for %s: %s: its calls are refused", prefix, why)})
		}
	}
	if routing.Prepaid(c) && available != "" && (available == "0" || available[0] == '-' || isZeroAmount(available)) {
		ws = append(ws, Warning{WarnNoBalance, "prepaid with no balance available: its calls are refused (402) until a payment"})
	}
	return ws
}

// isZeroAmount tells whether a formatted amount ("0.00") is zero.
func isZeroAmount(s string) bool {
	for _, r := range s {
		if r != '0' && r != '.' {
			return false
		}
	}
	return true
}

// carrierWarnings lists what carrier c lacks.
func (s *Server) carrierWarnings(idx *configIndex, c store.Carrier) []Warning {
	ws := []Warning{}
	if idx.endpoints[c.ID] == 0 {
		ws = append(ws, Warning{WarnNoEndpoint, "no endpoint: the switch has nowhere to send its calls"})
	}
	cards := idx.byCarrier[c.ID]
	if len(cards) == 0 {
		ws = append(ws, Warning{WarnNoCard, "no provider rate card: no call can be priced for it, so none is routed to it"})
	}
	for _, card := range cards {
		if why := s.cardWarning(idx, card.ID); why != "" {
			ws = append(ws, Warning{WarnCardEmpty, why + ": no call is routed to it by that card"})
		}
	}
	return ws
}

// carrierView is a carrier as the API shows it.
type carrierView struct {
	store.Carrier
	Warnings []Warning `json:"warnings"`
}

func (v carrierView) warned() bool  { return len(v.Warnings) > 0 }
func (v customerView) warned() bool { return len(v.Warnings) > 0 }
