package routing

import (
	"context"
	"errors"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Call is what routing needs to know of a new call.
type Call struct {
	CustomerID string
	TechPrefix string
	Dialled    string // user part of the Request-URI
	At         time.Time
}

// Leg is a rate applied to one side of a call.
type Leg struct {
	Card *rating.Card
	Row  *rating.Row
}

// Charge rates seconds of answered time on this leg.
func (l Leg) Charge(seconds int) rating.Charge { return l.Card.Charge(l.Row, seconds) }

// Attempt is one carrier endpoint to try, in order.
type Attempt struct {
	CarrierID string
	Addr      string // host:port
	Transport string // "udp" or "tcp"
	Buy       Leg
	// Headers names the headers beyond the switch's policy that cross from
	// this carrier to the customer.
	Headers []string
	// Limits of the carrier and of this endpoint (0: none).
	CarrierChannels, CarrierCPS   int
	EndpointChannels, EndpointCPS int
}

// Plan is the routing decision for a call.
type Plan struct {
	Customer store.Customer
	Number   string // normalised E.164 digits
	Sell     Leg
	Attempts []Attempt
	// Skipped are the carrier endpoints margin protection left out, in
	// card order; they are never tried.
	Skipped []Skipped
	// Margin is the policy the plan was made under, with the customer's
	// minimums in place.
	Margin Margin
}

// Router routes calls against the current Table. Reload swaps the table
// atomically; Route is safe for concurrent use.
type Router struct {
	st         store.Store
	margin     Margin
	table      atomic.Pointer[Table]
	carrierIPs atomic.Pointer[carrierSet]
	health     *Health // nil: every endpoint up
}

// Option configures a Router.
type Option func(*Router)

// WithMargin sets the margin protection policy; without it the zero
// Margin applies (no carrier may carry a call at a loss at the first
// billed block or at DefaultExpectedSeconds).
func WithMargin(m Margin) Option { return func(r *Router) { r.margin = m } }

// NewRouter returns a Router over st; call Reload before routing.
func NewRouter(st store.Store, opts ...Option) *Router {
	r := &Router{st: st}
	for _, o := range opts {
		o(r)
	}
	r.margin = r.margin.withDefaults()
	return r
}

// Reload rebuilds the table from the store and swaps it in.
func (r *Router) Reload(ctx context.Context) error {
	t, err := Load(ctx, r.st, r.table.Load())
	if err != nil {
		return err
	}
	set := t.carrierAddrs()
	r.table.Store(t)
	r.carrierIPs.Store(&set)
	return nil
}

// Table returns the current snapshot.
func (r *Router) Table() *Table { return r.table.Load() }

// Route plans a call. Errors are *Reject values carrying the SIP status.
func (r *Router) Route(_ context.Context, c Call) (*Plan, error) {
	p, err := r.plan(c)
	if err != nil {
		return nil, err
	}
	return r.health.apply(p)
}

// plan is Route, except that a call refused because margin protection
// skipped every carrier also returns its Plan, for Simulate.
func (r *Router) plan(c Call) (*Plan, error) {
	t := r.table.Load()
	if t == nil {
		return nil, reject(503, "Switch Not Ready", nil)
	}
	cust, ok := t.customers[c.CustomerID]
	if !ok {
		return nil, reject(403, "Unknown Customer", nil)
	}
	if cust.Status != "" && cust.Status != "active" {
		return nil, reject(403, "Customer Suspended", nil)
	}
	number, err := Normalize(c.Dialled, c.TechPrefix)
	if err != nil {
		return nil, reject(484, "Address Incomplete", err)
	}
	route, ok := t.route(cust.ID, number)
	if !ok {
		return nil, reject(404, "No Route For Customer", nil)
	}
	sellCard := t.cards[route.CardID]
	if sellCard == nil {
		return nil, reject(404, "No Rate Card", nil)
	}
	at := c.At.Unix()
	sellRow, err := sellCard.Lookup(number, at)
	switch {
	case errors.Is(err, rating.ErrBlocked):
		return nil, reject(403, "Destination Blocked", err)
	case err != nil:
		return nil, reject(404, "No Rate For Destination", err)
	}
	pol := t.policies[cust.ID]
	sell := Leg{Card: sellCard, Row: sellRow}
	if err := pol.spendCheck(sell); err != nil {
		return nil, err
	}
	p := &Plan{Customer: cust, Number: number, Sell: sell, Margin: pol.margin(r.margin)}
	for _, pid := range t.meta[route.CardID].ProviderCards {
		p.Attempts = append(p.Attempts, t.attempts(pid, number, at)...)
	}
	if len(p.Attempts) == 0 {
		return nil, reject(503, "No Carrier For Destination", nil)
	}
	// Margin protection, then least cost first over the same costs.
	first := FirstBlock(sell)
	sp := pricesOf(sell, p.Margin, first)
	var buf [16]lcrKey
	keys := buf[:0]
	kept := p.Attempts[:0]
	for _, a := range p.Attempts {
		bp := pricesOf(a.Buy, p.Margin, first)
		if s, ok := p.Margin.decide(sell, a.Buy, sp, bp, t.breakEven); !ok {
			p.Skipped = append(p.Skipped, Skipped{CarrierID: a.CarrierID, Addr: a.Addr, Transport: a.Transport, Buy: a.Buy, Skip: s})
			continue
		}
		kept = append(kept, a)
		keys = append(keys, lcrKey{bp.expected, bp.first, a.Buy.Row.PerMinute})
	}
	p.Attempts = kept
	if len(kept) == 0 {
		return p, reject(503, "No Profitable Carrier", errors.New(p.Skipped[0].Reason()))
	}
	orderLCR(p.Attempts, keys)
	return p, nil
}

func (t *Table) route(customerID, number string) (store.Route, bool) {
	for _, r := range t.routes[customerID] {
		if len(number) >= len(r.Prefix) && number[:len(r.Prefix)] == r.Prefix {
			return r, true
		}
	}
	return store.Route{}, false
}

// attempts lists the endpoints of the provider card's carrier when the card
// rates number and the carrier is active.
func (t *Table) attempts(cardID, number string, at int64) []Attempt {
	card := t.cards[cardID]
	meta := t.meta[cardID]
	c, ok := t.carriers[meta.CarrierID]
	if card == nil || !ok || (c.Status != "" && c.Status != "active") {
		return nil
	}
	row, err := card.Lookup(number, at)
	if err != nil {
		return nil
	}
	out := make([]Attempt, 0, len(c.endpoints))
	for _, e := range c.endpoints {
		tr := e.Transport
		if tr == "" {
			tr = "udp"
		}
		out = append(out, Attempt{
			CarrierID: c.ID,
			Addr:      joinHostPort(e.Host, e.Port),
			Transport: tr,
			Buy:       Leg{Card: card, Row: row},
			Headers:   c.SIPHeaders,

			CarrierChannels: c.ChannelLimit, CarrierCPS: c.CPSLimit,
			EndpointChannels: e.ChannelLimit, EndpointCPS: e.CPSLimit,
		})
	}
	return out
}

func joinHostPort(host string, port int) string {
	if port == 0 {
		port = 5060
	}
	if len(host) > 0 && host[0] != '[' {
		for i := 0; i < len(host); i++ {
			if host[i] == ':' {
				return "[" + host + "]:" + strconv.Itoa(port)
			}
		}
	}
	return host + ":" + strconv.Itoa(port)
}
