package routing

import (
	"context"
	"math"
	"time"

	"github.com/trunkline/trunkline/store"
)

// Limit defaults.
const (
	// DefaultCustomerChannels is the channel limit of a customer that has
	// none set: a runaway or hostile customer cannot hold the switch's
	// every channel. 0 (unlimited) must be said in the configuration.
	DefaultCustomerChannels = 1000
	// DefaultLeaseTTL is how long a call's channel lease outlives its last
	// refresh: a node that dies frees its channels after it.
	DefaultLeaseTTL = 2 * time.Minute
	// cpsWindow is the window of a calls-per-second limit.
	cpsWindow = time.Second
)

// Limiter enforces channel and calls-per-second limits over a
// store.Limits: per customer at set-up (Admit), per carrier and carrier
// endpoint before each attempt (Attempt). A call holds one lease per
// limited key while it lives, refreshed (Refresh) more often than the
// lease TTL, and released when it ends (Release). It is safe for
// concurrent use; one Leases is used by one call at a time.
type Limiter struct {
	st              store.Limits
	customer        func(id string) (store.Customer, bool)
	node            string
	ttl             time.Duration
	defaultChannels int
	channelCode     int
}

// LimiterOption configures a Limiter.
type LimiterOption func(*Limiter)

// WithDefaultChannels sets the channel limit of customers without one
// (0: unlimited).
func WithDefaultChannels(n int) LimiterOption { return func(l *Limiter) { l.defaultChannels = n } }

// WithChannelCode sets the SIP status of a call refused for channels: 503
// (the default) or 486.
func WithChannelCode(code int) LimiterOption { return func(l *Limiter) { l.channelCode = code } }

// WithLeaseTTL sets how long a lease outlives its last refresh.
func WithLeaseTTL(d time.Duration) LimiterOption { return func(l *Limiter) { l.ttl = d } }

// NewLimiter returns a Limiter over st; node names this switch in lease
// names; customer looks customers up (the router's table).
func NewLimiter(st store.Limits, node string, customer func(id string) (store.Customer, bool), opts ...LimiterOption) *Limiter {
	l := &Limiter{st: st, node: node, customer: customer, ttl: DefaultLeaseTTL, defaultChannels: DefaultCustomerChannels, channelCode: 503}
	for _, o := range opts {
		o(l)
	}
	return l
}

// Leases are the channels a call holds: its customer's, and those of the
// carrier attempt in progress or answered.
type Leases struct {
	name    string
	held    []string // keys held for the whole call
	attempt []string // keys held for the current attempt
}

// RefreshEvery is how often a call must refresh its leases.
func (l *Limiter) RefreshEvery() time.Duration { return l.ttl / 3 }

// Entry is the authentication entry a call came in by (an IP entry, a
// host, a SIP user) with its own limits (0: none).
type Entry struct {
	ID            string
	Channels, CPS int
}

// Admit checks a new call of a customer, authenticated by entry, against
// the entry's and the customer's limits, before the call costs any
// routing, and takes their channels; callID names the leases. Refusals are
// *Reject: 503 "Entry CPS Limit" / "Customer CPS Limit", or the channel
// code with "Entry Channel Limit" / "Customer Channel Limit". An unknown
// customer has no limits here (routing refuses it).
func (l *Limiter) Admit(ctx context.Context, customerID string, entry Entry, callID string) (*Leases, error) {
	ls := &Leases{name: l.node + "/" + callID}
	c, ok := l.customer(customerID)
	if !ok {
		return ls, nil
	}
	if entry.ID != "" {
		if err := l.admitEntry(ctx, ls, entry); err != nil {
			return nil, err
		}
	}
	if c.CPSLimit > 0 {
		ok, err := l.st.Hit(ctx, "cps/customer/"+c.ID, c.CPSLimit, cpsWindow)
		if err != nil || !ok {
			l.Release(ctx, ls) // the entry's channel
		}
		if err != nil {
			return nil, reject(503, "Limits Unavailable", err)
		}
		if !ok {
			return nil, reject(503, "Customer CPS Limit", nil)
		}
	}
	channels := c.ChannelLimit // -1: unlimited
	if channels == 0 {
		channels = l.defaultChannels
	}
	if channels > 0 {
		key := "channels/customer/" + c.ID
		ok, err := l.st.Acquire(ctx, key, ls.name, channels, l.ttl)
		if err != nil || !ok {
			l.Release(ctx, ls)
		}
		if err != nil {
			return nil, reject(503, "Limits Unavailable", err)
		}
		if !ok {
			return nil, reject(l.channelCode, "Customer Channel Limit", nil)
		}
		ls.held = append(ls.held, key)
	}
	return ls, nil
}

// admitEntry takes an authentication entry's channel and CPS slot.
func (l *Limiter) admitEntry(ctx context.Context, ls *Leases, e Entry) error {
	if e.Channels > 0 {
		key := "channels/entry/" + e.ID
		ok, err := l.st.Acquire(ctx, key, ls.name, e.Channels, l.ttl)
		if err != nil {
			return reject(503, "Limits Unavailable", err)
		}
		if !ok {
			return reject(l.channelCode, "Entry Channel Limit", nil)
		}
		ls.held = append(ls.held, key)
	}
	if e.CPS > 0 {
		ok, err := l.st.Hit(ctx, "cps/entry/"+e.ID, e.CPS, cpsWindow)
		if err != nil || !ok {
			l.Release(ctx, ls)
		}
		if err != nil {
			return reject(503, "Limits Unavailable", err)
		}
		if !ok {
			return reject(503, "Entry CPS Limit", nil)
		}
	}
	return nil
}

