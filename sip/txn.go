package sip

import (
	"bytes"
	"sync"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

// RFC 3261 timers. Timer B, F and H are 64·T1, T2 is 8·T1 (the Server's
// t1 is T1; tests shorten it).
const (
	defaultT1 = 500 * time.Millisecond
	timerC    = 3 * time.Minute // an INVITE that rang gets no final answer (RFC 3261 §16.6)
	// A completed transaction absorbs retransmissions this long (T4, Timer
	// I/K; Kamailio's wait timer is the same 5 s).
	defaultLinger = 5 * time.Second
)

func (s *Server) t2() time.Duration      { return 8 * s.t1 }
func (s *Server) timer64() time.Duration { return 64 * s.t1 }

// txKey names a transaction: the branch of the top Via, the sent-by of a
// request's top Via (server side) and the method, ACK counting as INVITE
// (RFC 3261 §17.1.3, §17.2.3).
type txKey struct {
	branch string
	sentBy string
	method gosip.RequestMethod
}

func methodKind(m gosip.RequestMethod) gosip.RequestMethod {
	if m == gosip.ACK {
		return gosip.INVITE
	}
	return m
}

// serverTx is a request the switch received and answers: it resends the
// last response when the request is retransmitted, and retransmits a
// non-2xx final answer to an INVITE over UDP until the ACK comes.
type serverTx struct {
	key    txKey
	method gosip.RequestMethod
	from   hop      // where answers go: the request's source
	conn   *tcpConn // the stream it came on, if TCP
	bad    *refusal // what is wrong with the datagram it came in, if anything

	mu        sync.Mutex
	last      []byte // last response sent
	final     int    // status of the final response sent; 0 before
	acked     bool
	retry     *time.Timer // Timer G
	interval  time.Duration
	cancelled bool   // a CANCEL matched it before its final answer
	onCancel  func() // what a CANCEL does to the call
}

// clientTx is a request the switch sent: it retransmits it over UDP until a
// response (INVITE) or a final one (others), acknowledges a non-2xx final
// answer to an INVITE and passes every new response to handle.
type clientTx struct {
	key    txKey
	to     hop
	data   []byte // the request as sent
	handle func(*response)
	failed func() // no final answer in time, or the transport failed

	mu         sync.Mutex
	retry      *time.Timer // Timer A / E
	deadline   *time.Timer // Timer B / F
	interval   time.Duration
	responded  bool   // a response came
	abandoned  bool   // the switch no longer waits on it: removed at 64·T1 whatever comes
	cancel     []byte // a CANCEL waiting for the first response (RFC 3261 §9.1)
	cancelSent bool   // and it went out
	final      int
	ack        []byte // the ACK sent for a non-2xx final answer
	ackFor     func(*response) []byte
	// leg names the carrier leg of an initial INVITE, for the 2xx answers
	// nobody waits for (see answeredDone); empty for other requests.
	leg legIDs
}

// txTable holds the transactions of one side, and those that have ended and
// only absorb retransmissions until they are swept: as records in done (see
// done.go), or, for those that still need their object (a server
// transaction over TCP, whose answers go on its connection), in linger.
type txTable[T any] struct {
	mu     sync.Mutex
	txs    map[txKey]*T
	done   doneTable
	linger []lingering[T] // oldest first
}

type lingering[T any] struct {
	tx    *T
	key   txKey
	until time.Time
}

func newTxTable[T any]() *txTable[T] {
	return &txTable[T]{txs: map[txKey]*T{}, done: newDoneTable()}
}

func (t *txTable[T]) get(k txKey) *T {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.txs[k]
}

// find returns the transaction under k, or the record of the ended one.
func (t *txTable[T]) find(k txKey) (*T, doneTx, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if tx := t.txs[k]; tx != nil {
		return tx, doneTx{}, true
	}
	d, ok := t.done.find(k)
	return nil, d, ok
}

// add stores tx under k unless a transaction has it; it returns the one
// stored.
func (t *txTable[T]) add(k txKey, tx *T) (*T, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if old, ok := t.txs[k]; ok {
		return old, false
	}
	t.txs[k] = tx
	return tx, true
}

func (t *txTable[T]) remove(k txKey, tx *T) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.txs[k] == tx {
		delete(t.txs, k)
	}
}

// expire keeps tx under k until now+d, then removes it.
func (t *txTable[T]) expire(k txKey, tx *T, now time.Time, d time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.linger = append(t.linger, lingering[T]{tx: tx, key: k, until: now.Add(d)})
}

