package sip

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	requests       *prometheus.CounterVec // by method
	calls          *prometheus.CounterVec // by outcome
	attempts       *prometheus.CounterVec // by result
	active         prometheus.Gauge       // live calls
	pdd            prometheus.Histogram   // seconds from INVITE to first provisional from a carrier
	rejects        *prometheus.CounterVec // by SIP code
	refusals       *prometheus.CounterVec // the switch's own refusals, by SIP code and reason
	dropped        *prometheus.CounterVec // by reason
	authFailures   prometheus.Counter
	creditCuts     prometheus.Counter     // calls the switch ended when their paid time was over
	creditRefusals *prometheus.CounterVec // calls refused for money, by SIP code
	chargeFailures prometheus.Counter     // answered calls whose charge the credit store refused
	limitRefusals  *prometheus.CounterVec // calls refused or carriers skipped at a limit, by limit
	leaseRetakes   prometheus.Counter     // channel leases of live calls found expired and taken again
	refreshes      *prometheus.CounterVec // session refreshes the switch sent, by method
	sessionExpired prometheus.Counter     // answered calls ended by a session timer
	mediaTimeouts  prometheus.Counter     // answered calls ended for want of media
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_sip_requests_total", Help: "SIP requests received, by method.",
		}, []string{"method"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_calls_total", Help: "Calls ended, by outcome (answered, failed, cancelled, rejected).",
		}, []string{"outcome"}),
		attempts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_carrier_attempts_total", Help: "Carrier attempts, by result (answered, failover, final, cancelled).",
		}, []string{"result"}),
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "trunkline_active_calls", Help: "Calls in progress.",
		}),
		pdd: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "trunkline_pdd_seconds", Help: "Post-dial delay: INVITE received to first ringing or answer.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 3, 5, 8, 13, 20, 30, 45, 60},
		}),
		rejects: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_sip_rejects_total", Help: "Requests answered by the switch itself with an error, by status code.",
		}, []string{"code"}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_call_refusals_total", Help: "Requests the switch itself refused (not a carrier's answer relayed), by SIP code and reason (No Route, Customer Channel Limit, Forbidden, ...).",
		}, []string{"code", "reason"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_sip_dropped_total", Help: "Messages dropped without an answer, by reason.",
		}, []string{"reason"}),
		authFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_sip_auth_failures_total", Help: "Calls refused for an unknown source or bad digest credentials.",
		}),
		creditCuts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_credit_cuts_total", Help: "Answered calls the switch ended because their paid time (credit or maximum call cost) was over.",
		}),
		limitRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_limit_refusals_total", Help: "Calls refused (customer limits) or carrier attempts skipped (carrier and endpoint limits) at a channel or calls-per-second limit, by limit (entry_channel, entry_cps, customer_channel, customer_cps, carrier_channel, carrier_cps, endpoint_channel, endpoint_cps).",
		}, []string{"limit"}),
		leaseRetakes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_limit_lease_retakes_total", Help: "Channel leases of live calls that had expired (the switch stalled past limits.lease_ttl, or the store lost them) and were taken again, over the limit if need be.",
		}),
		chargeFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_charge_failures_total", Help: "Answered calls whose charge the credit store refused after retries: each stays in the live-call register, and a restart charges it.",
		}),
		creditRefusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_credit_refusals_total", Help: "Calls refused at set-up for money (402 no credit, 403 spend limits, 503 credit store unavailable), by SIP code.",
		}, []string{"code"}),
		refreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_session_refreshes_total", Help: "Session refreshes the switch sent on a leg of an answered call (RFC 4028), by method (UPDATE, or OPTIONS to a party that does not allow UPDATE).",
		}, []string{"method"}),
		sessionExpired: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_session_expired_total", Help: "Answered calls the switch ended because a session timer ran out or a refresh found a party gone.",
		}),
		mediaTimeouts: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "trunkline_media_timeouts_total", Help: "Answered calls the switch ended because their relayed media stopped for the media timeout (or the hold timeout while on hold).",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.requests, m.calls, m.attempts, m.active, m.pdd, m.rejects, m.refusals, m.dropped, m.authFailures, m.creditCuts, m.creditRefusals, m.chargeFailures, m.limitRefusals, m.leaseRetakes, m.refreshes, m.sessionExpired, m.mediaTimeouts)
	}
	return m
}

// probeMetrics are the Prober's: counts only, no per-endpoint label (the
// admin API has each endpoint's state).
type probeMetrics struct {
	probes    *prometheus.CounterVec // by result
	endpoints *prometheus.GaugeVec   // by state
}

func newProbeMetrics(reg prometheus.Registerer) *probeMetrics {
	m := &probeMetrics{
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "trunkline_carrier_probes_total", Help: "OPTIONS probes of carrier endpoints, by result (ok, unavailable: 503, timeout, error).",
		}, []string{"result"}),
		endpoints: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "trunkline_carrier_endpoints", Help: "Carrier endpoints by health state (up, down, unknown) after the last probe round.",
		}, []string{"state"}),
	}
	if reg != nil {
		reg.MustRegister(m.probes, m.endpoints)
	}
	return m
}
