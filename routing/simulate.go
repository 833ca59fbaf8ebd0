package routing

import (
	"context"
	"errors"
	"time"
)

// SampleDurations are the answered seconds Simulate prices a call at; it
// adds the expected call length, the first billed block and each side's
// initial block.
var SampleDurations = []int{1, 30, 60, 61, 300}

// Simulation is what the switch would do with a call, as JSON for the
// admin API: the sell row, the carriers in the order they would be tried
// with their buy rows, the carriers margin protection skips and why, and
// the costs of sample durations. Strategy is the route's strategy (lcr,
// priority, weighted: then the order is one draw of many). A call the
// switch would refuse has Reject set.
type Simulation struct {
	Customer string `json:"customer"`
	Number   string `json:"number,omitempty"` // normalised
	Caller   string `json:"caller,omitempty"` // after inbound translation
	Route    string `json:"route,omitempty"`
	Strategy string `json:"strategy,omitempty"`
	// Inbound are the customer's inbound translation rules applied.
	Inbound  []Step           `json:"inbound_steps,omitempty"`
	At       time.Time        `json:"at"`
	Reject   *SimulatedReject `json:"reject,omitempty"`
	Sell     *SimulatedRow    `json:"sell,omitempty"`
	Carriers []SimulatedLeg   `json:"carriers,omitempty"`
	Costs    []SimulatedCost  `json:"costs,omitempty"`
	Margin   *SimulatedMargin `json:"margin,omitempty"`
	Limits   *SimulatedLimits `json:"limits,omitempty"`
}

// SimulatedReject is the SIP status a refused call would get.
type SimulatedReject struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
	Detail string `json:"detail,omitempty"`
}

// SimulatedRow is the rate row a leg is priced by, with its card.
type SimulatedRow struct {
	Card          string `json:"card"`
	Revision      int    `json:"revision"`
	Currency      string `json:"currency"`
	Prefix        string `json:"prefix"`
	Description   string `json:"description,omitempty"`
	Rate          string `json:"rate"`
	ConnectionFee string `json:"connection_fee"`
	Initial       int32  `json:"initial_increment"`
	Increment     int32  `json:"subsequent_increment"`
	Grace         int32  `json:"grace,omitempty"`
}

// SimulatedLeg is one carrier: an attempt in the order it would be tried,
// or one margin protection or the route skips (Skipped, with SkipReason:
// the margin's reason, or the route's pin, block or max_attempts).
// Placement says why a carrier tried is where it is: "least cost",
// "priority 1", "weight 70 of 100", "pinned, …". Costs price
// the samples on this carrier; BreakEven and ProfitableFrom are those of
// BreakEven within BreakEvenLimit, null when never (or when the currencies
// differ, which MarginNote then says).
type SimulatedLeg struct {
	CarrierID string       `json:"carrier_id"`
	Addr      string       `json:"addr"`
	Transport string       `json:"transport"`
	Buy       SimulatedRow `json:"buy"`
	Placement string       `json:"placement,omitempty"`
	// ChannelsInUse are the live calls on the carrier (a Limiter's view).
	ChannelsInUse  *int            `json:"channels_in_use,omitempty"`
	Skipped        bool            `json:"skipped"`
	SkipReason     string          `json:"skip_reason,omitempty"`
	MarginNote     string          `json:"margin_note,omitempty"`
	BreakEven      *int            `json:"break_even_seconds"`
	ProfitableFrom *int            `json:"profitable_from_seconds"`
	Costs          []SimulatedCost `json:"costs,omitempty"`
	// Called and Calling are the numbers the carrier would get (Request-URI
	// and To; From), after the Outbound translation steps.
	Called   string `json:"called,omitempty"`
	Calling  string `json:"calling,omitempty"`
	Outbound []Step `json:"outbound_steps,omitempty"`
	// Health is the endpoint's state: a down one is not tried, a demoted
	// one is tried after the others (see Health).
	Health *SimulatedHealth `json:"health,omitempty"`
}

// SimulatedHealth is a carrier endpoint's health as routing sees it.
type SimulatedHealth struct {
	State   string `json:"state"` // up, down or unknown
	Demoted bool   `json:"demoted"`
}

// SimulatedCost prices a call of Seconds answered seconds: the sell side,
// and the buy side and margin on a carrier (at the top level, the first
// one tried). On a carrier, Required is the least margin the policy asks
// at that duration and Checked marks the durations it checks.
type SimulatedCost struct {
	Seconds    int    `json:"seconds"`
	SellBilled int32  `json:"sell_billed"`
	Sell       string `json:"sell"`
	BuyBilled  int32  `json:"buy_billed,omitempty"`
	Buy        string `json:"buy,omitempty"`
	Margin     string `json:"margin,omitempty"`
	Required   string `json:"required_margin,omitempty"`
	Checked    bool   `json:"checked,omitempty"`
}

