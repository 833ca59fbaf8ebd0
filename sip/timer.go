package sip

import (
	"strconv"
	"strings"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/border"
)

// Session timers (RFC 4028): an answered call whose far end vanished (a
// crashed SBC, a lost route) must end within minutes, not at the maximum
// duration hours later.
//
// A customer that asks for a session timer (Session-Expires in its INVITE)
// keeps it end to end: the headers cross, the parties refresh through the
// switch, and the switch watches. Every re-INVITE or UPDATE it relays with a
// 2xx is a refresh; when none came within the negotiated interval (less
// min(32 s, interval/3), RFC 4028 §10) the switch ends the call.
//
// A customer that did not ask gets the switch's own timer: the carrier is
// offered Session-Expires with the switch as refresher, and every half
// interval the switch refreshes both legs itself, with UPDATE where the party
// allows it and in-dialog OPTIONS otherwise (both are answered by any live
// user agent). A leg that answers 408 or 481, or not at all, is gone (RFC
// 3261 §12.2.1.2): the call ends with a BYE on both legs.

// DefaultSessionExpires is the interval of the switch's own session timer.
const DefaultSessionExpires = 30 * time.Minute

// DefaultMinSE is the smallest interval the switch accepts by default (RFC
// 4028's Min-SE); a customer asking for less is answered 422.
const DefaultMinSE = 90 * time.Second

// WithSessionTimer sets the interval of the switch's own session timer
// (default DefaultSessionExpires; 0 turns it off, and only the timers
// customers ask for are watched) and the smallest interval it accepts
// (default DefaultMinSE).
func WithSessionTimer(interval, minSE time.Duration) Option {
	return func(s *Server) { s.sessionExpires, s.minSE = interval, minSE }
}

// seMode is who keeps a call's session timer.
type seMode uint8

const (
	seOff     seMode = iota
	seParties        // the customer asked: the parties refresh, the switch watches
	seSwitch         // the switch refreshes both legs
)

const reasonSessionExpired = "Session Expired"

// offerTimer decides a call's session timer from the customer's INVITE and
// adds what the carrier is offered to the headers that cross. It refuses a
// Session-Expires below the switch's Min-SE (422, with it). A longer one
// than the switch's own interval is lowered to it, and the carrier is told
// the switch's Min-SE (RFC 4028 §8.1). c.mu is held.
func (s *Server) offerTimer(c *call, req *gosip.Request) *refusal {
	c.a.allowsUpdate = allowsUpdate(requestValues(req, "allow"))
	c.seSupported = listHas(requestValues(req, "supported"), "timer")
	if vs := requestValues(req, "session-expires"); len(vs) > 0 {
		d, ok := deltaSeconds(vs[0])
		if !ok || d < s.minSE {
			r := refuse(422, "Session Interval Too Small")
			r.lines = []string{"Min-SE: " + seconds(s.minSE)}
			return r
		}
		c.se, c.seInterval = seParties, d
		if s.sessionExpires > 0 && d > s.sessionExpires {
			_, params, _ := strings.Cut(vs[0], ";")
			line := "Session-Expires: " + seconds(max(s.sessionExpires, s.minSE))
			if params != "" {
				line += ";" + params
			}
			c.out.headers = append(withoutHeaders(c.out.headers, "Session-Expires:"), line)
		}
	} else {
		if s.sessionExpires <= 0 {
			return nil
		}
		c.se, c.seInterval = seSwitch, s.sessionExpires
		c.out.headers = append(c.out.headers, "Session-Expires: "+seconds(s.sessionExpires)+";refresher=uac")
		if !contains(c.out.headers, "Supported: timer") {
			c.out.headers = append(c.out.headers, "Supported: timer")
		}
	}
	if vs := requestValues(req, "min-se"); len(vs) == 0 || func() bool { d, ok := deltaSeconds(vs[0]); return !ok || d < s.minSE }() {
		c.out.headers = append(withoutHeaders(c.out.headers, "Min-SE:"), "Min-SE: "+seconds(s.minSE))
	}
	return nil
}

// retryTimer answers a carrier's 422 to the switch's own timer (RFC 4028
// §7.3): the INVITE goes again to the same carrier, once, with the
// carrier's Min-SE as the interval. It reports whether it did; a 422 the
// customer's own timer caused is the customer's to handle. c.mu is held.
func (s *Server) retryTimer(c *call, res *response) bool {
	if c.se != seSwitch || c.seRetried {
		return false
	}
	vs := responseValues(res, "min-se")
	if len(vs) != 1 {
		return false
	}
	d, ok := deltaSeconds(vs[0])
	if !ok || d <= c.seInterval {
		return false
	}
	c.seRetried, c.seInterval = true, d
	c.out.headers = append(withoutHeaders(c.out.headers, "Session-Expires:", "Min-SE:"),
		"Session-Expires: "+seconds(d)+";refresher=uac", "Min-SE: "+seconds(d))
	return true
}

