package sip

import (
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
)

// Per-customer and per-carrier series: results classed, money and billed
// seconds added, and past the cap every new id counted as "other".
func TestCallStats(t *testing.T) {
	reg := prometheus.NewRegistry()
	s := &Server{calls: newCallTable()}
	st := newCallStats(reg, 2, s)
	recs := []cdr.Record{
		{CustomerID: "c1", CarrierID: "k1", Attempt: 1, SIPCode: 503, HangupSide: "carrier"}, // failover attempt
		{CustomerID: "c1", CarrierID: "k2", Attempt: 2, Final: true, SIPCode: 200, AnswerMs: 1, Duration: 61, // answered
			Billed: 120, Currency: "USD", SellCost: 2 * rating.Scale / 100, BuyCost: rating.Scale / 100},
		{CustomerID: "c2", CarrierID: "k1", Attempt: 1, Final: true, SIPCode: 486, HangupSide: "carrier"},
		{CustomerID: "c3", Final: true, SIPCode: 404, HangupSide: "switch"}, // past the cap: other
		{CustomerID: "c2", CarrierID: "k1", Attempt: 1, Final: true, SIPCode: 487, HangupSide: "customer"},
		{CustomerID: "c1", CarrierID: "k2", Attempt: 1, SIPCode: 503, Reason: "Carrier Channel Limit", HangupSide: "switch"}, // never sent
	}
	st.observe(recs)
	for _, c := range []struct {
		got  float64
		want float64
		what string
	}{
		{testutil.ToFloat64(st.customerCalls.WithLabelValues("c1", "answered")), 1, "c1 answered"},
		{testutil.ToFloat64(st.customerCalls.WithLabelValues("c2", "busy")), 1, "c2 busy"},
		{testutil.ToFloat64(st.customerCalls.WithLabelValues("c2", "cancelled")), 1, "c2 cancelled"},
		{testutil.ToFloat64(st.customerCalls.WithLabelValues("other", "refused")), 1, "c3 as other, refused"},
		{testutil.ToFloat64(st.carrierAttempts.WithLabelValues("k1", "failed")), 1, "k1's 503"},
		{testutil.ToFloat64(st.carrierAttempts.WithLabelValues("k2", "answered")), 1, "k2 answered"},
		{testutil.ToFloat64(st.carrierAttempts.WithLabelValues("k2", "limited")), 1, "k2 skipped at its limit: not a failure"},
		{testutil.ToFloat64(st.carrierAttempts.WithLabelValues("k2", "failed")), 0, "k2 failures"},
		{testutil.ToFloat64(st.customerBilled.WithLabelValues("c1")), 120, "c1 billed seconds"},
		{testutil.ToFloat64(st.sell.WithLabelValues("c1", "USD")), 0.02, "c1 sell"},
		{testutil.ToFloat64(st.buy.WithLabelValues("k2", "USD")), 0.01, "k2 buy"},
	} {
		if c.got != c.want {
			t.Errorf("%s: %v, want %v", c.what, c.got, c.want)
		}
	}
	if n := testutil.CollectAndCount(st.customerCalls); n != 4 {
		t.Errorf("%d customer series, want 4 (c1, c2 and other only)", n)
	}
	var m dto.Metric
	if err := st.duration.Write(&m); err != nil || m.GetHistogram().GetSampleCount() != 1 || m.GetHistogram().GetSampleSum() != 61 {
		t.Errorf("duration histogram: %v %v", m.GetHistogram(), err)
	}
}
