package sip

import (
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/routing"
)

// call is one customer call from its INVITE to its end. Its events
// (responses, CANCEL, BYE, timers) are handled under mu.
type call struct {
	id      string // Call-ID
	fromTag string // the customer's From tag: tells who sent a BYE
	branch  string // of the customer's INVITE: tells a late retransmission
	ident   auth.Identity
	source  string // customer IP
	caller  string
	dialled string // Request-URI user part as received
	plan    *routing.Plan
	setup   time.Time

	customerTarget hop            // where requests towards the customer go
	req            *gosip.Request // the customer's INVITE
	inv            *serverTx      // and its transaction

	mu            sync.Mutex
	leg           *leg            // the attempt in progress
	answeredLeg   *leg            // the attempt that answered
	legTimer      *time.Timer     // no answer / ring timeout of leg
	legDeadline   time.Time       // when legTimer is due
	carrierTo     string          // To of the carrier's 2xx (its tag names its side of the dialog)
	carrierURI    gosip.Uri       // Contact of the carrier's 2xx
	carrierRR     []string        // Record-Route of the carrier's 2xx
	cseq          [2]uint32       // highest CSeq seen from the customer [0] and the carrier [1]
	maxTimer      *time.Timer     // max call duration
	provisional   bool            // leg has sent a provisional response
	carrierTarget hop             // where requests towards the carrier go (its 2xx Contact)
	attempt       int             // 1-based number of the current attempt
	carrier       routing.Attempt // the current attempt
	tried         time.Time       // when the current attempt was sent
	ringing       time.Time       // first provisional response (for PDD)
	answered      time.Time
	ended         bool
}

// hop is a next-hop address and its transport.
type hop struct {
	addr      string // host:port
	transport string // "UDP" or "TCP"
}

// peer returns where an in-dialog request goes that came from the customer
// (fromCustomer) or from the carrier. c.mu is held.
func (c *call) peer(fromCustomer bool) hop {
	if !fromCustomer {
		return c.customerTarget
	}
	if c.carrierTarget.addr != "" {
		return c.carrierTarget
	}
	return hop{addr: c.carrier.Addr, transport: transportUpper(c.carrier.Transport)}
}

// callTable holds live calls by Call-ID.
type callTable struct {
	mu    sync.Mutex
	calls map[string]*call
}

func newCallTable() *callTable { return &callTable{calls: map[string]*call{}} }

// add stores c unless a call with its Call-ID exists; it reports success.
func (t *callTable) add(c *call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.calls[c.id]; ok {
		return false
	}
	t.calls[c.id] = c
	return true
}

func (t *callTable) get(id string) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id]
}

func (t *callTable) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, id)
}

func (t *callTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}
