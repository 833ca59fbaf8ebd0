package routing

import (
	"fmt"
	"strings"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// customerPolicy is a customer's money settings that routing enforces,
// parsed once when the Table is built.
type customerPolicy struct {
	minPercent    rating.Percent
	minAmount     rating.Money
	maxRate       rating.Money
	maxCallCost   rating.Money
	hasMinPercent bool
	hasMinAmount  bool
	hasMaxRate    bool
	hasMaxCost    bool
}

// parseCustomerPolicy reads c's margin and spend-safety fields; "" leaves
// a field unset.
func parseCustomerPolicy(c store.Customer) (customerPolicy, error) {
	var p customerPolicy
	var err error
	money := func(field, s string, v *rating.Money, set *bool) {
		if err != nil || strings.TrimSpace(s) == "" {
			return
		}
		if *v, err = rating.ParseMoney(s); err == nil && *v < 0 {
			err = fmt.Errorf("negative")
		}
		if err != nil {
			err = fmt.Errorf("customer %s: %s %q: %w", c.ID, field, s, err)
		}
		*set = err == nil
	}
	var pct rating.Money
	money("min_margin_percent", c.MinMarginPercent, &pct, &p.hasMinPercent)
	p.minPercent = rating.Percent(pct)
	money("min_margin", c.MinMargin, &p.minAmount, &p.hasMinAmount)
	money("max_rate", c.MaxRate, &p.maxRate, &p.hasMaxRate)
	money("max_call_cost", c.MaxCallCost, &p.maxCallCost, &p.hasMaxCost)
	return p, err
}

// margin is the switch's policy with this customer's minimums in place of
// the defaults where it sets them.
func (p customerPolicy) margin(m Margin) Margin {
	if p.hasMinPercent {
		m.MinPercent = p.minPercent
	}
	if p.hasMinAmount {
		m.MinAmount = p.minAmount
	}
	return m
}

// spendCheck refuses a call whose sell rate per minute is above the
// customer's maximum, or whose first billed block already costs more than
// the most one call may cost. The cut-off of longer calls at that cost is
// credit control's.
func (p customerPolicy) spendCheck(sell Leg) error {
	if p.hasMaxRate && sell.Row.PerMinute > p.maxRate {
		return reject(403, "Rate Above Customer Maximum",
			fmt.Errorf("rate %s per minute is above the maximum %s", sell.Row.PerMinute, p.maxRate))
	}
	if p.hasMaxCost {
		if c := sell.Charge(FirstBlock(sell)).Cost; c > p.maxCallCost {
			return reject(403, "Call Cost Above Customer Maximum",
				fmt.Errorf("the first billed block costs %s, above the maximum %s", c, p.maxCallCost))
		}
	}
	return nil
}