// Attempt takes the carrier's and the endpoint's limits for attempt a, in
// place of the previous attempt's. It returns the reason the attempt may
// not be made ("" when it may): the carrier or endpoint is at its limit,
// and the next carrier is tried instead.
func (l *Limiter) Attempt(ctx context.Context, ls *Leases, a Attempt) string {
	l.endAttempt(ctx, ls)
	endpoint := a.CarrierID + "/" + a.Addr
	// Channels first: a call refused for channels spends no CPS slot.
	for _, c := range []struct {
		key, what string
		limit     int
	}{
		{"channels/carrier/" + a.CarrierID, "Carrier Channel Limit", a.CarrierChannels},
		{"channels/endpoint/" + endpoint, "Endpoint Channel Limit", a.EndpointChannels},
	} {
		if c.limit > 0 {
			ok, err := l.st.Acquire(ctx, c.key, ls.name, c.limit, l.ttl)
			if err != nil || !ok {
				l.endAttempt(ctx, ls)
				return c.what
			}
			ls.attempt = append(ls.attempt, c.key)
		}
	}
	for _, c := range []struct {
		key, what string
		limit     int
	}{
		{"cps/carrier/" + a.CarrierID, "Carrier CPS Limit", a.CarrierCPS},
		{"cps/endpoint/" + endpoint, "Endpoint CPS Limit", a.EndpointCPS},
	} {
		if c.limit > 0 {
			if ok, err := l.st.Hit(ctx, c.key, c.limit, cpsWindow); err != nil || !ok {
				l.endAttempt(ctx, ls)
				return c.what
			}
		}
	}
	return ""
}

// endAttempt releases the leases of the attempt that ended.
func (l *Limiter) endAttempt(ctx context.Context, ls *Leases) {
	ctx, cancel := releaseContext(ctx)
	defer cancel()
	for _, k := range ls.attempt {
		_ = l.st.Release(ctx, k, ls.name) // a lease not released expires
	}
	ls.attempt = ls.attempt[:0]
}

// retakeLimit is the limit a lost lease is taken again under: high enough
// that the store never refuses it.
const retakeLimit = math.MaxInt32

// Refresh extends every lease of a live call. A lease the store no longer
// holds (it expired while the process stalled past the TTL, or the store
// lost it) is taken again whatever the count, even over the limit: the
// call is up and must be counted, or the limit would admit calls beyond
// it. It returns how many leases it took again. A store error leaves the
// lease to the next refresh.
func (l *Limiter) Refresh(ctx context.Context, ls *Leases) (retaken int) {
	for _, keys := range [][]string{ls.held, ls.attempt} {
		for _, k := range keys {
			if ok, err := l.st.Refresh(ctx, k, ls.name, l.ttl); ok || err != nil {
				continue
			}
			if ok, err := l.st.Acquire(ctx, k, ls.name, retakeLimit, l.ttl); ok && err == nil {
				retaken++
			}
		}
	}
	return retaken
}

// Release frees every lease of a call that ended.
func (l *Limiter) Release(ctx context.Context, ls *Leases) {
	l.endAttempt(ctx, ls)
	ctx, cancel := releaseContext(ctx)
	defer cancel()
	for _, k := range ls.held {
		_ = l.st.Release(ctx, k, ls.name)
	}
	ls.held = nil
}

// SimulatedLimits are the customer's limits a call would meet now, as
// Explain shows them in a Simulation.
type SimulatedLimits struct {
	Channels      int    `json:"channels"` // 0: unlimited
	ChannelsInUse int    `json:"channels_in_use"`
	CPS           int    `json:"cps,omitempty"` // 0: unlimited
	Refused       string `json:"refused,omitempty"`
}

// Explain adds to sim the limits a call of it would meet now: the
// customer's channels (with its default) and CPS, whether the channels are
// all in use, and the live calls on each carrier. It takes nothing.
func (l *Limiter) Explain(ctx context.Context, sim *Simulation, c store.Customer) {
	lim := &SimulatedLimits{Channels: max(c.ChannelLimit, 0), CPS: c.CPSLimit}
	if c.ChannelLimit == 0 {
		lim.Channels = l.defaultChannels
	}
	if n, err := l.st.Leases(ctx, "channels/customer/"+c.ID); err == nil {
		lim.ChannelsInUse = n
	}
	if lim.Channels > 0 && lim.ChannelsInUse >= lim.Channels {
		lim.Refused = "Customer Channel Limit"
	}
	sim.Limits = lim
	for i := range sim.Carriers {
		if n, err := l.st.Leases(ctx, "channels/carrier/"+sim.Carriers[i].CarrierID); err == nil {
			sim.Carriers[i].ChannelsInUse = &n
		}
	}
}

// releaseTimeout bounds giving back what a call held.
const releaseTimeout = time.Second

// releaseContext is ctx for giving back what a call held: not cut short by
// ctx's end (a set-up step that timed out must still give back what the
// steps before it took, or it stays taken until its TTL), with a bound of
// its own.
func releaseContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
}
