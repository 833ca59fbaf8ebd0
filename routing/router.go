package routing

import (
	"context"
	"errors"
	"math/rand/v2"
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
	Caller     string // user part of the From URI
	At         time.Time
}

// Leg is a rate applied to one side of a call.
type Leg struct {
	Card *rating.Card
	Row  rating.Row
}

// Charge rates seconds of answered time on this leg.
func (l *Leg) Charge(seconds int) rating.Charge { return l.Card.Charge(&l.Row, seconds) }

// Attempt is one carrier endpoint to try, in order.
type Attempt struct {
	CarrierID string
	Addr      string // host:port
	Transport string // "udp" or "tcp"
	Buy       Leg
	// Headers names the headers beyond the switch's policy that cross from
	// this carrier to the customer.
	Headers []string
	// MediaRelay is the carrier's media relay setting (store.Carrier).
	MediaRelay string
	// Called and Calling are the numbers to send this carrier after its
	// outbound translation rules: the Request-URI and To user, and the
	// From user; "" sends Plan.Number and the caller as received.
	Called, Calling string
	// Limits of the carrier and of this endpoint (0: none).
	CarrierChannels, CarrierCPS   int
	EndpointChannels, EndpointCPS int
	// Failover settings of the carrier (zero: the switch's): the final
	// codes after which the next carrier is tried, and the timeouts for a
	// first reply, for an answer once ringing, and for ringing (180/183)
	// after the INVITE (post-dial delay).
	FailoverCodes                       []int
	FirstReplyTimeout, RingTimeout, PDD time.Duration
}

// Plan is the routing decision for a call.
type Plan struct {
	Customer store.Customer
	Number   string // normalised E.164 digits, after inbound translation
	// Caller is the caller after the customer's inbound translation rules.
	Caller   string
	Sell     Leg
	Attempts []Attempt
	// Skipped are the carrier endpoints margin protection left out, in
	// card order; they are never tried.
	Skipped []Skipped
	// Margin is the policy the plan was made under, with the customer's
	// minimums in place.
	Margin Margin
	// Untranslated are the carriers left out because their outbound
	// translation rules made no number of the call's; they are never tried.
	Untranslated []Untranslated
	// RouteID is the ingress route the call took and Strategy the
	// strategy that ordered Attempts (strategy.go).
	RouteID, Strategy string
	route             *store.Route // in the Table, read only
}

// Router routes calls against the current Table. Reload swaps the table
// atomically; Route is safe for concurrent use.
type Router struct {
	st         store.Store
	margin     Margin
	table      atomic.Pointer[Table]
	carrierIPs atomic.Pointer[carrierSet]
	draw       func() float64 // weighted strategy's per-call draws
	health     *Health        // nil: every endpoint up
}

// Option configures a Router.
type Option func(*Router)

// WithMargin sets the margin protection policy; without it the zero
// Margin applies (no carrier may carry a call at a loss at the first
// billed block or at DefaultExpectedSeconds).
func WithMargin(m Margin) Option { return func(r *Router) { r.margin = m } }

// NewRouter returns a Router over st; call Reload before routing.
func NewRouter(st store.Store, opts ...Option) *Router {
	r := &Router{st: st, draw: rand.Float64}
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

// Customer looks a customer up in the current table.
func (r *Router) Customer(id string) (store.Customer, bool) {
	if t := r.table.Load(); t != nil {
		return t.Customer(id)
	}
	return store.Customer{}, false
}

// Route plans a call. Errors are *Reject values carrying the SIP status.
func (r *Router) Route(_ context.Context, c Call) (*Plan, error) {
	p, err := r.plan(c, false)
	if err != nil {
		return nil, err
	}
	if p, err = r.health.apply(p); err != nil {
		return nil, err
	}
	cutAttempts(p, false)
	return p, nil
}

// plan is Route, except that a call refused because margin protection or
// the route left no carrier also returns its Plan, for Simulate; explain
// keeps the carriers the route leaves out in Plan.Skipped.
func (r *Router) plan(c Call, explain bool) (*Plan, error) {
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
	number, caller, err := t.inbound[cust.ID].inbound(c, nil)
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
	p := &Plan{Customer: cust, Number: number, Caller: caller, Sell: sell, Margin: pol.margin(r.margin), RouteID: route.ID, route: route}
	for _, pid := range t.meta[route.CardID].ProviderCards {
		p.Attempts = append(p.Attempts, t.attempts(pid, number, at)...)
	}
	t.translateOut(p, c.Caller)
	if len(p.Attempts) == 0 {
		if len(p.Untranslated) > 0 {
			return p, reject(503, "No Carrier For Destination", p.Untranslated[0].Err)
		}
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
	applyStrategy(p, p.route, r.draw, explain)
	if explain {
		cutAttempts(p, true)
	}
	if len(p.Attempts) == 0 {
		return p, reject(503, "No Carrier For Route", errors.New("the route's pin and block leave no carrier"))
	}
	return p, nil
}

// route is the customer's longest-prefix route for number, in the
// (immutable) table.
func (t *Table) route(customerID, number string) (*store.Route, bool) {
	rs := t.routes[customerID]
	for i := range rs {
		if r := &rs[i]; len(number) >= len(r.Prefix) && number[:len(r.Prefix)] == r.Prefix {
			return r, true
		}
	}
	return nil, false
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

			MediaRelay: c.MediaRelay,

			CarrierChannels: c.ChannelLimit, CarrierCPS: c.CPSLimit,
			EndpointChannels: e.ChannelLimit, EndpointCPS: e.CPSLimit,

			FailoverCodes:     c.FailoverCodes,
			FirstReplyTimeout: time.Duration(c.FirstReplyTimeoutMS) * time.Millisecond,
			RingTimeout:       time.Duration(c.RingTimeoutMS) * time.Millisecond,
			PDD:               time.Duration(c.PDDTimeoutMS) * time.Millisecond,
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