// retire replaces tx under k by its record d until now+linger.
func (t *txTable[T]) retire(k txKey, tx *T, d doneTx, now time.Time, linger time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.txs[k] == tx {
		delete(t.txs, k)
	}
	t.done.add(k, d, now.Add(linger))
}

// record stores d under k until now+linger, in place of any record k had.
func (t *txTable[T]) record(k txKey, d doneTx, now time.Time, linger time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done.add(k, d, now.Add(linger))
}

// recordNew stores d under k until now+linger unless k has a record; it
// reports whether it stored d.
func (t *txTable[T]) recordNew(k txKey, d doneTx, now time.Time, linger time.Duration) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	if _, ok := t.done.find(k); ok {
		return false
	}
	t.done.add(k, d, now.Add(linger))
	return true
}

// findDone returns the record under k, if one is held.
func (t *txTable[T]) findDone(k txKey) (doneTx, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.done.find(k)
}

// sweep removes the lingering transactions whose time is up.
func (t *txTable[T]) sweep(now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.done.sweep(now)
	i := 0
	for ; i < len(t.linger) && !t.linger[i].until.After(now); i++ {
		l := t.linger[i]
		if t.txs[l.key] == l.tx {
			delete(t.txs, l.key)
		}
	}
	if i > 0 {
		n := copy(t.linger, t.linger[i:])
		clear(t.linger[n:])
		t.linger = t.linger[:n]
	}
}

// pending counts the transactions not yet lingering.
func (t *txTable[T]) pending() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.txs) - len(t.linger)
}

// len counts the transactions held, ended ones included.
func (t *txTable[T]) len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.txs) + t.done.n
}

// sweepEvery sweeps both tables until stop closes.
func (s *Server) sweepEvery(d time.Duration, stop <-chan struct{}) {
	tick := time.NewTicker(d)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-tick.C:
			s.servers.sweep(now)
			s.clients.sweep(now)
		}
	}
}

// bufPool holds render buffers.
var bufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuf() *bytes.Buffer {
	b := bufPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuf(b *bytes.Buffer) {
	if b.Cap() <= 1<<16 {
		bufPool.Put(b)
	}
}

// respond sends res on tx (see respondBytes).
func (s *Server) respond(tx *serverTx, res *gosip.Response) bool {
	buf := getBuf()
	defer putBuf(buf)
	writeMessage(buf, res)
	return s.respondBytes(tx, res.StatusCode, buf.Bytes())
}

// respondBytes sends a response with status code, rendered as b, on tx.
// Only the first final response is sent, except that 2xx answers to an
// INVITE pass through again (a proxy relays the retransmissions of a 2xx).
// It reports whether b was sent.
func (s *Server) respondBytes(tx *serverTx, code int, b []byte) bool {
	final := code >= 200
	success := code >= 200 && code < 300
	tx.mu.Lock()
	if tx.final != 0 && !(success && tx.final < 300 && tx.method == gosip.INVITE) {
		tx.mu.Unlock()
		return false
	}
	first := tx.final == 0
	if first {
		tx.last = append(tx.last[:0], b...)
	}
	if final && first {
		tx.final = code
		tx.onCancel = nil // answered: a CANCEL has nothing left to do, and the call can go
		if success && tx.method == gosip.INVITE {
			tx.last = nil // a retransmitted INVITE is absorbed, not answered again
		}
		if tx.method == gosip.INVITE && code >= 300 {
			if tx.from.transport == transportUDP {
				tx.interval = s.t1
				tx.retry = time.AfterFunc(s.t1, func() { s.retransmitResponse(tx) })
			}
			// Timer H: give up waiting for the ACK.
			time.AfterFunc(s.timer64(), func() { s.ackTimeout(tx) })
		} else {
			s.retire(tx)
		}
	}
	tx.mu.Unlock()
	if err := s.send(b, tx.from, tx.conn, nil); err != nil {
		s.log.Debug("sending response failed", "code", code, "to", tx.from.addr, "error", err)
	}
	return true
}

// answered reports whether tx has sent its final response.
func (tx *serverTx) answered() bool {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	return tx.final != 0
}

// retransmitResponse is Timer G.
func (s *Server) retransmitResponse(tx *serverTx) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.acked {
		return
	}
	_ = s.send(tx.last, tx.from, tx.conn, nil)
	tx.interval = min(2*tx.interval, s.t2())
	tx.retry.Reset(tx.interval)
}

