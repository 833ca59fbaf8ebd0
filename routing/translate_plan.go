package routing

import "fmt"

// Untranslated is a carrier endpoint left off a call because the
// carrier's outbound translation rules made no number of the call's.
type Untranslated struct {
	CarrierID string
	Addr      string
	Transport string
	Buy       Leg
	Err       error
}

// inbound applies a customer's inbound rules to a call: to the dialled
// number (without tech prefix, user parameters and separators) before it
// is normalised to E.164, and to the caller when it is a number (a caller
// such as "anonymous" is left as it is). steps, when not nil, gets each
// rule applied. An error is the call's 484.
func (tr Translator) inbound(c Call, steps *[]Step) (number, caller string, err error) {
	n, err := tr.Called.apply(cleanDialled(c.Dialled, c.TechPrefix), steps)
	if err != nil {
		return "", "", err
	}
	if number, err = toE164(n); err != nil {
		return "", "", err
	}
	caller = c.Caller
	if len(tr.Calling) > 0 && IsNumber(caller) {
		if caller, err = tr.Calling.apply(caller, steps); err != nil {
			return "", "", err
		}
	}
	return number, caller, nil
}

// outbound applies a carrier's outbound rules to the normalised number and
// to caller (when it is a number).
func (tr Translator) outbound(number, caller string, steps *[]Step) (called, calling string, err error) {
	if called, err = tr.Called.apply(number, steps); err != nil {
		return "", "", fmt.Errorf("called: %w", err)
	}
	calling = caller
	if len(tr.Calling) > 0 && IsNumber(caller) {
		if calling, err = tr.Calling.apply(caller, steps); err != nil {
			return "", "", fmt.Errorf("calling: %w", err)
		}
	}
	return called, calling, nil
}

// translateOut sets the numbers each attempt sends after its carrier's
// outbound rules, from p.Number and p.Caller; received is the caller as
// the customer sent it. Carriers whose rules fail move to p.Untranslated.
func (t *Table) translateOut(p *Plan, received string) {
	kept := p.Attempts[:0]
	for _, a := range p.Attempts {
		tr := t.carriers[a.CarrierID].outbound
		called, calling, err := tr.outbound(p.Number, p.Caller, nil)
		if err != nil {
			p.Untranslated = append(p.Untranslated, Untranslated{CarrierID: a.CarrierID, Addr: a.Addr, Transport: a.Transport, Buy: a.Buy,
				Err: fmt.Errorf("carrier %s outbound rules: %w", a.CarrierID, err)})
			continue
		}
		if called != p.Number {
			a.Called = called
		}
		if calling != received {
			a.Calling = calling
		}
		kept = append(kept, a)
	}
	p.Attempts = kept
}

// inboundSteps are the customer's inbound rules applied to c, up to the
// first that fails.
func (t *Table) inboundSteps(c Call) []Step {
	var steps []Step
	_, _, _ = t.inbound[c.CustomerID].inbound(c, &steps)
	return steps
}

// simulateOut shows on l the carrier's outbound rules applied to the
// plan's numbers (up to the first that fails) and the numbers it would
// get.
func (t *Table) simulateOut(l *SimulatedLeg, p *Plan) {
	var steps []Step
	called, calling, err := t.carriers[l.CarrierID].outbound.outbound(p.Number, p.Caller, &steps)
	l.Outbound = steps
	if err == nil {
		l.Called, l.Calling = called, calling
	}
}
