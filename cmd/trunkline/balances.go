package main

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// balanceCollector exports the available balance (balance less open
// holds) of prepaid customers (credit_limit 0) when scraped, for the low
// balance alert: at most max of them, read within a second.
type balanceCollector struct {
	table  func() *routing.Table
	credit store.Credit
	max    int
	desc   *prometheus.Desc
}

func newBalanceCollector(table func() *routing.Table, credit store.Credit, max int) *balanceCollector {
	return &balanceCollector{table: table, credit: credit, max: max, desc: prometheus.NewDesc("trunkline_customer_available_balance",
		"Available balance (balance less what live calls hold) of prepaid customers, by customer and currency (for watching: the ledger is exact).",
		[]string{"customer", "currency"}, nil)}
}

func (b *balanceCollector) Describe(ch chan<- *prometheus.Desc) { ch <- b.desc }

func (b *balanceCollector) Collect(ch chan<- prometheus.Metric) {
	t := b.table()
	if t == nil || b.credit == nil {
		return
	}
	cs := slices.DeleteFunc(t.Customers(), func(c store.Customer) bool { return !routing.Prepaid(c) })
	slices.SortFunc(cs, func(a, b store.Customer) int { return strings.Compare(a.ID, b.ID) })
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	for i, c := range cs {
		if i == b.max || ctx.Err() != nil {
			return
		}
		a, err := b.credit.Account(ctx, routing.BalanceAccount(c.ID))
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(b.desc, prometheus.GaugeValue,
			float64(a.Balance-a.Reserved)/rating.Scale, c.ID, c.Currency)
	}
}