// ackTimeout is Timer H.
func (s *Server) ackTimeout(tx *serverTx) {
	tx.mu.Lock()
	acked := tx.acked
	tx.acked = true
	if tx.retry != nil {
		tx.retry.Stop()
	}
	tx.mu.Unlock()
	if !acked {
		s.servers.remove(tx.key, tx)
	}
}

// retire ends server transaction tx, answered (and for a non-2xx answer to
// an INVITE, acknowledged): its record absorbs retransmissions for
// s.linger. Over TCP, whose answers go on the request's connection, the
// transaction itself lingers (TCP peers do not retransmit: they are few).
// tx.mu is held.
func (s *Server) retire(tx *serverTx) {
	if tx.conn != nil {
		s.servers.expire(tx.key, tx, s.now(), s.linger)
		return
	}
	d := doneTx{final: tx.final, to: tx.from, data: tx.last, ack2xx: tx.method == gosip.INVITE && tx.final < 300}
	s.servers.retire(tx.key, tx, d, s.now(), s.linger)
}

// retransmittedDone handles a request that matched the record of an ended
// server transaction: see retransmitted.
func (s *Server) retransmittedDone(d doneTx, req *gosip.Request) {
	switch {
	case req.IsAck() && d.ack2xx:
		s.onAck(req)
	case req.IsAck():
	case len(d.data) > 0:
		_ = s.send(d.data, d.to, nil, nil)
	}
}

// retransmitted handles a request that matched tx: an ACK ends a non-2xx
// INVITE transaction (the ACK of a 2xx, which RFC 2543 user agents send
// with the INVITE's key, goes on to the carrier), anything else gets the
// last response again.
func (s *Server) retransmitted(tx *serverTx, req *gosip.Request) {
	tx.mu.Lock()
	if req.IsAck() && tx.final >= 200 && tx.final < 300 {
		tx.mu.Unlock()
		s.onAck(req)
		return
	}
	defer tx.mu.Unlock()
	if req.IsAck() {
		if !tx.acked && tx.final >= 300 {
			tx.acked = true
			if tx.retry != nil {
				tx.retry.Stop()
			}
			s.retire(tx)
		}
		return
	}
	if len(tx.last) > 0 && (tx.final == 0 || tx.final >= 300 || tx.method != gosip.INVITE) {
		_ = s.send(tx.last, tx.from, tx.conn, nil)
	}
}

// request sends a request statefully: tx.data goes to tx.to now and, over
// UDP, again at T1, 2·T1, … until a response (INVITE) or a final one.
// Responses are passed to tx.handle in the receiving goroutine; tx.failed
// runs when the transport fails or no answer comes in time: no final
// response within 64·T1 (Timer F), for an INVITE no response at all within
// 64·T1 (Timer B) or no final one within Timer C after a provisional. An
// error means nothing was sent.
func (s *Server) request(tx *clientTx, invite bool) error {
	s.clients.add(tx.key, tx)
	failed := func(error) { s.clientFailed(tx) }
	if err := s.send(tx.data, tx.to, nil, failed); err != nil {
		s.clients.remove(tx.key, tx)
		return err
	}
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.final != 0 {
		return nil // answered already (another goroutine read the response)
	}
	if invite && tx.responded {
		// A provisional answer came first: no retransmission, Timer C.
		tx.deadline = time.AfterFunc(max(timerC, s.ringTimeout+s.timer64()), func() { s.clientFailed(tx) })
		return nil
	}
	if tx.to.transport == transportUDP {
		tx.interval = s.t1
		tx.retry = time.AfterFunc(s.t1, func() { s.retransmitRequest(tx, invite) })
	}
	// Timer B / F; an INVITE that gets a provisional answer waits on
	// Timer C instead.
	tx.deadline = time.AfterFunc(s.timer64(), func() { s.clientFailed(tx) })
	return nil
}

func (s *Server) retransmitRequest(tx *clientTx, invite bool) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	if tx.retry == nil || tx.final != 0 {
		return
	}
	_ = s.send(tx.data, tx.to, nil, nil)
	tx.interval *= 2
	if !invite {
		tx.interval = min(tx.interval, s.t2())
	}
	tx.retry.Reset(tx.interval)
}

// stopRetransmit stops Timer A/E.
func (tx *clientTx) stopRetransmit() {
	if tx.retry != nil {
		tx.retry.Stop()
		tx.retry = nil
	}
}

