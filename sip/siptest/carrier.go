package siptest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Script tells a Carrier how to treat one INVITE.
type Script struct {
	Ring     bool          // send 180 Ringing first, then wait RingTime
	Delay    time.Duration // wait before the final response (after ringing)
	Code     int           // final status; 0 means 200 OK
	Hold     bool          // ring and never answer (until CANCEL)
	NoAnswer bool          // send nothing at all
}

// Carrier is a scripted UAS standing in for a carrier.
type Carrier struct {
	*endpoint
	script  func(*sip.Request) Script
	dialogs *sipgo.DialogServerCache

	mu       sync.Mutex
	invites  []*sip.Request
	sessions map[string]*sipgo.DialogServerSession // by Call-ID
	byes     map[string]chan struct{}              // closed when a BYE for the Call-ID arrives
	cancels  map[string]chan struct{}
}

// NewCarrier starts a carrier UAS on ip:0 (UDP) answering each INVITE as
// script says.
func NewCarrier(t testing.TB, ip string, script func(*sip.Request) Script) *Carrier {
	c := &Carrier{
		script:   script,
		sessions: map[string]*sipgo.DialogServerSession{},
		byes:     map[string]chan struct{}{},
		cancels:  map[string]chan struct{}{},
	}
	// The handlers are in place before the socket serves: a stray request
	// to a reused port must not race their registration.
	c.endpoint = newEndpoint(t, ip, "siptest-carrier", func(e *endpoint) {
		c.endpoint = e
		c.dialogs = sipgo.NewDialogServerCache(c.client, c.contact("carrier"))
		c.srv.OnInvite(c.onInvite)
		c.srv.OnAck(func(req *sip.Request, tx sip.ServerTransaction) { _ = c.dialogs.ReadAck(req, tx) })
		c.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			c.signal(c.byes, req.CallID().Value())
			if err := c.dialogs.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			}
		})
	})
	return c
}

func (c *Carrier) ch(m map[string]chan struct{}, id string) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := m[id]
	if !ok {
		ch = make(chan struct{})
		m[id] = ch
	}
	return ch
}

func (c *Carrier) signal(m map[string]chan struct{}, id string) {
	ch := c.ch(m, id)
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-ch:
	default:
		close(ch)
	}
}

func (c *Carrier) onInvite(req *sip.Request, tx sip.ServerTransaction) {
	id := req.CallID().Value()
	c.mu.Lock()
	c.invites = append(c.invites, req)
	c.mu.Unlock()
	sc := c.script(req)
	if sc.NoAnswer {
		<-tx.Done()
		return
	}
	d, err := c.dialogs.ReadInvite(req, tx)
	if err != nil {
		_ = tx.Respond(sip.NewResponseFromRequest(req, 400, err.Error(), nil))
		return
	}
	if sc.Ring || sc.Hold {
		if err := d.Respond(180, "Ringing", nil); err != nil {
			return
		}
		// Ring for a moment, as a phone does: sipgo processes each received
		// message in its own goroutine, so a 200 sent right behind the 180
		// may overtake it at the far end.
		if sc.Delay == 0 {
			sc.Delay = 50 * time.Millisecond
		}
	}
	if sc.Hold {
		<-tx.Done()
		c.signal(c.cancels, id)
		return
	}
	if sc.Delay > 0 {
		select {
		case <-time.After(sc.Delay):
		case <-tx.Done():
			c.signal(c.cancels, id)
			return
		}
	}
	if sc.Code != 0 && sc.Code != 200 {
		_ = d.Respond(sc.Code, reasonPhrase(sc.Code), nil)
		return
	}
	c.mu.Lock()
	c.sessions[id] = d
	c.mu.Unlock()
	_ = d.RespondSDP([]byte("v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"))
}

// Invites returns the INVITEs received so far.
func (c *Carrier) Invites() []*sip.Request {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*sip.Request(nil), c.invites...)
}

// Bye hangs up an answered call from the carrier side, through the route
// set the switch recorded.
func (c *Carrier) Bye(ctx context.Context, callID string) error {
	c.mu.Lock()
	d := c.sessions[callID]
	c.mu.Unlock()
	if d == nil {
		return sipgo.ErrDialogDoesNotExists
	}
	return d.Bye(ctx)
}

// WaitBye waits until a BYE for callID arrives.
func (c *Carrier) WaitBye(ctx context.Context, callID string) error {
	select {
	case <-c.ch(c.byes, callID):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// WaitCancel waits until an INVITE for callID was cancelled.
func (c *Carrier) WaitCancel(ctx context.Context, callID string) error {
	select {
	case <-c.ch(c.cancels, callID):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func reasonPhrase(code int) string {
	switch code {
	case 404:
		return "Not Found"
	case 480:
		return "Temporarily Unavailable"
	case 486:
		return "Busy Here"
	case 503:
		return "Service Unavailable"
	case 603:
		return "Decline"
	}
	return "Failed"
}
