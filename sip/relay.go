package sip

import (
	"errors"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/media"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/store"
)

// MediaRelay configures the switch's RTP relay (package media). A call
// whose customer or carrier says so (store.Customer.MediaRelay,
// store.Carrier.MediaRelay) has its SDP moved to a pair of the switch's
// ports on each leg, and its RTP and RTCP relayed between them.
type MediaRelay struct {
	Ports *media.Ports
	// Advertise is the address SDP gives the parties; when not valid, the
	// ports' own address, which must then not be a wildcard.
	Advertise netip.Addr
	// Timeout ends an answered call that has relayed no media either way
	// for so long (default DefaultMediaTimeout); HoldTimeout does while a
	// party holds the call (default DefaultHoldTimeout).
	Timeout, HoldTimeout time.Duration
}

// Default media timeouts (rtpengine's timeout is 60 s).
const (
	DefaultMediaTimeout = 60 * time.Second
	DefaultHoldTimeout  = time.Hour
)

// WithMediaRelay turns the RTP relay on.
func WithMediaRelay(r MediaRelay) Option {
	return func(s *Server) {
		r.Timeout = orDefault(r.Timeout, DefaultMediaTimeout)
		r.HoldTimeout = orDefault(r.HoldTimeout, DefaultHoldTimeout)
		s.relay = &r
	}
}

// The legs of a relayed call, as media.Session numbers them.
const (
	customerSide = 0
	carrierSide  = 1
)

// callMedia is a call's relay session and its pairs of ports: pairs[0]
// faces the customer (what the customer's SDP is told), pairs[1] the
// carrier.
type callMedia struct {
	sess  *media.Session
	pairs [2]*media.Pair
	hold  [2]bool     // each party's last SDP holds the call
	timer *time.Timer // the media timeout, once answered
	// offer is the customer's INVITE body as a relayed attempt sends it
	// (its SDP moved to pairs[1]); nil once answered.
	offer []byte
}

// sideOf is the media leg of a call's signalling leg.
func sideOf(sd *side) int {
	if sd.carrier {
		return carrierSide
	}
	return customerSide
}

// wantsRelay tells whether a customer's calls are relayed when their
// carrier leaves it to the customer: always, never, or (auto) when its
// INVITE shows it behind NAT: an SDP address, or without SDP a Contact
// host, that is private and not where the INVITE came from.
func wantsRelay(mode string, src netip.Addr, body []byte, contactHost string) bool {
	switch mode {
	case store.MediaRelayAlways:
		return true
	case store.MediaRelayNever:
		return false
	}
	if a, ok := media.Address(body); ok {
		return media.BehindNAT(src, a)
	}
	a, err := netip.ParseAddr(contactHost)
	return err == nil && media.BehindNAT(src, a)
}

// relays tells whether attempt at's media goes through the relay: the
// carrier's setting, unless auto, else the customer's.
func (s *Server) relays(c *call, at *routing.Attempt) bool {
	if s.relay == nil {
		return false
	}
	switch at.MediaRelay {
	case store.MediaRelayAlways:
		return true
	case store.MediaRelayNever:
		return false
	}
	return c.relayWanted
}

// openMedia opens c's relay session when an attempt of its plan relays,
// and moves the customer's offer (its checked INVITE body) to it. An offer
// the relay cannot take (no audio stream, another address family) leaves
// the call unrelayed: the attempts that must relay are skipped, and a call
// with no other is refused. c.mu is held.
func (s *Server) openMedia(c *call, lines []string, body []byte) *refusal {
	if s.relay == nil {
		return nil
	}
	some, all := false, true
	for i := range c.plan.Attempts {
		r := s.relays(c, &c.plan.Attempts[i])
		some, all = some || r, all && r
	}
	if !some {
		return nil
	}
	a, err := s.relay.Ports.Take()
	if err != nil {
		s.log.Warn("media relay: no free ports", "call", c.id, "error", err)
		return refuse(503, "Media Ports Exhausted")
	}
	b, err := s.relay.Ports.Take()
	if err != nil {
		a.Release()
		s.log.Warn("media relay: no free ports", "call", c.id, "error", err)
		return refuse(503, "Media Ports Exhausted")
	}
	m := &callMedia{sess: media.NewSession(a, b), pairs: [2]*media.Pair{a, b}, offer: body}
	if isSDP(lines) && len(body) > 0 {
		out, offer, err := s.rewrite(c, m, customerSide, body)
		if err != nil {
			m.sess.Close()
			s.log.Info("media relay: the customer's offer cannot be relayed", "call", c.id, "error", err)
			if all {
				return refuse(488, "Not Acceptable Here")
			}
			c.unrelayable = true
			return nil
		}
		m.offer = out
		m.commit(customerSide, offer)
	}
	if err := m.sess.Start(); err != nil {
		m.sess.Close()
		s.log.Error("media relay: cannot relay", "call", c.id, "error", err)
		return refuse(503, "Media Relay Unavailable")
	}
	c.media = m
	return nil
}

