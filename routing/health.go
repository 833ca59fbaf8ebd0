package routing

import (
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// Health defaults.
const (
	// DefaultDownAfter is how many probes in a row must fail before an
	// endpoint is marked down.
	DefaultDownAfter = 3
	// DefaultUpAfter is how many probes in a row a down endpoint must
	// answer before it is used again.
	DefaultUpAfter = 2
	// DefaultQualityWindow is how many recent attempts per endpoint the
	// quality gate looks at.
	DefaultQualityWindow = 50
	// DefaultQualityMinSamples is the fewest attempts the quality gate
	// judges an endpoint on.
	DefaultQualityMinSamples = 20
	// DefaultDemotionCooldown is how long the quality gate demotes an
	// endpoint before trying it again on fresh attempts.
	DefaultDemotionCooldown = 15 * time.Minute
)

// Endpoint states, as the admin API shows them.
const (
	StateUnknown = "unknown" // never probed, or probing is off: used
	StateUp      = "up"
	StateDown    = "down" // skipped by Route
)

const (
	stateUnknown int32 = iota
	stateUp
	stateDown
)

var stateNames = [...]string{StateUnknown, StateUp, StateDown}

// HealthOption configures a Health.
type HealthOption func(*Health)

// WithThresholds sets how many failed probes in a row mark an endpoint
// down and how many answered ones mark it up again (values below 1 keep
// the defaults).
func WithThresholds(downAfter, upAfter int) HealthOption {
	return func(h *Health) {
		if downAfter > 0 {
			h.downAfter = downAfter
		}
		if upAfter > 0 {
			h.upAfter = upAfter
		}
	}
}

// Health is the state of each carrier endpoint, by EndpointKey: up or down
// by probes (Probed), demoted or not by the outcomes of recent attempts
// (Attempted, quality.go). It is safe for concurrent use; Up and Demoted,
// on the call path, read an atomic (and the clock) and take no lock. A nil
// *Health says every endpoint is up and none is demoted.
type Health struct {
	downAfter, upAfter int
	minASR             float64
	maxPDD             time.Duration
	window, minSamples int
	cooldown           time.Duration
	now                func() time.Time
	eps                sync.Map // key → *endpointHealth
}

// endpointHealth is one endpoint's state. state and demotedUntil are read
// without a lock; the rest is under mu.
type endpointHealth struct {
	state        atomic.Int32
	demotedUntil atomic.Int64 // Unix nanoseconds the demotion ends at; 0: not demoted

	mu                  sync.Mutex
	successes, failures int // consecutive probe results
	lastProbe           time.Time
	lastResult          string
	ring                []sample // the last window attempts
	next                int      // where the next one goes once ring is full
}

// NewHealth returns a Health where every endpoint is unknown (and used).
func NewHealth(opts ...HealthOption) *Health {
	h := &Health{downAfter: DefaultDownAfter, upAfter: DefaultUpAfter, window: DefaultQualityWindow,
		minSamples: DefaultQualityMinSamples, cooldown: DefaultDemotionCooldown, now: time.Now}
	for _, o := range opts {
		o(h)
	}
	h.minSamples = min(h.minSamples, h.window)
	return h
}

// EndpointKey names a carrier endpoint: "carrierID/host:port", the
// address as Attempt.Addr has it.
func EndpointKey(carrierID, host string, port int) string {
	return carrierID + "/" + joinHostPort(host, port)
}

func attemptKey(a *Attempt) string { return a.CarrierID + "/" + a.Addr }

func (h *Health) get(key string) *endpointHealth {
	if e, ok := h.eps.Load(key); ok {
		return e.(*endpointHealth)
	}
	e, _ := h.eps.LoadOrStore(key, &endpointHealth{})
	return e.(*endpointHealth)
}

func (h *Health) lookup(key string) *endpointHealth {
	if h == nil {
		return nil
	}
	if e, ok := h.eps.Load(key); ok {
		return e.(*endpointHealth)
	}
	return nil
}

// Up reports whether the endpoint may be tried: not marked down.
func (h *Health) Up(key string) bool {
	e := h.lookup(key)
	return e == nil || e.state.Load() != stateDown
}

// Demoted reports whether the quality gate moves the endpoint after the
// others: it was demoted less than the cooldown ago and has not recovered
// since.
func (h *Health) Demoted(key string) bool {
	e := h.lookup(key)
	return e != nil && e.demotedAt(h.now())
}

// Probed records a probe of the endpoint: alive (it answered) or not, and
// result, a short word for the API ("200", "503", "timeout", "error"). It
// returns the endpoint's state after it. An unknown endpoint is up at its
// first answer; an up (or unknown) one is down after downAfter failures in
// a row, a down one up after upAfter answers in a row.
func (h *Health) Probed(key string, alive bool, result string) string {
	e := h.get(key)
	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastProbe, e.lastResult = h.now(), result
	st := e.state.Load()
	if alive {
		e.successes++
		e.failures = 0
		if st == stateUnknown || (st == stateDown && e.successes >= h.upAfter) {
			st = stateUp
		}
	} else {
		e.failures++
		e.successes = 0
		// Silence marks down only an endpoint that has answered: one that
		// never answers OPTIONS (many carriers drop them) stays in use, as
		// without probing. A 503 says unavailable whatever came before.
		if (st == stateUp || result == "503") && st != stateDown && e.failures >= h.downAfter {
			st = stateDown
		}
	}
	e.state.Store(st)
	return stateNames[st]
}

// Retain forgets the endpoints whose keys are not in keep (removed from
// the configuration).
func (h *Health) Retain(keep []string) {
	set := make(map[string]struct{}, len(keep))
	for _, k := range keep {
		set[k] = struct{}{}
	}
	h.eps.Range(func(k, _ any) bool {
		if _, ok := set[k.(string)]; !ok {
			h.eps.Delete(k)
		}
		return true
	})
}

// EndpointHealth is what the admin API shows of an endpoint.
type EndpointHealth struct {
	State          string   `json:"state"` // up, down or unknown
	LastProbeMs    *int64   `json:"last_probe_ms"`
	LastResult     string   `json:"last_result,omitempty"`
	Failures       int      `json:"failures"`  // consecutive failed probes
	Successes      int      `json:"successes"` // consecutive answered probes
	Demoted        bool     `json:"demoted"`
	DemotedUntilMs *int64   `json:"demoted_until_ms"` // Unix ms the demotion ends at; null when not demoted
	Samples        int      `json:"samples"`          // attempts in the quality window
	Judged         int      `json:"judged"`           // of them, answered or failed by the carrier
	ASR            *float64 `json:"asr"`              // answered / judged; null when none is
	PDDMs          *int64   `json:"pdd_ms"`           // mean; null without a sample
}

// Snapshot reports the endpoint's health.
func (h *Health) Snapshot(key string) EndpointHealth {
	e := h.lookup(key)
	if e == nil {
		return EndpointHealth{State: StateUnknown}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := h.now()
	e.endCooldown(now)
	out := EndpointHealth{State: stateNames[e.state.Load()], LastResult: e.lastResult, Failures: e.failures,
		Successes: e.successes, Demoted: e.demotedAt(now), Samples: len(e.ring)}
	if !e.lastProbe.IsZero() {
		ms := e.lastProbe.UnixMilli()
		out.LastProbeMs = &ms
	}
	if out.Demoted {
		ms := time.Unix(0, e.demotedUntil.Load()).UnixMilli()
		out.DemotedUntilMs = &ms
	}
	q := e.quality()
	out.Judged = q.judged
	if q.judged > 0 {
		out.ASR = &q.asr
	}
	if q.pdds > 0 {
		ms := q.meanPDD.Milliseconds()
		out.PDDMs = &ms
	}
	return out
}

// apply takes the down endpoints out of p's attempts and moves the
// demoted ones after the others, keeping the order within each group.
// When every endpoint is down the call is refused: 503 All Carriers Down.
func (h *Health) apply(p *Plan) (*Plan, error) {
	if h == nil || len(p.Attempts) == 0 {
		return p, nil
	}
	kept := p.Attempts[:0]
	demoted := 0
	for _, a := range p.Attempts {
		key := attemptKey(&a)
		if !h.Up(key) {
			continue
		}
		if h.Demoted(key) {
			demoted++
		}
		kept = append(kept, a)
	}
	if len(kept) == 0 {
		p.Attempts = kept
		return nil, reject(503, "All Carriers Down", nil)
	}
	if demoted > 0 && demoted < len(kept) {
		// Judged once per endpoint: a cooldown may end while sorting.
		down := make(map[string]bool, demoted)
		for i := range kept {
			if k := attemptKey(&kept[i]); h.Demoted(k) {
				down[k] = true
			}
		}
		sort.SliceStable(kept, func(i, j int) bool {
			return !down[attemptKey(&kept[i])] && down[attemptKey(&kept[j])]
		})
	}
	p.Attempts = kept
	return p, nil
}

// ProbeTarget is one carrier endpoint to probe.
type ProbeTarget struct {
	Key        string // EndpointKey
	CarrierID  string
	EndpointID string
	Addr       string // host:port
	Transport  string // "udp" or "tcp"
}

// ProbeTargets lists the endpoints of the active carriers, in a stable
// order.
func (t *Table) ProbeTargets() []ProbeTarget {
	if t == nil {
		return nil
	}
	var out []ProbeTarget
	for _, c := range t.carriers {
		if c.Status != "" && c.Status != "active" {
			continue
		}
		for _, e := range c.endpoints {
			tr := e.Transport
			if tr == "" {
				tr = "udp"
			}
			addr := joinHostPort(e.Host, e.Port)
			out = append(out, ProbeTarget{Key: c.ID + "/" + addr, CarrierID: c.ID, EndpointID: e.ID, Addr: addr, Transport: tr})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// WithHealth makes Route skip down endpoints and try demoted ones last.
func WithHealth(h *Health) Option { return func(r *Router) { r.health = h } }

// Health returns the router's Health (nil without WithHealth).
func (r *Router) Health() *Health { return r.health }