// answerTimer takes a carrier's 2xx to the INVITE: it arms the call's
// session timer and returns the header lines that cross to the customer.
// Under the switch's own timer the carrier's Session-Expires and Require
// stay on its leg, and a customer that supports timers (and UPDATE, with
// which the switch refreshes) learns that the switch refreshes. c.mu is
// held.
func (s *Server) answerTimer(c *call, l *leg, res *response, lines []string) []string {
	if vs := responseValues(res, "allow"); len(vs) > 0 {
		l.b.allowsUpdate = allowsUpdate(vs)
	}
	se, ok := s.responseSE(res)
	switch c.se {
	case seParties:
		if ok {
			c.seInterval = se
			s.armTimer(c)
			return lines
		}
		// The carrier did not take the customer's timer: the switch keeps
		// its own, the customer's UA may refresh too.
		if s.sessionExpires <= 0 {
			c.se = seOff
			return lines
		}
		c.se, c.seInterval = seSwitch, s.sessionExpires
	case seSwitch:
		if ok && se < c.seInterval {
			c.seInterval = se // the carrier may shorten it, not below its Min-SE
		}
		lines = s.timerLines(c, lines)
	default:
		return lines
	}
	s.armTimer(c)
	return lines
}

// timerLines are lines, crossing to the customer in a 2xx under the
// switch's own timer, without the carrier's timer headers, and with the
// switch's when the customer supports timers and UPDATE. c.mu is held.
func (s *Server) timerLines(c *call, lines []string) []string {
	lines = withoutHeaders(lines, "Session-Expires:", "Require:", "Min-SE:")
	if c.seSupported && c.a.allowsUpdate {
		lines = append(lines, "Session-Expires: "+seconds(c.seInterval)+";refresher=uas", "Require: timer")
	}
	return lines
}

// armTimer (re)starts the call's session timer from now. c.mu is held.
func (s *Server) armTimer(c *call) {
	if c.se == seOff || c.ended {
		return
	}
	d := c.seInterval / 2 // the switch refreshes
	if c.se == seParties {
		d = c.seInterval - min(32*time.Second, c.seInterval/3) // RFC 4028 §10
	}
	c.seDue = s.now().Add(d)
	if c.seTimer == nil {
		c.seTimer = time.AfterFunc(d, func() { s.timerFired(c) })
		return
	}
	c.seTimer.Reset(d)
}

// refreshed notes a re-INVITE or UPDATE that one party sent and the other
// answered 2xx through the switch: both are alive. Under the customer's
// timer the interval is the answer's Session-Expires; an answer without
// one ends the parties' timer (RFC 4028 §7.2), and the switch keeps its
// own. c.mu is held.
func (s *Server) refreshed(c *call, res *response) {
	if c.se == seOff {
		return
	}
	if c.se == seParties {
		se, ok := s.responseSE(res)
		switch {
		case ok:
			c.seInterval = se
		case s.sessionExpires > 0:
			c.se, c.seInterval = seSwitch, s.sessionExpires
		default:
			c.se = seOff
			if c.seTimer != nil {
				c.seTimer.Stop()
			}
			return
		}
	}
	s.armTimer(c)
}

// timerFired ends a call whose parties did not refresh in time, or sends
// the switch's refreshes.
func (s *Server) timerFired(c *call) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ended || c.answeredLeg == nil || c.se == seOff {
		return
	}
	if early := c.seDue.Sub(s.now()); early > 0 {
		c.seTimer.Reset(early) // re-armed by a refresh while this waited for the lock
		return
	}
	if c.se == seParties {
		s.log.Info("session timer expired", "call", c.id, "interval", c.seInterval)
		s.sessionExpired(c)
		return
	}
	s.sendRefresh(c, &c.a, "customer")
	s.sendRefresh(c, &c.answeredLeg.b, "carrier")
	s.armTimer(c)
}

