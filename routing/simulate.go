package routing

import (
	"context"
	"errors"
	"time"
)

// SampleDurations are the answered seconds Simulate prices a call at.
var SampleDurations = []int{1, 30, 60, 61, 300}

// Simulation is what the switch would do with a call, as JSON for the
// admin API: the sell row, the carriers in the order they would be tried
// with their buy rows, and the costs of sample durations. A call the
// switch would refuse has Reject set.
type Simulation struct {
	Customer string           `json:"customer"`
	Number   string           `json:"number,omitempty"` // normalised
	At       time.Time        `json:"at"`
	Reject   *SimulatedReject `json:"reject,omitempty"`
	Sell     *SimulatedRow    `json:"sell,omitempty"`
	Carriers []SimulatedLeg   `json:"carriers,omitempty"`
	Costs    []SimulatedCost  `json:"costs,omitempty"`
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

// SimulatedLeg is one carrier attempt.
type SimulatedLeg struct {
	CarrierID string       `json:"carrier_id"`
	Addr      string       `json:"addr"`
	Transport string       `json:"transport"`
	Buy       SimulatedRow `json:"buy"`
}

// SimulatedCost prices a call of Seconds answered seconds: the sell side,
// and the buy side and margin on the first carrier.
type SimulatedCost struct {
	Seconds    int    `json:"seconds"`
	SellBilled int32  `json:"sell_billed"`
	Sell       string `json:"sell"`
	BuyBilled  int32  `json:"buy_billed,omitempty"`
	Buy        string `json:"buy,omitempty"`
	Margin     string `json:"margin,omitempty"`
}

func simulatedRow(l Leg) SimulatedRow {
	s := l.Card.Settings()
	return SimulatedRow{Card: s.ID, Revision: s.Revision, Currency: s.Currency, Prefix: l.Row.Prefix,
		Description: l.Row.Description, Rate: l.Row.PerMinute.String(), ConnectionFee: l.Row.ConnectionFee.String(),
		Initial: l.Row.Initial, Increment: l.Row.Increment, Grace: l.Row.Grace}
}

// Simulate plans a call from customerID to number at the given time, as
// Route would, without placing it, and prices SampleDurations. A refusal
// is reported in the Simulation; the error is non-nil only when the
// router has no table yet.
func (r *Router) Simulate(ctx context.Context, customerID, number string, at time.Time) (*Simulation, error) {
	if r.table.Load() == nil {
		return nil, errors.New("routing: no table loaded")
	}
	sim := &Simulation{Customer: customerID, At: at.UTC()}
	p, err := r.Route(ctx, Call{CustomerID: customerID, Dialled: number, At: at})
	if err != nil {
		code, reason := Status(err)
		sim.Reject = &SimulatedReject{Code: code, Reason: reason}
		var rj *Reject
		if errors.As(err, &rj) && rj.Err != nil {
			sim.Reject.Detail = rj.Err.Error()
		}
		return sim, nil
	}
	sim.Number = p.Number
	sell := simulatedRow(p.Sell)
	sim.Sell = &sell
	for _, a := range p.Attempts {
		sim.Carriers = append(sim.Carriers, SimulatedLeg{CarrierID: a.CarrierID, Addr: a.Addr, Transport: a.Transport, Buy: simulatedRow(a.Buy)})
	}
	for _, d := range SampleDurations {
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
