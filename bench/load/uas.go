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

// UAS answers calls as sipp does with bench/scenarios/uas.xml: a new INVITE
// gets 180 then 200 with SDP at once (both repeating its Via and
// Record-Route lines, To with the UAS's tag, Contact
// <sip:ip:port;transport=UDP>); the 200 is retransmitted until the ACK or
// the BYE comes; a BYE gets 200 and ends the call, which is kept a while
// (WithLinger) to answer a retransmitted BYE again. A retransmitted INVITE
// gets the 200 again. In a call, other requests (OPTIONS, UPDATE, INFO,
// CANCEL, a re-INVITE) get 200; out of any call, OPTIONS gets 200, other
// new methods 405, and requests with a To tag 481. Responses go to where the
// request came from.
//
// Like UAC, it uses one reader goroutine and one timer goroutine and keeps
// its calls, by Call-ID, under one lock. A UAS runs once.
type UAS struct {
	side
	tagPrefix string // "<base>SIPpTag01"
	contact   string // "Contact: <sip:ip:port;transport=UDP>\r\n"
	sdpTail   string // the Content-Type and Content-Length lines and the SDP of a 200

	// Under mu:
	calls  map[string]*uasCall
	tm     timers[*uasCall]
	n      uint64
	active int64
	st     UASStats
	tag    []byte   // scratch for a To tag
	free   [][]byte // spare buffers for 200s awaiting their ACK
}

type uasState uint8

const (
	answered    uasState = iota // 180 and 200 sent, no ACK yet
	established                 // ACK received
	over                        // BYE answered; kept to answer it again
)

type uasCall struct {
	n        uint64 // the call's number, in its To tag
	state    uasState
	seq      uint32 // bumped on every change of state: older timers are void
	ok       []byte // the 200 while it awaits its ACK
	to       netip.AddrPort
	delay    int64 // current retransmission interval of the 200
	deadline int64 // answered: no ACK by then fails the call; over: forgotten then
}

// NewUAS returns a UAS that answers on conn, which must be bound to a
// specific IPv4 address (it names it in Contact and SDP). Of the options it
// takes WithTimers, WithTimeout, WithLinger and WithFilter.
func NewUAS(conn *net.UDPConn, opts ...Option) (*UAS, error) {
	cfg := defaults()
	for _, o := range opts {
		o(&cfg)
	}
	if err := cfg.validate(); err != nil {
		return nil, fmt.Errorf("setting up the UAS: %w", err)
	}
	local, err := localAddr(conn)
	if err != nil {
		return nil, fmt.Errorf("setting up the UAS: %w", err)
	}
	body := sdp(local.Addr().String())
	return &UAS{
		side:      side{conn: conn, cfg: cfg},
		tagPrefix: strconv.FormatUint(uint64(rand.Uint32N(9_000_000)+1_000_000), 10) + "SIPpTag01",
		contact:   "Contact: <sip:" + local.String() + ";transport=UDP>\r\n",
		sdpTail:   sdpHead(body) + body,
		calls:     make(map[string]*uasCall),
	}, nil
}

// Run answers calls until ctx ends, then returns what the UAS counted. It
// stops its reader with a read deadline, which it clears before returning;
// it does not close conn.
func (s *UAS) Run(ctx context.Context) (UASStats, error) {
	if s.ran.Swap(true) {
		return UASStats{}, errors.New("a UAS runs once")
	}
	err := s.run(ctx, s.receive, s.tick)
	return s.Stats(), err
}

// tick retransmits the 200s due and, when sweep is true, fails the calls
// never acknowledged and forgets the ended ones. A UAS is never done.
func (s *UAS) tick(now int64, sweep bool, out *outbox) bool {
	s.tm.expire(now, func(c *uasCall, seq uint32) { s.fire(c, seq, now, out) })
	if sweep {
		s.sweep(now)
	}
	return false
}

// receive answers a datagram read at now.
func (s *UAS) receive(data []byte, from netip.AddrPort, now int64, out *outbox) {
	m := s.scan(data)
	if m == nil {
		return
	}
	if !m.IsRequest() {
		s.st.Stray++
		return
	}
	c := s.calls[string(m.CallID)]
	switch {
	case isMethod(m.Method, "INVITE"):
		s.invite(c, m, from, now, out)
	case isMethod(m.Method, "ACK"):
		if c == nil {
			s.st.Stray++
		} else if c.state == answered {
			c.state, c.seq = established, c.seq+1
			s.release(c)
			s.st.Acked++
		}
	case isMethod(m.Method, "BYE"):
		if c == nil {
			s.reply(m, "481 Call/Transaction Does Not Exist", from, out)
			s.st.Unknown++
			return
		}
		if c.state == over {
			s.st.ByeRetransmissions++
		} else {
			c.state, c.seq, c.deadline = over, c.seq+1, now+int64(s.cfg.linger)
			s.release(c)
			s.active--
			s.st.Completed++
		}
		out.buf = appendResponseHead(out.buf, "200 OK", m, false, nil)
		out.buf = append(out.buf, s.contact...)
		out.buf = appendEmpty(out.buf)
		out.push(from)
	case m.ToTag == nil && !isMethod(m.Method, "CANCEL"):
		s.st.Other++
		if isMethod(m.Method, "OPTIONS") {
			s.reply(m, "200 OK", from, out)
		} else {
			s.reply(m, "405 Method Not Allowed", from, out)
		}
	case c == nil || c.state == over:
		s.reply(m, "481 Call/Transaction Does Not Exist", from, out)
		s.st.Unknown++
	default:
		s.reply(m, "200 OK", from, out)
		s.st.Other++
	}
}

