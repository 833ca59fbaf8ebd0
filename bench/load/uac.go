package load

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
)

// UAC places calls as sipp does with bench/scenarios/uac.xml: an INVITE
// with SDP to a dialled number, retransmitted until a response; 1xx
// optional; on the 2xx an ACK and, after the hold, a BYE, both in the
// dialog the 2xx set up (its To tag, its Record-Route set reversed, its
// Contact as Request-URI; strict routers handled as RFC 3261 §12.2.1.1
// says); the BYE retransmitted until its final response. A non-2xx final
// response is acknowledged and fails the call. All requests go to the
// target, as sipp's do; responses to requests from the far end go to where
// those came from.
//
// It uses one goroutine reading the socket (recvmmsg) and one pacing calls
// and firing timers every millisecond; each sends what it has to say in
// batches (sendmmsg). Calls are kept in a map by their Call-ID's number,
// under one lock. A UAC runs once.
type UAC struct {
	side
	target netip.AddrPort
	text   *uacText

	// Under mu:
	calls    map[uint64]*uacCall
	tm       timers[*uacCall]
	created  int64
	stopped  bool  // no more calls will be placed
	firstAt  int64 // when the first and the last INVITE were sent
	lastAt   int64
	endAt    int64
	st       UACStats // counters; the rest is filled in by Stats
	codes    codeCounts
	failures map[string]int64
	inv200   Histogram
	inv1xx   Histogram
	fresh    []*uacCall // calls placed in this tick, their time set at the end of it
}

type uacState uint8

const (
	calling    uacState = iota // INVITE sent, no response yet
	proceeding                 // a 1xx received
	confirmed                  // 2xx received and acknowledged: holding
	hangingUp                  // BYE sent
	ended
)

type uacCall struct {
	n        uint64 // the call number: the distinct part of its Call-ID
	number   string // dialled
	state    uacState
	seq      uint32 // bumped on every change of state: older timers are void
	sentAt   int64  // INVITE first sent
	delay    int64  // current retransmission interval
	deadline int64  // the transaction in progress fails after it
	dlg      dialog
}

// NewUAC returns a UAC that sends from conn, which must be bound to a
// specific IPv4 address (it names it in Via, From, Contact, Call-ID and
// SDP), to target. The options set the rate, the number of calls or how
// long to place them, the hold and the rest; see Option.
func NewUAC(conn *net.UDPConn, target netip.AddrPort, opts ...Option) (*UAC, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("setting up the UAC: %w", err)
	}
	if !target.Addr().Unmap().Is4() || target.Port() == 0 {
		return nil, fmt.Errorf("setting up the UAC: target %s: %w", target, ErrBadTarget)
	}
	if cfg.duration > 0 {
		// rate × duration calls, however late the pacer's ticks.
		n := max(int(cfg.rate*cfg.duration.Seconds()), 1)
		if cfg.count == 0 || n < cfg.count {
			cfg.count = n
		}
	}
	target = netip.AddrPortFrom(target.Addr().Unmap(), target.Port())
	local, err := localAddr(conn)
	if err != nil {
		return nil, fmt.Errorf("setting up the UAC: %w", err)
	}
	base := strconv.FormatUint(uint64(rand.Uint32N(9_000_000)+1_000_000), 10)
	return &UAC{
		side: side{conn: conn, cfg: cfg}, target: target,
		text:     newUACText(local.String(), local.Addr().String(), target.String(), base),
		calls:    make(map[uint64]*uacCall),
		failures: make(map[string]int64),
	}, nil
}

// localAddr returns the address conn is bound to, which must be a specific
// IPv4 one.
func localAddr(conn *net.UDPConn) (netip.AddrPort, error) {
	ua, ok := conn.LocalAddr().(*net.UDPAddr)
	if !ok {
		return netip.AddrPort{}, errors.New("socket has no UDP address")
	}
	ap := ua.AddrPort()
	ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	if !ap.Addr().Is4() || ap.Addr().IsUnspecified() {
		return netip.AddrPort{}, fmt.Errorf("socket bound to %s: bind a specific IPv4 address", ap)
	}
	return ap, nil
}

// Run places the calls and returns once the last one has ended (succeeded,
// failed or timed out), or when ctx ends, with the calls still in progress
// counted as outstanding. It stops its reader with a read deadline, which
// it clears before returning; it does not close conn.
func (u *UAC) Run(ctx context.Context) (UACStats, error) {
	if u.ran.Swap(true) {
		return UACStats{}, errors.New("a UAC runs once")
	}
	err := u.run(ctx, u.receive, u.tick)
	u.mu.Lock()
	u.stopped = true
	u.endAt = u.now()
	u.mu.Unlock()
	return u.Stats(), err
}

