package routing

import (
	"fmt"
	"slices"
)

func simulatedMargin(p *Plan) *SimulatedMargin {
	m := p.Margin
	sm := &SimulatedMargin{MinPercent: m.MinPercent.String(), MinAmount: m.MinAmount.String(),
		ExpectedSeconds: m.ExpectedSeconds, MaxBreakEven: m.MaxBreakEven}
	if !m.IgnoreFirstBlock {
		d := FirstBlock(p.Sell)
		sm.FirstBlock = &d
	}
	return sm
}

// sampleDurations are SampleDurations with the policy's durations and
// every side's initial block, sorted, each once.
func sampleDurations(p *Plan) []int {
	out := append([]int(nil), SampleDurations...)
	out = append(out, p.Margin.ExpectedSeconds, FirstBlock(p.Sell), int(p.Sell.Row.Initial))
	for _, a := range p.Attempts {
		out = append(out, int(a.Buy.Row.Initial))
	}
	for _, s := range p.Skipped {
		out = append(out, int(s.Buy.Row.Initial))
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// simulatedLeg describes one carrier: its costs and margins at the
// samples, and its break-even durations.
func simulatedLeg(p *Plan, carrierID, addr, transport string, buy Leg, samples []int) SimulatedLeg {
	l := SimulatedLeg{CarrierID: carrierID, Addr: addr, Transport: transport, Buy: simulatedRow(buy)}
	same := SameCurrency(p.Sell, buy)
	if !same {
		l.MarginNote = fmt.Sprintf("sell currency %s differs from buy currency %s: margin not compared",
			p.Sell.Card.Settings().Currency, buy.Card.Settings().Currency)
	} else {
		b := BreakEven(p.Sell, buy, BreakEvenLimit)
		if b.First > 0 {
			l.BreakEven = &b.First
		}
		if b.From > 0 {
			l.ProfitableFrom = &b.From
		}
	}
	first := FirstBlock(p.Sell)
	for _, d := range samples {
		sc, bc := p.Sell.Charge(d), buy.Charge(d)
		c := SimulatedCost{Seconds: d, SellBilled: sc.Billed, Sell: sc.Cost.String(), BuyBilled: bc.Billed, Buy: bc.Cost.String()}
		if same {
			c.Margin = (sc.Cost - bc.Cost).String()
			c.Required = p.Margin.Required(sc.Cost).String()
			c.Checked = d == p.Margin.ExpectedSeconds || (d == first && !p.Margin.IgnoreFirstBlock)
		}
		l.Costs = append(l.Costs, c)
	}
	return l
}