// SimulatedMargin is the margin policy a call is planned under, with the
// customer's minimums in place. FirstBlock is null when the policy does
// not check the first billed block; MaxBreakEven is 0 when off.
type SimulatedMargin struct {
	MinPercent      string `json:"min_percent"`
	MinAmount       string `json:"min_amount"`
	ExpectedSeconds int    `json:"expected_seconds"`
	FirstBlock      *int   `json:"first_block_seconds"`
	MaxBreakEven    int    `json:"max_break_even_seconds"`
}

func simulatedRow(l Leg) SimulatedRow {
	s := l.Card.Settings()
	return SimulatedRow{Card: s.ID, Revision: s.Revision, Currency: s.Currency, Prefix: l.Row.Prefix,
		Description: l.Row.Description, Rate: l.Row.PerMinute.String(), ConnectionFee: l.Row.ConnectionFee.String(),
		Initial: l.Row.Initial, Increment: l.Row.Increment, Grace: l.Row.Grace}
}

// Simulate plans a call from customerID to number at the given time, as
// Route would, without placing it, and prices the sample durations. A refusal
// is reported in the Simulation; the error is non-nil only when the
// router has no table yet.
func (r *Router) Simulate(ctx context.Context, customerID, number string, at time.Time) (*Simulation, error) {
	return r.SimulateCall(ctx, Call{CustomerID: customerID, Dialled: number, At: at})
}

// SimulateCall is Simulate for a call with its caller (and tech prefix):
// it also shows the number translation rules applied.
func (r *Router) SimulateCall(_ context.Context, c Call) (*Simulation, error) {
	t := r.table.Load()
	if t == nil {
		return nil, errors.New("routing: no table loaded")
	}
	sim := &Simulation{Customer: c.CustomerID, At: c.At.UTC()}
	sim.Inbound = t.inboundSteps(c)
	p, err := r.plan(c, true)
	if err != nil {
		code, reason := Status(err)
		sim.Reject = &SimulatedReject{Code: code, Reason: reason}
		var rj *Reject
		if errors.As(err, &rj) && rj.Err != nil {
			sim.Reject.Detail = rj.Err.Error()
		}
		if p == nil {
			return sim, nil
		}
	}
	sim.Number, sim.Caller, sim.Route, sim.Strategy = p.Number, p.Caller, p.RouteID, p.Strategy
	if sim.Strategy == "" {
		sim.Strategy = strategyOf(p.route) // refused before the strategy ran
	}
	sell := simulatedRow(p.Sell)
	sim.Sell = &sell
	sim.Margin = simulatedMargin(p)
	samples := sampleDurations(p)
	up := 0
	for _, a := range p.Attempts {
		l := simulatedLeg(p, a.CarrierID, a.Addr, a.Transport, a.Buy, samples)
		t.simulateOut(&l, p)
		l.Placement = placement(p.route, a.CarrierID)
		if r.health != nil {
			key := attemptKey(&a)
			l.Health = &SimulatedHealth{State: r.health.Snapshot(key).State, Demoted: r.health.Demoted(key)}
			if r.health.Up(key) {
				up++
			}
		}
		sim.Carriers = append(sim.Carriers, l)
	}
	if r.health != nil && up == 0 && len(p.Attempts) > 0 && sim.Reject == nil {
		sim.Reject = &SimulatedReject{Code: 503, Reason: "All Carriers Down"}
	}
	for _, s := range p.Skipped {
		l := simulatedLeg(p, s.CarrierID, s.Addr, s.Transport, s.Buy, samples)
		l.Skipped, l.SkipReason = true, s.Reason()
		t.simulateOut(&l, p)
		sim.Carriers = append(sim.Carriers, l)
	}
	for _, u := range p.Untranslated {
		l := simulatedLeg(p, u.CarrierID, u.Addr, u.Transport, u.Buy, samples)
		l.Skipped, l.SkipReason = true, u.Err.Error()
		t.simulateOut(&l, p)
		sim.Carriers = append(sim.Carriers, l)
	}
	for _, d := range samples {
		sc := p.Sell.Charge(d)
		c := SimulatedCost{Seconds: d, SellBilled: sc.Billed, Sell: sc.Cost.String()}
		if len(p.Attempts) > 0 {
			bc := p.Attempts[0].Buy.Charge(d)
			c.BuyBilled, c.Buy = bc.Billed, bc.Cost.String()
			c.Margin = (sc.Cost - bc.Cost).String()
		}
		sim.Costs = append(sim.Costs, c)
	}
	return sim, nil
}