// tick places the calls due, fires the timers due and, when sweep is true,
// fails the calls that timed out. It returns true once the last call has
// ended.
func (u *UAC) tick(now int64, sweep bool, out *outbox) bool {
	u.place(now, out)
	u.tm.expire(now, func(c *uacCall, seq uint32) { u.fire(c, seq, now, out) })
	if sweep {
		u.sweep(now)
	}
	if len(u.fresh) > 0 {
		sent := u.now()
		for _, c := range u.fresh {
			c.sentAt = sent
		}
		u.lastAt = sent
		if u.firstAt == 0 {
			u.firstAt = sent
		}
		clear(u.fresh)
		u.fresh = u.fresh[:0]
	}
	return u.stopped && len(u.calls) == 0
}

// place sends the INVITEs of the calls due at now: rate × elapsed time,
// within the count (rate × duration with WithDuration) and the cap on calls
// in progress.
func (u *UAC) place(now int64, out *outbox) {
	if u.stopped {
		return
	}
	due := int64(float64(now)*u.cfg.rate/1e9) + 1
	if u.cfg.count > 0 {
		due = min(due, int64(u.cfg.count))
	}
	t1 := int64(u.cfg.t1)
	for u.created < due && (u.cfg.limit == 0 || len(u.calls) < u.cfg.limit) && !out.full() {
		u.created++
		n := uint64(u.created)
		c := &uacCall{n: n, number: u.cfg.numbers[(n-1)%uint64(len(u.cfg.numbers))], delay: t1,
			sentAt: now, deadline: now + int64(u.cfg.timeout)}
		u.calls[n] = c
		out.buf = u.text.invite(out.buf, n, c.number)
		out.push(u.target)
		u.tm.set(now, t1, c, c.seq)
		u.fresh = append(u.fresh, c)
	}
	if u.cfg.count > 0 && u.created >= int64(u.cfg.count) {
		u.stopped = true
	}
}

// fire handles a timer of c: a retransmission, or the end of the hold.
func (u *UAC) fire(c *uacCall, seq uint32, now int64, out *outbox) {
	if seq != c.seq {
		return
	}
	switch c.state {
	case calling:
		out.buf = u.text.invite(out.buf, c.n, c.number)
		out.push(u.target)
		u.st.InviteRetransmissions++
		c.delay *= 2
		u.tm.set(now, c.delay, c, c.seq)
	case hangingUp:
		out.buf = u.text.inDialog(out.buf, "BYE", kBye, "2 BYE", c.n, c.number, &c.dlg)
		out.push(u.target)
		u.st.ByeRetransmissions++
		c.delay = min(2*c.delay, int64(u.cfg.t2))
		u.tm.set(now, c.delay, c, c.seq)
	case confirmed:
		u.bye(c, now, out)
	}
}

// bye ends the hold of c with a BYE.
func (u *UAC) bye(c *uacCall, now int64, out *outbox) {
	c.state, c.seq, c.delay, c.deadline = hangingUp, c.seq+1, int64(u.cfg.t1), now+int64(u.cfg.timeout)
	out.buf = u.text.inDialog(out.buf, "BYE", kBye, "2 BYE", c.n, c.number, &c.dlg)
	out.push(u.target)
	u.tm.set(now, c.delay, c, c.seq)
}

// sweep fails the calls whose transaction timed out.
func (u *UAC) sweep(now int64) {
	for _, c := range u.calls {
		if now < c.deadline {
			continue
		}
		switch c.state {
		case calling, proceeding:
			u.end(c, "invite_timeout")
		case hangingUp:
			u.end(c, "bye_timeout")
		}
	}
}

// end ends c: it succeeded when failure is "", else it failed for that
// reason.
func (u *UAC) end(c *uacCall, failure string) {
	c.state, c.seq = ended, c.seq+1
	delete(u.calls, c.n)
	if failure == "" {
		u.st.Succeeded++
		return
	}
	u.st.Failed++
	u.failures[failure]++
}

// Stats returns what the UAC counted so far.
func (u *UAC) Stats() UACStats {
	u.mu.Lock()
	defer u.mu.Unlock()
	s := u.st
	s.Created = u.created
	s.Outstanding = int64(len(u.calls))
	s.Malformed = u.malformed
	s.SendErrors = u.sendErrors.Load()
	s.Responses = u.codes.snapshot()
	if len(u.failures) > 0 {
		s.Failures = make(map[string]int64, len(u.failures))
		for k, v := range u.failures {
			s.Failures[k] = v
		}
	}
	end := u.endAt
	if end == 0 && !u.start.IsZero() {
		end = u.now()
	}
	if u.firstAt > 0 {
		s.ElapsedS = float64(end-u.firstAt) / 1e9
		s.PlacingS = float64(u.lastAt-u.firstAt) / 1e9
		if s.PlacingS > 0 {
			s.Rate = float64(u.created-1) / s.PlacingS
		}
	}
	s.InviteTo200, s.InviteTo1xx = u.inv200.Summary(), u.inv1xx.Summary()
	return s
}

// micros converts ns to µs, 0 for a negative duration.
func micros(ns int64) uint64 { return uint64(max(ns, 0) / 1000) }