// sendRefresh sends the switch's refresh on leg sd, unless the last one is
// still unanswered: UPDATE when the party allows it, OPTIONS otherwise. A
// 408, a 481 or no answer ends the call. c.mu is held.
func (s *Server) sendRefresh(c *call, sd *side, party string) {
	if sd.refreshing || c.ended {
		return
	}
	method := gosip.OPTIONS
	var lines []string
	if sd.allowsUpdate {
		method = gosip.UPDATE
		if sd.carrier || c.seSupported {
			// The switch sends the refresh and is the refresher: uac.
			lines = []string{"Session-Expires: " + seconds(c.seInterval) + ";refresher=uac", "Supported: timer"}
		}
	}
	sd.localSeq++
	data, branch, next := s.legRequest(sd, method, sd.localSeq, 70, lines, nil)
	answered := func(why string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		sd.refreshing = false
		if why != "" && !c.ended {
			s.log.Info("session refresh failed: the party is gone", "call", c.id, "party", party, "method", method, "answer", why)
			s.sessionExpired(c)
		}
	}
	tx := &clientTx{key: txKey{branch: branch, method: method}, to: next, data: data}
	tx.handle = func(res *response) {
		switch {
		case res.code < 200:
		case res.code == 408 || res.code == 481:
			answered(strconv.Itoa(res.code))
		default:
			answered("") // any other answer: the party is there
		}
	}
	tx.failed = func() {
		// The transport may fail while c.mu is held here: not inline.
		if !s.track() {
			return // closing: Close ends the calls
		}
		go func() {
			defer s.wg.Done()
			answered("timeout")
		}()
	}
	sd.refreshing = true
	s.metrics.refreshes.WithLabelValues(string(method)).Inc()
	if err := s.request(tx, false); err != nil {
		sd.refreshing = false
		s.log.Info("session refresh not sent", "call", c.id, "party", party, "error", err)
		s.sessionExpired(c)
	}
}

// sessionExpired ends an answered call whose session timer ran out: a BYE
// on each leg, then the CDR with the switch as the side that hung up.
// c.mu is held.
func (s *Server) sessionExpired(c *call) {
	if c.ended {
		return
	}
	s.metrics.sessionExpired.Inc()
	s.byeBoth(c)
	s.finish(c, nil, outcome{code: 200, reason: reasonSessionExpired, answered: true}, "switch")
}

// responseSE is a response's Session-Expires interval, if it has a valid
// one, never below the switch's Min-SE.
func (s *Server) responseSE(res *response) (time.Duration, bool) {
	vs := responseValues(res, "session-expires")
	if len(vs) != 1 {
		return 0, false
	}
	d, ok := deltaSeconds(vs[0])
	return max(d, s.minSE), ok
}

// deltaSeconds reads a Session-Expires or Min-SE value: delta-seconds, then
// parameters. Values are capped at a day.
func deltaSeconds(v string) (time.Duration, bool) {
	num, _, _ := strings.Cut(v, ";")
	n, err := strconv.ParseUint(strings.TrimSpace(num), 10, 32)
	if err != nil || n == 0 {
		return 0, false
	}
	return time.Duration(min(n, 86400)) * time.Second, true
}

// responseValues returns the values of every header of res named canon
// (a lower-case canonical name; compact forms count).
func responseValues(res *response, canon string) []string {
	var vs []string
	for _, f := range res.fields() {
		if border.NameBytes(f[0]) == canon {
			vs = append(vs, string(f[1]))
		}
	}
	return vs
}

// requestValues returns the values of every header of req named canon (a
// lower-case canonical name; compact forms count).
func requestValues(req *gosip.Request, canon string) []string {
	var vs []string
	for _, h := range req.Headers() {
		if border.Name(h.Name()) == canon {
			vs = append(vs, h.Value())
		}
	}
	return vs
}

// allowsUpdate reports whether a party whose Allow values are vs may be
// sent UPDATE: when it lists it, or says nothing (no Allow is no refusal,
// RFC 3261 §20.5).
func allowsUpdate(vs []string) bool { return len(vs) == 0 || listHas(vs, "UPDATE") }

// listHas reports whether comma-separated values (Allow, Supported) list
// tok, in any case.
func listHas(values []string, tok string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), tok) {
				return true
			}
		}
	}
	return false
}

// withoutHeaders drops the lines starting with any of prefixes.
func withoutHeaders(lines []string, prefixes ...string) []string {
	out := lines[:0:0]
	for _, l := range lines {
		keep := true
		for _, p := range prefixes {
			if strings.HasPrefix(l, p) {
				keep = false
			}
		}
		if keep {
			out = append(out, l)
		}
	}
	return out
}

func seconds(d time.Duration) string { return strconv.Itoa(int(d / time.Second)) }
