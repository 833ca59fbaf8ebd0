package sip

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"strconv"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/routing"
)

// Probe defaults.
const (
	DefaultProbeInterval    = 10 * time.Second
	DefaultProbeTimeout     = 2 * time.Second
	DefaultProbeConcurrency = 32
)

// ProbeSink takes probe results (routing.Health implements it). It is safe
// for concurrent use.
type ProbeSink interface {
	// Probed records one probe of the endpoint key: alive or not, and a
	// short result ("200", "503", "timeout", "error"). It returns the
	// endpoint's state after it: "up", "down" or "unknown".
	Probed(key string, alive bool, result string) string
	// Retain forgets the endpoints not in keep.
	Retain(keep []string)
}

// Prober sends OPTIONS to every carrier endpoint once per interval, as the
// switch (its own Call-ID, tags and Via; Max-Forwards 70) through the
// client transaction layer, and reports each result to a ProbeSink.
//
// Any final response means alive (a carrier that answers 404, 405 or 501
// to OPTIONS is up: Kamailio dispatcher's default), except 503, which a
// carrier sends when it takes no calls; no final response within the
// timeout, or a transport error, is a failure. A round waits for all its
// probes (at most the timeout each, a bounded number at once) and the next
// starts one interval after it began, plus up to a tenth of it of jitter:
// no endpoint is probed faster than the interval.
type Prober struct {
	s           *Server
	targets     func() []routing.ProbeTarget
	sink        ProbeSink
	interval    time.Duration
	timeout     time.Duration
	concurrency int
	log         *slog.Logger
	metrics     *probeMetrics
}

// ProbeOption configures a Prober.
type ProbeOption func(*Prober)

// WithProbeInterval sets how often each endpoint is probed.
func WithProbeInterval(d time.Duration) ProbeOption { return func(p *Prober) { p.interval = d } }

// WithProbeTimeout sets how long a probe waits for its final response.
func WithProbeTimeout(d time.Duration) ProbeOption { return func(p *Prober) { p.timeout = d } }

// WithProbeConcurrency bounds the probes in flight at once.
func WithProbeConcurrency(n int) ProbeOption { return func(p *Prober) { p.concurrency = n } }

// NewProber returns a Prober sending from s to the endpoints targets lists
// (called once per round: the current routing table's) and reporting to
// sink. Its metrics are registered on s's registry: one Prober per Server.
func NewProber(s *Server, targets func() []routing.ProbeTarget, sink ProbeSink, opts ...ProbeOption) *Prober {
	p := &Prober{s: s, targets: targets, sink: sink, interval: DefaultProbeInterval, timeout: DefaultProbeTimeout,
		concurrency: DefaultProbeConcurrency, log: s.log.With("part", "probe")}
	for _, o := range opts {
		o(p)
	}
	p.interval = max(p.interval, 10*time.Millisecond)
	p.timeout = min(max(p.timeout, time.Millisecond), p.interval)
	p.concurrency = max(p.concurrency, 1)
	p.metrics = newProbeMetrics(s.reg)
	return p
}

// Run probes until ctx ends. Start it after the Server listens.
func (p *Prober) Run(ctx context.Context) {
	for {
		began := time.Now()
		p.round(ctx)
		wait := p.interval + rand.N(p.interval/10+1) - time.Since(began)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
}

// round probes every endpoint once.
func (p *Prober) round(ctx context.Context) {
	targets := p.targets()
	keys := make([]string, len(targets))
	states := make([]string, len(targets))
	sem := make(chan struct{}, p.concurrency)
	var wg sync.WaitGroup
	for i, t := range targets {
		keys[i] = t.Key
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return
		}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			alive, result := p.probe(ctx, t)
			if ctx.Err() != nil {
				return // stopping: not the carrier's fault
			}
			p.metrics.probes.WithLabelValues(probeLabel(result)).Inc()
			states[i] = p.sink.Probed(t.Key, alive, result)
			if !alive {
				p.log.Debug("carrier endpoint probe failed", "carrier", t.CarrierID, "endpoint", t.EndpointID, "result", result, "state", states[i])
			}
		}()
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	p.sink.Retain(keys)
	counts := map[string]float64{routing.StateUp: 0, routing.StateDown: 0, routing.StateUnknown: 0}
	for _, st := range states {
		counts[st]++
	}
	for st, n := range counts {
		p.metrics.endpoints.WithLabelValues(st).Set(n)
	}
}

// probeLabel bounds the result label: ok, unavailable, timeout or error.
func probeLabel(result string) string {
	switch result {
	case "timeout", "error":
		return result
	case "503":
		return "unavailable"
	}
	return "ok"
}

// probe sends one OPTIONS to t and waits for its final response.
func (p *Prober) probe(ctx context.Context, t routing.ProbeTarget) (alive bool, result string) {
	s := p.s
	host, port := splitHostPort(t.Addr)
	tr := transportUpper(t.Transport)
	ruri := gosip.Uri{Scheme: "sip", Host: host, Port: port}
	if tr == transportTCP {
		ruri.UriParams = gosip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	callID, tags := newIDs(1)
	sd := side{callID: callID, localTag: tags[0], local: "<sip:ping@" + s.advertiseHost() + ">;tag=" + tags[0],
		remote: "<sip:" + uriHost(host) + ">", target: ruri, next: hop{addr: t.Addr, transport: tr}, localSeq: 1, carrier: true}
	data, branch, next := s.legRequest(&sd, gosip.OPTIONS, 1, 70, []string{"Accept: application/sdp"}, nil)
	done := make(chan int, 1)
	tx := &clientTx{key: txKey{branch: branch, method: gosip.OPTIONS}, to: next, data: data}
	tx.handle = func(res *response) {
		if res.code >= 200 {
			select {
			case done <- res.code:
			default:
			}
		}
	}
	tx.failed = func() {
		select {
		case done <- -1:
		default:
		}
	}
	if err := s.request(tx, false); err != nil {
		return false, "error"
	}
	timer := time.NewTimer(p.timeout)
	defer timer.Stop()
	select {
	case code := <-done:
		switch {
		case code < 0:
			return false, "error"
		case code == 503:
			return false, "503"
		}
		return true, strconv.Itoa(code)
	case <-timer.C:
		s.abandon(tx)
		return false, "timeout"
	case <-ctx.Done():
		s.abandon(tx)
		return false, "error"
	}
}
