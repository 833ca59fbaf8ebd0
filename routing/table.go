package routing

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Table is an immutable snapshot of the configuration routing needs.
type Table struct {
	customers map[string]store.Customer
	routes    map[string][]store.Route // by customer, longest prefix first
	cards     map[string]*rating.Card
	meta      map[string]store.RateCard
	carriers  map[string]carrier
	policies  map[string]customerPolicy // by customer
	inbound   map[string]Translator     // by customer, compiled once per load
	breakEven *breakEvens
}

type carrier struct {
	store.Carrier
	endpoints []store.Endpoint // highest weight first
	outbound  Translator
}

// Load reads the configuration from st and builds a Table. Cards whose id and
// revision are unchanged are taken from prev (which may be nil) instead of
// being rebuilt.
func Load(ctx context.Context, st store.Store, prev *Table) (*Table, error) {
	t := &Table{
		customers: map[string]store.Customer{},
		routes:    map[string][]store.Route{},
		cards:     map[string]*rating.Card{},
		meta:      map[string]store.RateCard{},
		carriers:  map[string]carrier{},
		policies:  map[string]customerPolicy{},
		inbound:   map[string]Translator{},
		breakEven: &breakEvens{},
	}
	customers, err := store.ListJSON[store.Customer](ctx, st, store.Customers)
	if err != nil {
		return nil, err
	}
	for _, c := range customers {
		t.customers[c.ID] = c
		if t.policies[c.ID], err = parseCustomerPolicy(c); err != nil {
			return nil, err
		}
		if t.inbound[c.ID], err = CompileTranslations(c.InboundRules); err != nil {
			return nil, fmt.Errorf("customer %s: inbound_rules: %w", c.ID, err)
		}
	}
	routes, err := store.ListJSON[store.Route](ctx, st, store.Routes)
	if err != nil {
		return nil, err
	}
	for _, r := range routes {
		t.routes[r.CustomerID] = append(t.routes[r.CustomerID], r)
	}
	for _, rs := range t.routes {
		sort.SliceStable(rs, func(i, j int) bool { return len(rs[i].Prefix) > len(rs[j].Prefix) })
	}
	carriers, err := store.ListJSON[store.Carrier](ctx, st, store.Carriers)
	if err != nil {
		return nil, err
	}
	for _, c := range carriers {
		out, err := CompileTranslations(c.OutboundRules)
		if err != nil {
			return nil, fmt.Errorf("carrier %s: outbound_rules: %w", c.ID, err)
		}
		t.carriers[c.ID] = carrier{Carrier: c, outbound: out}
	}
	endpoints, err := store.ListJSON[store.Endpoint](ctx, st, store.Endpoints)
	if err != nil {
		return nil, err
	}
	for _, e := range endpoints {
		if c, ok := t.carriers[e.CarrierID]; ok {
			c.endpoints = append(c.endpoints, e)
			t.carriers[e.CarrierID] = c
		}
	}
	for _, c := range t.carriers {
		sort.SliceStable(c.endpoints, func(i, j int) bool { return c.endpoints[i].Weight > c.endpoints[j].Weight })
	}
	cards, err := store.ListJSON[store.RateCard](ctx, st, store.RateCards)
	if err != nil {
		return nil, err
	}
	var derived []store.RateCard
	for _, m := range cards {
		t.meta[m.ID] = m
		if m.Markup != nil {
			derived = append(derived, m)
			continue
		}
		if prev != nil {
			if old, ok := prev.meta[m.ID]; ok && old.Revision == m.Revision && prev.cards[m.ID] != nil {
				t.cards[m.ID] = prev.cards[m.ID]
				continue
			}
		}
		card, err := loadCard(ctx, st, m)
		if err != nil {
			return nil, err
		}
		t.cards[m.ID] = card
	}
	// Derived cards last: they are rebuilt when they or any of their
	// provider cards changed.
	for _, m := range derived {
		providers := make([]*rating.Card, 0, len(m.ProviderCards))
		same := prev != nil && prev.cards[m.ID] != nil && sameMarkup(prev.meta[m.ID], m)
		for _, pid := range m.ProviderCards {
			pc := t.cards[pid]
			if pc == nil || t.meta[pid].Markup != nil {
				return nil, fmt.Errorf("rate card %s: provider card %q is not a loaded provider card", m.ID, pid)
			}
			providers = append(providers, pc)
			same = same && prev.cards[pid] == pc
		}
		if same {
			t.cards[m.ID] = prev.cards[m.ID]
			continue
		}
		card, err := deriveCard(m, providers)
		if err != nil {
			return nil, err
		}
		t.cards[m.ID] = card
	}
	return t, nil
}

