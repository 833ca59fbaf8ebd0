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
// the costs of sample durations. A call the
// switch would refuse has Reject set.
type Simulation struct {
	Customer string           `json:"customer"`
	Number   string           `json:"number,omitempty"` // normalised
	At       time.Time        `json:"at"`
	Reject   *SimulatedReject `json:"reject,omitempty"`
	Sell     *SimulatedRow    `json:"sell,omitempty"`
	Carriers []SimulatedLeg   `json:"carriers,omitempty"`
	Costs    []SimulatedCost  `json:"costs,omitempty"`
	Margin   *SimulatedMargin `json:"margin,omitempty"`
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
// or one margin protection skips (Skipped, with SkipReason). Costs price
// the samples on this carrier; BreakEven and ProfitableFrom are those of
// BreakEven within BreakEvenLimit, null when never (or when the currencies
// differ, which MarginNote then says).
type SimulatedLeg struct {
	CarrierID      string          `json:"carrier_id"`
	Addr           string          `json:"addr"`
	Transport      string          `json:"transport"`
	Buy            SimulatedRow    `json:"buy"`
	Skipped        bool            `json:"skipped"`
	SkipReason     string          `json:"skip_reason,omitempty"`
	MarginNote     string          `json:"margin_note,omitempty"`
	BreakEven      *int            `json:"break_even_seconds"`
	ProfitableFrom *int            `json:"profitable_from_seconds"`
	Costs          []SimulatedCost `json:"costs,omitempty"`
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
	if r.table.Load() == nil {
		return nil, errors.New("routing: no table loaded")
	}
	sim := &Simulation{Customer: customerID, At: at.UTC()}
	p, err := r.plan(Call{CustomerID: customerID, Dialled: number, At: at})
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
	sim.Number = p.Number
	sell := simulatedRow(p.Sell)
	sim.Sell = &sell
	sim.Margin = simulatedMargin(p)
	samples := sampleDurations(p)
	up := 0
	for _, a := range p.Attempts {
		l := simulatedLeg(p, a.CarrierID, a.Addr, a.Transport, a.Buy, samples)
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