// abandon ends a client transaction the switch no longer waits on: it stops
// retransmitting and is removed within 32 s even if no answer comes.
func (s *Server) abandon(tx *clientTx) {
	tx.mu.Lock()
	defer tx.mu.Unlock()
	tx.stopRetransmit()
	if tx.final == 0 {
		if tx.deadline != nil {
			tx.deadline.Stop()
		}
		tx.abandoned = true
		tx.deadline = time.AfterFunc(s.timer64(), func() { s.clients.remove(tx.key, tx) })
	}
}

// cancelINVITE sends data, a CANCEL of INVITE transaction tx, once tx has
// had a response (RFC 3261 §9.1): now if it has, else with the first
// provisional one. Nothing is sent after a final answer.
func (s *Server) cancelINVITE(tx *clientTx, data []byte) {
	tx.mu.Lock()
	if tx.final > 0 || tx.cancel != nil {
		tx.mu.Unlock()
		return
	}
	tx.cancel = data
	now := tx.responded
	tx.cancelSent = now
	tx.mu.Unlock()
	if now {
		s.sendCancel(tx, data)
	}
}

func (s *Server) sendCancel(inv *clientTx, data []byte) {
	tx := &clientTx{key: txKey{branch: inv.key.branch, method: gosip.CANCEL}, to: inv.to, data: data}
	if err := s.request(tx, false); err != nil {
		s.log.Debug("CANCEL failed", "to", inv.to.addr, "error", err)
	}
}

// clientFailed ends a transaction without a final answer.
func (s *Server) clientFailed(tx *clientTx) {
	tx.mu.Lock()
	if tx.final != 0 {
		tx.mu.Unlock()
		return
	}
	tx.final = -1
	tx.stopRetransmit()
	failed := tx.failed
	tx.release()
	tx.mu.Unlock()
	s.clients.remove(tx.key, tx)
	if failed != nil {
		failed()
	}
}

// release drops what tx holds of its call once it has a final answer: a
// completed transaction lingers for seconds and must not keep the call, its
// parsed messages and its plan alive that long (what a retransmitted 2xx
// needs is in again). tx.mu is held.
func (tx *clientTx) release() {
	tx.handle, tx.failed, tx.ackFor = nil, nil, nil
}

// answered passes a response to its client transaction.
func (s *Server) answered(tx *clientTx, res *response) {
	tx.mu.Lock()
	if tx.final < 0 {
		tx.mu.Unlock()
		return
	}
	invite := tx.key.method == gosip.INVITE
	if tx.final != 0 {
		// A final answer again, read while the first one retired the
		// transaction (see answeredDone for those that come later):
		// acknowledge a non-2xx again.
		ack := tx.ack
		tx.mu.Unlock()
		if ack != nil && res.code >= 300 {
			_ = s.send(ack, tx.to, nil, nil)
		}
		return
	}
	if invite && res.code < 200 && !tx.responded && tx.deadline != nil && !tx.abandoned {
		tx.deadline.Reset(max(timerC, s.ringTimeout+s.timer64())) // Timer B → Timer C
	}
	tx.responded = true
	var cancel []byte // a CANCEL that waited for this provisional response
	if invite && res.code < 200 && tx.cancel != nil && !tx.cancelSent {
		cancel, tx.cancelSent = tx.cancel, true
	}
	if invite || res.code >= 200 {
		tx.stopRetransmit()
	}
	if res.code >= 200 {
		tx.final = res.code
		tx.data = nil // never sent again
		if tx.deadline != nil {
			tx.deadline.Stop()
		}
		if invite && res.code >= 300 && tx.ackFor != nil {
			tx.ack = tx.ackFor(res)
			_ = s.send(tx.ack, tx.to, nil, nil)
		}
		d := doneTx{final: res.code, to: tx.to}
		if invite {
			// An INVITE's record answers what comes after its final
			// answer (answeredDone): a non-2xx again gets its ACK again,
			// a 2xx of its dialog the ACK once sent, a 2xx of another
			// dialog behind the carrier an ACK and a BYE.
			d.data, d.leg = tx.ack, tx.leg
			if res.success() {
				d.tag = res.toTag()
			}
		}
		s.clients.retire(tx.key, tx, d, s.now(), s.linger)
	}
	handle := tx.handle
	if res.code >= 200 {
		tx.release()
	}
	tx.mu.Unlock()
	if cancel != nil {
		s.sendCancel(tx, cancel)
	}
	if handle != nil {
		handle(res)
	}
}