func sameMarkup(old, cur store.RateCard) bool {
	return old.Revision == cur.Revision && old.Markup != nil && cur.Markup != nil && *old.Markup == *cur.Markup
}

// deriveCard builds a customer card from its provider cards by its markup.
func deriveCard(m store.RateCard, providers []*rating.Card) (*rating.Card, error) {
	settings, err := CardSettings(m)
	if err != nil {
		return nil, err
	}
	v, err := rating.ParseMoney(m.Markup.Value)
	if err != nil {
		return nil, fmt.Errorf("rate card %s: markup value: %w", m.ID, err)
	}
	card, err := rating.Derive(settings, rating.Markup{Kind: m.Markup.Kind, Value: v, Combine: m.Markup.Combine}, providers...)
	if err != nil {
		return nil, fmt.Errorf("rate card %s: %w", m.ID, err)
	}
	return card, nil
}

func loadCard(ctx context.Context, st store.Store, m store.RateCard) (*rating.Card, error) {
	rows, err := store.GetJSON[[]store.Rate](ctx, st, store.Rates, m.ID)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, err
	}
	settings, err := CardSettings(m)
	if err != nil {
		return nil, err
	}
	rr := make([]rating.Row, 0, len(rows))
	for i, r := range rows {
		row, err := RateRow(r)
		if err != nil {
			return nil, fmt.Errorf("rate card %s row %d: %w", m.ID, i, err)
		}
		rr = append(rr, row)
	}
	card, err := rating.NewCard(settings, rr)
	if err != nil {
		return nil, fmt.Errorf("rate card %s: %w", m.ID, err)
	}
	return card, nil
}

// CardSettings converts a stored card into rating settings.
func CardSettings(m store.RateCard) (rating.Settings, error) {
	rounding := rating.RoundHalfUp
	if m.Rounding != "" {
		var err error
		if rounding, err = rating.ParseRounding(m.Rounding); err != nil {
			return rating.Settings{}, fmt.Errorf("rate card %s: %w", m.ID, err)
		}
	}
	return rating.Settings{
		ID: m.ID, Revision: m.Revision, Currency: m.Currency,
		Precision: m.Precision, Rounding: rounding, Initial: 60, Increment: 60,
	}, nil
}

// RateRow converts a stored rate into a rating row.
func RateRow(r store.Rate) (rating.Row, error) {
	per, err := rating.ParseMoney(r.PerMinute)
	if err != nil {
		return rating.Row{}, fmt.Errorf("rate: %w", err)
	}
	var fee rating.Money
	if strings.TrimSpace(r.ConnectionFee) != "" {
		if fee, err = rating.ParseMoney(r.ConnectionFee); err != nil {
			return rating.Row{}, fmt.Errorf("connection fee: %w", err)
		}
	}
	return rating.Row{
		Prefix: r.Prefix, Description: r.Description, PerMinute: per, ConnectionFee: fee,
		Initial: int32(r.Initial), Increment: int32(r.Increment), Grace: int32(r.Grace),
		From: r.From, To: r.To, Blocked: r.Blocked,
	}, nil
}

// Customers returns the customers the table was built from.
func (t *Table) Customers() []store.Customer {
	out := make([]store.Customer, 0, len(t.customers))
	for _, c := range t.customers {
		out = append(out, c)
	}
	return out
}

// Customer returns a customer of the snapshot.
func (t *Table) Customer(id string) (store.Customer, bool) {
	c, ok := t.customers[id]
	return c, ok
}

// Card returns a rate card of the snapshot.
func (t *Table) Card(id string) *rating.Card { return t.cards[id] }
