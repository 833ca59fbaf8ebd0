package siptest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// Customer is a UAC standing in for a customer's trunk.
type Customer struct {
	*endpoint
	dialogs *sipgo.DialogClientCache

	mu   sync.Mutex
	byes map[string]chan struct{}
}

// NewCustomer starts a customer UAC on ip:0 (UDP). Its source address is
// what the switch authenticates.
func NewCustomer(t testing.TB, ip string) *Customer {
	c := &Customer{byes: map[string]chan struct{}{}}
	c.endpoint = newEndpoint(t, ip, "siptest-customer", func(e *endpoint) {
		c.endpoint = e
		c.dialogs = sipgo.NewDialogClientCache(c.client, c.contact("customer"))
		c.srv.OnBye(func(req *sip.Request, tx sip.ServerTransaction) {
			c.byeCh(req.CallID().Value(), true)
			if err := c.dialogs.ReadBye(req, tx); err != nil {
				_ = tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
			}
		})
	})
	return c
}

func (c *Customer) byeCh(id string, fire bool) chan struct{} {
	c.mu.Lock()
	defer c.mu.Unlock()
	ch, ok := c.byes[id]
	if !ok {
		ch = make(chan struct{})
		c.byes[id] = ch
	}
	if fire {
		select {
		case <-ch:
		default:
			close(ch)
		}
	}
	return ch
}

// Call is a call placed by a Customer.
type Call struct {
	c       *Customer
	Session *sipgo.DialogClientSession
	CallID  string
	// Responses lists the status codes received for the INVITE, in order.
	Responses []int
}

// Dial sends an INVITE for number to the switch at addr (host:port) and
// waits for the final answer. A non-2xx answer returns the Call and an error
// holding the response (see Status); cancelling ctx while ringing sends CANCEL.
func (c *Customer) Dial(ctx context.Context, addr, number string) (*Call, error) {
	return c.DialAuth(ctx, addr, number, "", "")
}

// DialAuth is Dial answering a 401/407 challenge with digest credentials
// for user and password.
func (c *Customer) DialAuth(ctx context.Context, addr, number, user, password string) (*Call, error) {
	host, port, err := hostPort(addr)
	if err != nil {
		return nil, err
	}
	sdp := []byte("v=0\r\no=- 1 1 IN IP4 " + c.Host() + "\r\ns=-\r\nc=IN IP4 " + c.Host() + "\r\nt=0 0\r\nm=audio 40002 RTP/AVP 0\r\n")
	d, err := c.dialogs.Invite(ctx, sip.Uri{Scheme: "sip", User: number, Host: host, Port: port}, sdp,
		sip.NewHeader("Content-Type", "application/sdp"))
	if err != nil {
		return nil, err
	}
	call := &Call{c: c, Session: d, CallID: d.InviteRequest.CallID().Value()}
	err = waitAnswer(ctx, d, sipgo.AnswerOptions{Username: user, Password: password, OnResponse: func(res *sip.Response) error {
		call.Responses = append(call.Responses, res.StatusCode)
		return nil
	}})
	if err != nil {
		return call, err
	}
	return call, d.Ack(ctx)
}

// waitAnswer is d.WaitAnswer turning a panic into an error: sipgo (v1.7.3
// too) dereferences a nil CANCEL response when ctx ends after a provisional
// and the transaction then ends without an error, as when the switch under
// test is killed mid-call.
func waitAnswer(ctx context.Context, d *sipgo.DialogClientSession, opts sipgo.AnswerOptions) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("sipgo WaitAnswer: %v", r)
		}
	}()
	return d.WaitAnswer(ctx, opts)
}

// Status returns the final status code carried by a Dial error, or 0.
func Status(err error) int {
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		return e.Res.StatusCode
	}
	var v sipgo.ErrDialogResponse
	if errors.As(err, &v) {
		return v.Res.StatusCode
	}
	return 0
}

// Customer returns the Customer that placed the call.
func (k *Call) Customer() *Customer { return k.c }

// Hangup sends BYE through the switch.
func (k *Call) Hangup(ctx context.Context) error { return k.Session.Bye(ctx) }

// WaitBye waits until the far side's BYE arrives.
func (k *Call) WaitBye(ctx context.Context) error {
	select {
	case <-k.c.byeCh(k.CallID, false):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
