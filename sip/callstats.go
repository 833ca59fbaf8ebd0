package sip

import (
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
)

// DefaultMetricSeries is how many customers, and how many carriers, get
// series of their own in the per-customer and per-carrier metrics; the
// others are counted under "other", so that a switch with thousands of
// customers does not swamp Prometheus.
const DefaultMetricSeries = 200

// otherLabel stands for the customers or carriers past the cap.
const otherLabel = "other"

// callStats are the per-customer and per-carrier series, fed by the CDRs
// the emitter writes (off the call path) and, for calls in progress,
// counted from the call table when Prometheus scrapes.
type callStats struct {
	customers, carriers *capLabels

	customerCalls   *prometheus.CounterVec // customer, result: final CDRs
	carrierAttempts *prometheus.CounterVec // carrier, result: every attempt
	customerBilled  *prometheus.CounterVec // customer
	carrierBilled   *prometheus.CounterVec // carrier
	sell            *prometheus.CounterVec // customer, currency
	buy             *prometheus.CounterVec // carrier, currency
	duration        prometheus.Histogram   // answered calls
}

// capLabels turns ids into label values, the first max ids seen as
// themselves and the rest as "other".
type capLabels struct {
	max   int
	mu    sync.Mutex
	known map[string]bool
}

func (l *capLabels) label(id string) string {
	if id == "" {
		return "none"
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.known[id] {
		return id
	}
	if len(l.known) >= l.max {
		return otherLabel
	}
	l.known[id] = true
	return id
}

// seen returns the ids that have series of their own.
func (l *capLabels) seen() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]string, 0, len(l.known))
	for id := range l.known {
		out = append(out, id)
	}
	return out
}

func newCallStats(reg prometheus.Registerer, max int, s *Server) *callStats {
	if max <= 0 {
		max = DefaultMetricSeries
	}
	st := &callStats{
		customers: &capLabels{max: max, known: map[string]bool{}},
		carriers:  &capLabels{max: max, known: map[string]bool{}},
		customerCalls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkline_customer_calls_total",
			Help: "Calls ended, by customer and result (answered, busy, no_answer, cancelled, refused by the switch, failed)."},
			[]string{"customer", "result"}),
		carrierAttempts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkline_carrier_calls_total",
			Help: "Carrier attempts ended, by carrier and result (answered, busy, no_answer, cancelled, failed)."},
			[]string{"carrier", "result"}),
		customerBilled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkline_customer_billed_seconds_total",
			Help: "Billed seconds of answered calls, by customer."}, []string{"customer"}),
		carrierBilled: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkline_carrier_billed_seconds_total",
			Help: "Billed seconds of answered calls, by carrier."}, []string{"carrier"}),
		sell: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkline_customer_sell_total",
			Help: "What customers' calls cost them, by customer and currency (for watching: the ledger is the exact account)."},
			[]string{"customer", "currency"}),
		buy: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "trunkline_carrier_buy_total",
			Help: "What the calls cost at carriers, by carrier and currency (for watching: CDRs are the exact account)."},
			[]string{"carrier", "currency"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "trunkline_call_duration_seconds",
			Help:    "Answered seconds of answered calls (ACD is its sum over its count).",
			Buckets: []float64{1, 5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200, 1800, 3600, 7200}}),
	}
	if reg != nil {
		reg.MustRegister(st.customerCalls, st.carrierAttempts, st.customerBilled, st.carrierBilled, st.sell, st.buy, st.duration,
			&activeCollector{s: s, st: st, customers: prometheus.NewDesc("trunkline_customer_active_calls",
				"Calls in progress, by customer.", []string{"customer"}, nil),
				carriers: prometheus.NewDesc("trunkline_carrier_active_calls",
					"Calls in progress with a carrier attempt, by carrier.", []string{"carrier"}, nil)})
	}
	return st
}

// result classes a CDR.
func result(r *cdr.Record) string {
	switch {
	case r.AnswerMs > 0:
		return "answered"
	case r.SIPCode == 486 || r.SIPCode == 600:
		return "busy"
	case r.SIPCode == 487 && r.HangupSide == "customer":
		return "cancelled"
	case r.SIPCode == 408 || r.SIPCode == 480 || r.SIPCode == 487:
		return "no_answer"
	case r.CarrierID == "" || r.HangupSide == "switch" && r.Attempt == 0:
		return "refused"
	case r.HangupSide == "switch" && strings.HasSuffix(r.Reason, " Limit"):
		return "limited" // skipped at the carrier's own limit: never sent
	}
	return "failed"
}

// observe counts the CDRs of a batch.
func (st *callStats) observe(recs []cdr.Record) {
	for i := range recs {
		r := &recs[i]
		res := result(r)
		if r.CarrierID != "" {
			carrier := st.carriers.label(r.CarrierID)
			st.carrierAttempts.WithLabelValues(carrier, res).Inc()
			if r.AnswerMs > 0 {
				st.carrierBilled.WithLabelValues(carrier).Add(float64(r.Billed))
				st.buy.WithLabelValues(carrier, r.Currency).Add(moneyFloat(r.BuyCost))
			}
		}
		if !r.Final {
			continue
		}
		customer := st.customers.label(r.CustomerID)
		st.customerCalls.WithLabelValues(customer, res).Inc()
		if r.AnswerMs > 0 {
			st.customerBilled.WithLabelValues(customer).Add(float64(r.Billed))
			st.sell.WithLabelValues(customer, r.Currency).Add(moneyFloat(r.SellCost))
			st.duration.Observe(float64(r.Duration))
		}
	}
}

// moneyFloat is m as a float, for a metric only.
func moneyFloat(m rating.Money) float64 { return float64(m) / rating.Scale }

// activeCollector counts the calls in progress by customer and carrier
// when scraped: nothing on the call path.
type activeCollector struct {
	s                   *Server
	st                  *callStats
	customers, carriers *prometheus.Desc
}

func (a *activeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- a.customers; ch <- a.carriers }

func (a *activeCollector) Collect(ch chan<- prometheus.Metric) {
	// Every customer and carrier with series has one here, 0 when idle.
	byCustomer, byCarrier := map[string]int{}, map[string]int{}
	for _, id := range a.st.customers.seen() {
		byCustomer[id] = 0
	}
	for _, id := range a.st.carriers.seen() {
		byCarrier[id] = 0
	}
	a.s.calls.each(func(c *call) {
		c.mu.Lock()
		ended, carrier := c.ended, ""
		if c.attempt > 0 {
			carrier = c.carrier.CarrierID
		}
		c.mu.Unlock()
		if ended {
			return
		}
		byCustomer[a.st.customers.label(c.ident.CustomerID)]++
		if carrier != "" {
			byCarrier[a.st.carriers.label(carrier)]++
		}
	})
	for k, n := range byCustomer {
		ch <- prometheus.MustNewConstMetric(a.customers, prometheus.GaugeValue, float64(n), k)
	}
	for k, n := range byCarrier {
		ch <- prometheus.MustNewConstMetric(a.carriers, prometheus.GaugeValue, float64(n), k)
	}
}