// rewrite moves an SDP body that party from sends to the other onto the
// relay: the body names the relay's pair that faces the other party, and
// the offer returned is where from wants its media, for commit. The relay
// sends to an address the SDP names only when it may (media.Sendable)
// and, for a customer, only when it is the host the customer signals
// from: a customer's SDP cannot make the switch send to a third party.
// Otherwise the party gets media once it has sent some (symmetric RTP).
func (s *Server) rewrite(c *call, m *callMedia, from int, body []byte) ([]byte, media.Offer, error) {
	out, offer, err := media.Rewrite(body, s.relayAddr(), m.pairs[1-from].Port)
	if err != nil {
		return nil, offer, err
	}
	a := offer.Remote.Addr()
	offer.Source = c.signalling(from)
	offer.NAT = !media.Sendable(a, s.relayAddr()) || (from == customerSide && a != offer.Source)
	return out, offer, nil
}

// commit tells the session where party side wants its media, from its
// SDP: an answer, or an offer once it is accepted (RFC 3264: an offer
// refused changes nothing).
func (m *callMedia) commit(side int, o media.Offer) {
	m.sess.SetPeer(side, o)
	m.hold[side] = o.OnHold()
}

// relayAddr is the address SDP names for the relay.
func (s *Server) relayAddr() netip.Addr {
	if s.relay.Advertise.IsValid() {
		return s.relay.Advertise
	}
	return s.relay.Ports.Addr()
}

// errNotRelayed is a body the relay could not take (see media.Rewrite).
var errNotRelayed = errors.New("sip: SDP not relayable")

// relayBody is the body of a message that party from sends on a relayed
// call, with its SDP moved to the relay; other bodies, and every body of
// a call that is not relayed, go as they are. An SDP the relay cannot
// take is errNotRelayed. c.mu is held.
func (s *Server) relayBody(c *call, from int, lines []string, body []byte) (out []byte, err error) {
	out, offer, err := s.relayOffer(c, from, lines, body)
	if err == nil && offer != nil {
		c.media.commit(from, *offer)
	}
	return out, err
}

// relayOffer is relayBody for an offer the other party may still refuse:
// the session is told of it (commit) only once it is accepted. offer is
// nil when the body was not moved to the relay. A call whose media was
// relayed and has ended passes no SDP on (the parties' addresses stay
// hidden to the end). c.mu is held.
func (s *Server) relayOffer(c *call, from int, lines []string, body []byte) (out []byte, offer *media.Offer, err error) {
	if len(body) == 0 || !isSDP(lines) {
		return body, nil, nil
	}
	if !c.relayed() {
		if c.mediaEnded {
			return nil, nil, errNotRelayed
		}
		return body, nil, nil
	}
	out, o, err := s.rewrite(c, c.media, from, body)
	if err != nil {
		s.log.Info("media relay: SDP refused", "call", c.id, "from", sideName(from), "error", err)
		return nil, nil, errNotRelayed
	}
	return out, &o, nil
}

// signalling is where party side's requests come from: the customer's
// INVITE's source, the carrier's first address.
func (c *call) signalling(side int) netip.Addr {
	sd := &c.a
	if side == carrierSide {
		if sd = c.carrierSide(); sd == nil && c.leg != nil {
			sd = &c.leg.b
		}
	}
	if sd == nil || len(sd.peers) == 0 {
		return netip.Addr{}
	}
	return sd.peers[0]
}

// relayed tells whether the media of c's dialog goes through the relay:
// the answered leg's, else the attempt in progress's. c.mu is held.
func (c *call) relayed() bool {
	if c.media == nil {
		return false
	}
	if l := c.answeredLeg; l != nil {
		return l.relay
	}
	return c.leg != nil && c.leg.relay
}

