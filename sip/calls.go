package sip

import (
	"crypto/rand"
	"encoding/base32"
	"net/netip"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip/border"
)

// call is one customer call from its INVITE to its end. The switch owns both
// of its legs: the customer's (a, where the switch is the UAS) and one
// carrier leg per attempt (where it is the UAC), each with identifiers of
// its own. Its events (responses, CANCEL, BYE, timers) are handled under mu.
type call struct {
	id      string // the switch's call id: the carrier leg's Call-ID and the CDR key
	ident   auth.Identity
	source  string // customer IP
	caller  string
	dialled string // Request-URI user part as received
	plan    *routing.Plan
	setup   time.Time
	invKey  txKey // the customer INVITE's server transaction

	inv    *serverTx // the customer's INVITE transaction
	invSeq uint32    // the INVITE's CSeq
	aHead  []byte    // head of the responses to it: its Via, From, To with the switch's tag, Call-ID, CSeq
	aRR    []byte    // its Record-Route lines, repeated in the 1xx and 2xx that set up the dialog
	out    outbound  // what the carrier legs are built from

	mu          sync.Mutex
	a           side // the customer's leg
	leg         *leg // the attempt in progress
	answeredLeg *leg // the attempt that answered
	legTimer    *time.Timer
	legDeadline time.Time
	maxTimer    *time.Timer
	provisional bool // leg has sent a provisional response
	attempt     int  // 1-based number of the current attempt
	carrier     routing.Attempt
	tried       time.Time
	ringing     time.Time
	answered    time.Time
	ended       bool
	acks        []*ackWait     // 2xx answers to INVITEs waiting for their ACK
	legs        []*leg         // every attempt, for the dialog table
	up          bool           // in the live-call register
	grant       *routing.Grant // the call's credit; nil when not under credit control
	paidEnd     time.Time      // when the answered call's paid time ends
	creditTimer *time.Timer
	leases      *routing.Leases // the call's channels; nil when not limited
	limitTimer  *time.Timer
	se          seMode        // who keeps the session timer
	seInterval  time.Duration // the session interval once answered
	seTimer     *time.Timer
	seDue       time.Time  // when seTimer is meant to fire
	seSupported bool       // the customer's INVITE said Supported: timer
	seRetried   bool       // the INVITE went again after a carrier's 422
	media       *callMedia // the RTP relay; nil when the call's media goes direct
	relayWanted bool       // the customer's media is relayed unless the carrier says otherwise
	unrelayable bool       // the relay cannot take the customer's offer: attempts that must relay are skipped
	mediaEnded  bool       // the media was relayed and the relay is closed: no SDP crosses any more
}

// outbound is what the switch sends a carrier of the customer's INVITE: the
// caller identity and the headers that cross, checked once.
type outbound struct {
	from    string      // From value without tag: the caller as the carrier sees it
	name    string      // the caller's display name, for a From per attempt
	pai     string      // rewritten P-Asserted-Identity; "" for none
	maxFwd  int         // Max-Forwards to send
	headers []fieldLine // crossing headers, "Name: value"
	body    []byte
}

// fieldLine is one header line that crosses, CRLF excluded.
type fieldLine = string

// side is one leg of a call as a dialog (RFC 3261 §12): the identifiers on
// that leg, where requests to the party go and what the party may send.
type side struct {
	callID    string
	localTag  string    // the switch's tag on this leg
	remoteTag string    // the party's tag; "" until the carrier answered
	local     string    // the switch's From/To value on this leg, tag included
	remote    string    // the party's From/To value, tag included when known
	target    gosip.Uri // the party's Contact
	next      hop       // where requests to target go without a route set
	routes    routeSet  // the proxies towards the party
	peers     []netip.Addr
	localSeq  uint32 // last CSeq the switch sent on this leg
	remoteSeq uint32 // last CSeq the party sent; 0 before any
	carrier   bool   // the carrier's leg
	// pinned: requests to the party go to next whatever the route set
	// says (the customer's leg: back where its INVITE came from, over its
	// TCP connection if it has one).
	pinned       bool
	conn         *tcpConn
	headers      []string // the carrier's own additions to the header policy
	allowsUpdate bool     // the party's Allow lists UPDATE: the switch refreshes with it
	refreshing   bool     // the switch's session refresh on this leg awaits its answer
}