// invite answers a new INVITE, a retransmitted one or a re-INVITE.
func (s *UAS) invite(c *uasCall, m *Msg, from netip.AddrPort, now int64, out *outbox) {
	switch {
	case c == nil && m.ToTag != nil:
		s.reply(m, "481 Call/Transaction Does Not Exist", from, out)
		s.st.Unknown++
	case c == nil:
		s.n++
		c = &uasCall{n: s.n, to: from, delay: int64(s.cfg.t1), deadline: now + int64(s.cfg.timeout)}
		s.calls[string(m.CallID)] = c
		s.active++
		s.st.Calls++
		s.tag = strconv.AppendUint(append(s.tag[:0], s.tagPrefix...), c.n, 10)
		out.buf = appendResponseHead(out.buf, "180 Ringing", m, true, s.tag)
		out.buf = append(out.buf, s.contact...)
		out.buf = appendEmpty(out.buf)
		out.push(from)
		s.appendOK(out, m, c)
		out.push(from)
		c.ok = append(s.buffer(), out.last()...)
		s.tm.set(now, c.delay, c, c.seq)
	case m.ToTag == nil: // a retransmission: the 200 again
		s.st.InviteRetransmissions++
		if c.state != over {
			s.appendOK(out, m, c)
			out.push(from)
		}
	case c.state == over:
		s.reply(m, "481 Call/Transaction Does Not Exist", from, out)
		s.st.Unknown++
	default: // a re-INVITE
		s.st.Other++
		s.appendOK(out, m, c)
		out.push(from)
	}
}

// appendOK appends the 200 with SDP to INVITE m of call c.
func (s *UAS) appendOK(out *outbox, m *Msg, c *uasCall) {
	s.tag = strconv.AppendUint(append(s.tag[:0], s.tagPrefix...), c.n, 10)
	out.buf = appendResponseHead(out.buf, "200 OK", m, true, s.tag)
	out.buf = append(out.buf, s.contact...)
	out.buf = append(out.buf, s.sdpTail...)
}

// reply sends a response without a body and without a new To tag.
func (s *UAS) reply(m *Msg, status string, from netip.AddrPort, out *outbox) {
	out.buf = appendEmpty(appendResponseHead(out.buf, status, m, false, nil))
	out.push(from)
}

// fire retransmits the 200 of c while it awaits its ACK.
func (s *UAS) fire(c *uasCall, seq uint32, now int64, out *outbox) {
	if seq != c.seq || c.state != answered {
		return
	}
	out.buf = append(out.buf, c.ok...)
	out.push(c.to)
	s.st.Retransmissions++
	c.delay = min(2*c.delay, int64(s.cfg.t2))
	s.tm.set(now, c.delay, c, c.seq)
}

// sweep fails the calls whose 200 was never acknowledged and forgets the
// ended calls whose linger is over.
func (s *UAS) sweep(now int64) {
	for id, c := range s.calls {
		if now < c.deadline || c.state == established {
			continue
		}
		if c.state == answered {
			s.st.Failed++
			s.active--
			s.release(c)
		}
		c.seq++
		delete(s.calls, id)
	}
}

// buffer returns a spare buffer for a 200 awaiting its ACK.
func (s *UAS) buffer() []byte {
	if n := len(s.free); n > 0 {
		b := s.free[n-1]
		s.free = s.free[:n-1]
		return b
	}
	return make([]byte, 0, 1024)
}

// release gives back the buffer of c's 200.
func (s *UAS) release(c *uasCall) {
	if c.ok != nil && len(s.free) < 4096 {
		s.free = append(s.free, c.ok[:0])
	}
	c.ok = nil
}

// Stats returns what the UAS counted so far.
func (s *UAS) Stats() UASStats {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.st
	st.Active = s.active
	st.Malformed = s.malformed
	st.SendErrors = s.sendErrors.Load()
	if !s.start.IsZero() {
		st.ElapsedS = float64(s.now()) / 1e9
	}
	return st
}