// mediaRecord puts what the relay saw of c's media in its final CDR.
// c.mu is held.
func (c *call) mediaRecord(r *cdr.Record) {
	if c.media == nil {
		return
	}
	r.MediaRelayed = true
	for side, st := range []*cdr.RTPStats{&r.CustomerRTP, &r.CarrierRTP} {
		s := c.media.sess.Stats(side)
		*st = cdr.RTPStats{
			Packets: int64(s.Packets), Bytes: int64(s.Bytes), Lost: s.Lost(),
			JitterUs: s.Jitter().Microseconds(), MOS: s.MOS(), PayloadTypes: payloadTypes(s.PayloadTypes()),
			ReportedLost: s.ReportedLost, ReportedJitterUs: s.ReportedJitter.Microseconds(),
		}
	}
}

func payloadTypes(pts []uint8) string {
	var b strings.Builder
	for i, pt := range pts {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(strconv.Itoa(int(pt)))
	}
	return b.String()
}

func sideName(side int) string {
	if side == carrierSide {
		return "carrier"
	}
	return "customer"
}

// withoutBody drops a body and its Content-Type from a message's lines.
func withoutBody(lines []string) []string {
	out := lines[:0:0]
	for _, l := range lines {
		if !strings.HasPrefix(l, "Content-Type:") {
			out = append(out, l)
		}
	}
	return out
}

// isSDP tells whether a message's crossing lines give its body as SDP.
func isSDP(lines []string) bool {
	for _, l := range lines {
		if v, ok := strings.CutPrefix(l, "Content-Type:"); ok {
			typ, _, _ := strings.Cut(v, ";")
			return strings.EqualFold(strings.TrimSpace(typ), "application/sdp")
		}
	}
	return false
}

// attemptMedia readies the relay for attempt l and returns the INVITE body
// it sends: through the relay (its carrier side forgotten: a carrier of an
// earlier attempt no longer reaches the customer), or the customer's own.
// c.mu is held.
func (s *Server) attemptMedia(c *call, l *leg) []byte {
	if c.media == nil || !s.relays(c, &l.at) {
		return c.out.body
	}
	l.relay = true
	c.media.sess.Reset(carrierSide)
	return c.media.offer
}

// mediaAnswered settles the relay once leg l answered: a leg that does not
// relay closes it; one that does starts the media timeout. c.mu is held.
func (s *Server) mediaAnswered(c *call, l *leg) {
	m := c.media
	if m == nil {
		return
	}
	if !l.relay {
		s.closeMedia(c)
		return
	}
	m.offer = nil
	m.sess.Touch()
	m.timer = time.AfterFunc(s.relay.Timeout, func() { s.mediaTimeout(c) })
}

// mediaTimeout ends an answered call whose media stopped: no packet
// relayed either way for the media timeout (the hold timeout while a
// party holds the call); it looks again when there was one.
func (s *Server) mediaTimeout(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.media
	if c.ended || m == nil {
		return
	}
	limit := s.relay.Timeout
	if m.hold[0] || m.hold[1] {
		limit = s.relay.HoldTimeout
	}
	if idle := m.sess.Idle(); idle < limit {
		m.timer.Reset(limit - idle)
		return
	}
	s.log.Info("no media: hanging up", "call", c.id, "timeout", limit)
	s.metrics.mediaTimeouts.Inc()
	s.byeBoth(c)
	s.finish(c, nil, outcome{code: 200, reason: "Media Timeout", answered: true}, "switch")
}

// closeMedia stops c's relay and gives its ports back. c.mu is held.
func (s *Server) closeMedia(c *call) {
	m := c.media
	if m == nil {
		return
	}
	c.media, c.mediaEnded = nil, c.relayed()
	if m.timer != nil {
		m.timer.Stop()
	}
	m.sess.Close()
}

// registerRelayMetrics exports the relay's ports in use and its packets.
func (s *Server) registerRelayMetrics() {
	p := s.relay.Ports
	t := p.Totals()
	s.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trunkline_media_port_pairs", Help: "RTP/RTCP port pairs of the media relay in use (two per relayed call).",
		}, func() float64 { return float64(p.InUse()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "trunkline_media_port_pairs_max", Help: "RTP/RTCP port pairs the media relay's port range holds (media.port_min to media.port_max).",
		}, func() float64 { return float64(p.Capacity()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trunkline_media_packets_total", Help: "RTP and RTCP packets through the media relay, by result.", ConstLabels: prometheus.Labels{"result": "relayed"},
		}, func() float64 { return float64(t.Relayed.Load()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "trunkline_media_packets_total", Help: "RTP and RTCP packets through the media relay, by result.", ConstLabels: prometheus.Labels{"result": "dropped"},
		}, func() float64 { return float64(t.Dropped.Load()) }),
	)
}