// from reports whether src may send requests on this leg.
func (sd *side) from(src netip.Addr) bool {
	for _, p := range sd.peers {
		if p == src {
			return true
		}
	}
	return false
}

// direction is where a message from this leg's party goes.
func (sd *side) direction() border.Direction {
	if sd.carrier {
		return border.ToCustomer
	}
	return border.ToCarrier
}

// hop is a next-hop address and its transport.
type hop struct {
	addr      string // host:port
	transport string // "UDP" or "TCP"
}

// callTable holds live calls by their switch id, the dialogs of their legs
// by Call-ID and the switch's tag, and the customers' INVITE transactions
// (to absorb an INVITE retransmitted after its transaction ended).
type callTable struct {
	mu      sync.Mutex
	calls   map[string]*call
	dialogs map[dialogKey]dialogEntry
	invites map[txKey]*call
}

// dialogKey names one leg: its Call-ID and the switch's tag on it.
type dialogKey struct{ callID, localTag string }

// dialogEntry is a leg in the table: the customer's (leg nil) or a
// carrier attempt's.
type dialogEntry struct {
	c   *call
	leg *leg
}

func newCallTable() *callTable {
	return &callTable{calls: map[string]*call{}, dialogs: map[dialogKey]dialogEntry{}, invites: map[txKey]*call{}}
}

// add stores c, its customer leg and its INVITE's transaction, unless that
// transaction already has a call (a retransmission); it reports success.
func (t *callTable) add(c *call) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.invites[c.invKey]; ok {
		return false
	}
	t.calls[c.id] = c
	t.invites[c.invKey] = c
	t.dialogs[dialogKey{c.a.callID, c.a.localTag}] = dialogEntry{c: c}
	return true
}

// addLeg stores a carrier attempt's leg.
func (t *callTable) addLeg(c *call, l *leg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.calls[c.id]; ok {
		t.dialogs[dialogKey{l.b.callID, l.b.localTag}] = dialogEntry{c: c, leg: l}
	}
}

// dialog returns the leg a request belongs to by its Call-ID and the
// switch's tag (its To tag).
func (t *callTable) dialog(callID, toTag string) (dialogEntry, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.dialogs[dialogKey{callID, toTag}]
	return e, ok
}

// remove drops c and every leg of it.
func (t *callTable) remove(c *call, legs []*leg) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.calls, c.id)
	delete(t.invites, c.invKey)
	delete(t.dialogs, dialogKey{c.a.callID, c.a.localTag})
	for _, l := range legs {
		delete(t.dialogs, dialogKey{l.b.callID, l.b.localTag})
	}
}

func (t *callTable) get(id string) *call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.calls[id]
}

func (t *callTable) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.calls)
}

// each calls f for every live call.
func (t *callTable) each(f func(*call)) {
	t.mu.Lock()
	cs := make([]*call, 0, len(t.calls))
	for _, c := range t.calls {
		cs = append(cs, c)
	}
	t.mu.Unlock()
	for _, c := range cs {
		f(c)
	}
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// newIDs returns a fresh call id and n tags, random and unrelated to
// anything a party sent.
func newIDs(n int) (string, []string) {
	var b [15 + 5*4]byte
	_, _ = rand.Read(b[:15+5*n])
	id := idEncoding.EncodeToString(b[:15])
	tags := make([]string, n)
	for i := range tags {
		tags[i] = idEncoding.EncodeToString(b[15+5*i : 20+5*i])
	}
	return id, tags
}

// newTag returns a random tag (40 bits, as newIDs makes them).
func newTag() string {
	var b [5]byte
	_, _ = rand.Read(b[:])
	return idEncoding.EncodeToString(b[:])
}
