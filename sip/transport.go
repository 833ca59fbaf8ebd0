package sip

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/trunkline/trunkline/internal/udpio"

	gosip "github.com/emiago/sipgo/sip"
)

// The switch moves SIP messages itself: one UDP socket read by a few
// goroutines that handle each message to the end (parse, match, forward)
// without handing it to another goroutine, and TCP connections read by a
// goroutine each. sipgo parses and renders the messages.

const (
	tcpDialTimeout  = 3 * time.Second
	tcpWriteTimeout = 3 * time.Second
	resolveTimeout  = 3 * time.Second
)

// transport owns the sockets.
type transport struct {
	udp *net.UDPConn
	tcp net.Listener

	mu    sync.Mutex
	conns map[string]*tcpConn   // by remote host:port: accepted and dialled streams
	names map[string]resolved   // resolved host:port names
	slow  map[string]*slowQueue // by transport and destination
	// waiting counts the slow queues, so that send looks for one only
	// when there is any.
	waiting atomic.Int32
}

// tcpConn is one TCP stream; writes are serialised.
type tcpConn struct {
	net.Conn
	key     string
	wmu     sync.Mutex
	dialogs atomic.Int32 // dialogs using it: see hold and release (tcplimits.go)
}

// write sends b; after a failed write the stream may hold part of a
// message, so the connection is closed (its reader then drops it).
func (c *tcpConn) write(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_ = c.SetWriteDeadline(time.Now().Add(tcpWriteTimeout))
	_, err := c.Write(b)
	if err != nil {
		c.Close()
	}
	return err
}

// readBatch is how many datagrams one recvmmsg can return.
const readBatch = 16

// serveUDP reads datagrams, several per system call when they queue up,
// until the socket closes.
func (s *Server) serveUDP() {
	uio, err := udpio.New(s.tp.udp)
	if err != nil {
		s.log.Error("UDP socket unusable", "error", err)
		return
	}
	b := udpio.NewBatch(readBatch)
	bufs := make([][]byte, readBatch)
	for i := range bufs {
		bufs[i] = make([]byte, 65536)
	}
	w := udpio.NewBatch(writeBatch)
	var out []outDatagram
	for {
		n, err := uio.Read(b, bufs)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Debug("UDP read failed", "error", err)
			continue
		}
		for i := range n {
			if src, ok := b.From(i); ok {
				s.receiveDatagram(bufs[i][:b.Length(i)], src)
			}
		}
		// What the batch made goes out now, not from the writer: a reader
		// that finds more to read after every batch (a backlog) would keep
		// the writer, and every answer it queued, waiting until it ran dry.
		if out, err = s.sendQueued(uio, w, out); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// udpQueue holds datagrams on their way out. One goroutine writes them,
// many per system call (sendmmsg): a reader queues what it sends while it
// handles a batch of datagrams and the writer sends them all once the
// reader waits for more.
type udpQueue struct {
	mu   sync.Mutex
	q    []outDatagram
	wake chan struct{}
	// sending is held by whoever takes the queue and sends it (the writer,
	// or a reader after its batch), so datagrams leave in the order queued.
	sending sync.Mutex
}

type outDatagram struct {
	b  *[]byte
	to netip.AddrPort
}

var datagramPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// queue copies b for sending to to.
func (q *udpQueue) queue(b []byte, to netip.AddrPort) {
	bp := datagramPool.Get().(*[]byte)
	*bp = append((*bp)[:0], b...)
	q.mu.Lock()
	q.q = append(q.q, outDatagram{b: bp, to: to})
	q.mu.Unlock()
	// The writer is woken even when a reader will send the queue after
	// its batch: a handler may wait (on the store, a slow route) with a
	// 100 Trying queued.
	select {
	case q.wake <- struct{}{}:
	default:
	}
}

// writeBatch is how many datagrams one sendmmsg sends at most.
const writeBatch = 64

// writeUDP sends queued datagrams until stop closes.
func (s *Server) writeUDP(stop <-chan struct{}) {
	uio, err := udpio.New(s.tp.udp)
	if err != nil {
		s.log.Error("UDP socket unusable", "error", err)
		return
	}
	b := udpio.NewBatch(writeBatch)
	var batch []outDatagram
	for {
		select {
		case <-stop:
			return
		case <-s.out.wake:
		}
		if batch, err = s.sendQueued(uio, b, batch); errors.Is(err, net.ErrClosed) {
			return
		}
	}
}

// sendQueued sends every datagram queued, through b, many per system call;
// batch is the caller's spare slice, returned for its next call. Only a
// closed socket is an error.
func (s *Server) sendQueued(uio *udpio.Conn, b *udpio.Batch, batch []outDatagram) ([]outDatagram, error) {
	s.out.sending.Lock()
	defer s.out.sending.Unlock()
	s.out.mu.Lock()
	batch, s.out.q = s.out.q, batch[:0]
	s.out.mu.Unlock()
	defer clear(batch) // the buffers went back to their pool
	for start := 0; start < len(batch); {
		chunk := batch[start:min(len(batch), start+writeBatch)]
		start += len(chunk)
		for sent := 0; sent < len(chunk); {
			rest := chunk[sent:]
			for i, d := range rest {
				b.Set(i, *d.b, d.to, uio.V6)
			}
			n, err := uio.Write(b, len(rest))
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					return batch[:0], err
				}
				s.log.Debug("UDP send failed", "to", rest[n].to.String(), "error", err)
				n++ // skip the datagram that failed
			}
			sent += n
		}
		for _, d := range chunk {
			*d.b = (*d.b)[:0]
			datagramPool.Put(d.b)
		}
	}
	return batch[:0], nil
}

// receiveDatagram applies the source checks and handles one datagram.
func (s *Server) receiveDatagram(data []byte, src netip.AddrPort) {
	src = netip.AddrPortFrom(src.Addr().Unmap(), src.Port())
	if !s.allowSource(src.Addr()) || isKeepAlive(data) {
		return
	}
	if res, ok := scanResponse(data); ok {
		s.onResponse(res, src)
		return
	}
	msg, err := s.parser.ParseSIP(data)
	if err != nil {
		s.metrics.dropped.WithLabelValues("unparsable").Inc()
		s.log.Debug("unparsable datagram dropped", "source", src.String(), "error", err)
		return
	}
	s.dispatch(msg, src, transportUDP, nil, framing(data, msg))
}

// maxRequest is the largest request the switch takes (RFC 3261 §21.5.14:
// 513 Message Too Large); a carrier leg never needs more.
const maxRequest = 32 << 10

// framing checks what the parser may have glossed over in a datagram: its
// size, and a Content-Length larger than the body received (RFC 3261
// §18.3: 400; octets past a shorter one are discarded, and a UDP request
// may leave it out).
func framing(data []byte, msg gosip.Message) *refusal {
	if _, ok := msg.(*gosip.Request); !ok {
		return nil
	}
	if len(data) > maxRequest {
		return refuse(513, "Message Too Large")
	}
	end := bytes.Index(data, []byte("\r\n\r\n"))
	if end < 0 {
		return refuse(400, "No End Of Headers")
	}
	if cl := msg.ContentLength(); cl != nil && int(*cl) > len(data)-end-4 {
		return refuse(400, "Bad Content-Length")
	}
	return nil
}

// allowSource drops messages from banned sources and beyond a source's
// flood limit, before they are parsed.
func (s *Server) allowSource(src netip.Addr) bool {
	if s.guard != nil && s.guard.Banned(src) {
		s.metrics.dropped.WithLabelValues("banned").Inc()
		return false
	}
	if s.flood != nil && !s.flood.Allow(src) {
		s.metrics.dropped.WithLabelValues("flood").Inc()
		return false
	}
	return true
}

// isKeepAlive reports a CRLF keep-alive or an all-zero datagram.
func isKeepAlive(data []byte) bool {
	return len(bytes.Trim(data, "\r\n\x00")) == 0
}

// serveTCP accepts connections until the listener closes.
func (s *Server) serveTCP(ctx context.Context) {
	for {
		c, err := s.tp.tcp.Accept()
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			s.log.Warn("TCP accept failed", "error", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		ip, _ := netip.AddrFromSlice(c.RemoteAddr().(*net.TCPAddr).IP)
		ip = ip.Unmap()
		if s.guard != nil && s.guard.Banned(ip) {
			s.metrics.dropped.WithLabelValues("banned").Inc()
			c.Close()
			continue
		}
		// Each connection costs a goroutine and a 64 KiB read buffer: the
		// limits bound them per source, and unknown sources apart.
		slot, refused := s.tcpl.admit(ip)
		if refused != "" {
			s.metrics.dropped.WithLabelValues(refused).Inc()
			s.tcpl.refusedLog(s.log, refused, c.RemoteAddr().String())
			c.Close()
			continue
		}
		tc := s.tp.register(c)
		go func() {
			defer s.tcpl.release(slot)
			s.readTCP(tc)
		}()
	}
}

// register adds a connection to the table under its remote address.
func (t *transport) register(c net.Conn) *tcpConn {
	tc := &tcpConn{Conn: c, key: c.RemoteAddr().String()}
	t.mu.Lock()
	t.conns[tc.key] = tc
	t.mu.Unlock()
	return tc
}

func (t *transport) drop(tc *tcpConn) {
	t.mu.Lock()
	if t.conns[tc.key] == tc {
		delete(t.conns, tc.key)
	}
	t.mu.Unlock()
	tc.Close()
}

func (t *transport) conn(addr string) *tcpConn {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.conns[addr]
}

// closeAll closes every socket.
func (t *transport) closeAll() {
	if t.udp != nil {
		t.udp.Close()
	}
	if t.tcp != nil {
		t.tcp.Close()
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, c := range t.conns {
		c.Close()
	}
}

// readTCP parses the messages of one stream until it ends or breaks framing.
func (s *Server) readTCP(tc *tcpConn) {
	defer s.tp.drop(tc)
	ap, err := netip.ParseAddrPort(tc.key)
	if err != nil {
		return
	}
	src := netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
	stream := s.parser.NewSIPStream()
	defer stream.Close()
	buf := make([]byte, 65536)
	// A connection silent for longer than a call can last carries no call
	// that will need it; one that carries no call at all is kept only for
	// the idle timeout; a message under way must end in time.
	clock := newReadClock(s.tcpl.limits, max(s.maxCall, MaxCallCeiling)+time.Minute, time.Now())
	for {
		held := tc.dialogs.Load() > 0
		at, _ := clock.deadline(held)
		_ = tc.SetReadDeadline(at)
		if held && tc.dialogs.Load() == 0 {
			continue // released before its wake-up could reach this deadline
		}
		n, err := tc.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrDeadlineExceeded) {
				if s.tcpExpired(tc, &clock) {
					return
				}
				continue // woken early, or a dialog began: re-armed
			}
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Debug("TCP read ended", "remote", tc.key, "error", err)
			}
			return
		}
		data := buf[:n]
		now := time.Now()
		if isKeepAlive(data) && !clock.underway() {
			clock.received(now, false, false)
			if bytes.Equal(data, []byte("\r\n\r\n")) {
				_ = tc.write(data[:2]) // RFC 5626 pong
			}
			continue
		}
		ended := false
		err = stream.ParseSIPStream(data, func(msg gosip.Message) {
			ended = true
			if s.allowSource(src.Addr()) { // per message, as over UDP
				s.dispatch(msg, src, transportTCP, tc, nil)
			}
		})
		// sipgo drains whole header lines and body bytes from its buffer as
		// they arrive, so only its error tells a message under way.
		partial := errors.Is(err, gosip.ErrParseSipPartial)
		if err != nil && !partial {
			reason := "unparsable"
			if errors.Is(err, gosip.ErrMessageTooLarge) {
				reason = dropTCPTooLarge
			}
			s.metrics.dropped.WithLabelValues(reason).Inc()
			s.log.Debug("TCP framing broken; closing", "remote", tc.key, "error", err)
			return
		}
		clock.received(now, partial, ended)
	}
}

const (
	transportUDP = "UDP"
	transportTCP = "TCP"
)

// send writes b to h. Over TCP it uses conn when given, else an open
// connection to h, else dials one. Name resolution (cached for
// resolveTTL) and dialling happen in the background, in order per
// destination, and failed (if not nil) hears of their errors. b is not
// kept after send returns.
func (s *Server) send(b []byte, h hop, conn *tcpConn, failed func(error)) error {
	tcp := h.transport == transportTCP
	if !tcp && len(b) > maxUDPMessage {
		return fmt.Errorf("message of %d bytes too large for UDP", len(b))
	}
	if s.tp.waiting.Load() > 0 && s.queueBehind(b, h, failed) {
		return nil // earlier messages to h wait for its name or connection
	}
	ap, known := s.tp.lookup(h.addr)
	if conn == nil && known && tcp {
		conn = s.tp.conn(ap.String())
	}
	switch {
	case conn != nil:
		return conn.write(b)
	case known && !tcp:
		s.out.queue(b, ap)
		return nil
	}
	s.background(append([]byte(nil), b...), h, failed)
	return nil
}

// slowQueue holds the messages to one destination that wait for its name
// to resolve or its connection to open.
type slowQueue struct{ msgs []slowMsg }

type slowMsg struct {
	b      []byte
	failed func(error)
}

func slowKey(h hop) string { return h.transport + " " + h.addr }

// queueBehind appends b to h's waiting messages, if it has any.
func (s *Server) queueBehind(b []byte, h hop, failed func(error)) bool {
	s.tp.mu.Lock()
	defer s.tp.mu.Unlock()
	q := s.tp.slow[slowKey(h)]
	if q == nil {
		return false
	}
	q.msgs = append(q.msgs, slowMsg{append([]byte(nil), b...), failed})
	return true
}

// background sends b to h from a goroutine per destination, keeping the
// order of the messages to it (an INVITE, then its CANCEL, share one dial).
// When resolving or dialling fails, the messages waiting with it fail too.
func (s *Server) background(b []byte, h hop, failed func(error)) {
	key := slowKey(h)
	s.tp.mu.Lock()
	if q := s.tp.slow[key]; q != nil {
		q.msgs = append(q.msgs, slowMsg{b, failed})
		s.tp.mu.Unlock()
		return
	}
	if !s.track() {
		s.tp.mu.Unlock()
		return // closing
	}
	q := &slowQueue{msgs: []slowMsg{{b, failed}}}
	s.tp.slow[key] = q
	s.tp.waiting.Add(1)
	s.tp.mu.Unlock()
	go func() {
		defer s.wg.Done()
		for {
			s.tp.mu.Lock()
			msgs := q.msgs
			q.msgs = nil
			if len(msgs) == 0 {
				delete(s.tp.slow, key)
				s.tp.waiting.Add(-1)
				s.tp.mu.Unlock()
				return
			}
			s.tp.mu.Unlock()
			var err error
			for _, m := range msgs {
				if err == nil {
					err = s.sendSlow(m.b, h)
				}
				if err != nil {
					s.log.Debug("sending failed", "to", h.addr, "transport", h.transport, "error", err)
					if m.failed != nil {
						m.failed(err)
					}
				}
			}
		}
	}()
}

func (s *Server) sendSlow(b []byte, h hop) error {
	ap, err := s.tp.resolve(h.addr)
	if err != nil {
		return err
	}
	if h.transport != transportTCP {
		s.out.queue(b, ap)
		return nil
	}
	if tc := s.tp.conn(ap.String()); tc != nil {
		return tc.write(b)
	}
	c, err := net.DialTimeout("tcp", ap.String(), tcpDialTimeout)
	if err != nil {
		return err
	}
	tc := s.tp.register(c)
	go s.readTCP(tc)
	return tc.write(b)
}

// resolveTTL is how long a resolved host name is used before it is looked
// up again.
const resolveTTL = time.Minute

// maxNames bounds the resolved-name cache.
const maxNames = 10000

type resolved struct {
	ap    netip.AddrPort
	until time.Time
}

// lookup returns the address of addr (host:port) when it is a literal or a
// name resolved less than resolveTTL ago.
func (t *transport) lookup(addr string) (netip.AddrPort, bool) {
	if ap, err := netip.ParseAddrPort(addr); err == nil {
		return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port()), true
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	r, ok := t.names[addr]
	return r.ap, ok && time.Now().Before(r.until)
}

// resolve returns the address of addr, looking its host up when lookup
// cannot; an IPv4 address is preferred.
func (t *transport) resolve(addr string) (netip.AddrPort, error) {
	if ap, ok := t.lookup(addr); ok {
		return ap, nil
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return netip.AddrPort{}, err
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return netip.AddrPort{}, fmt.Errorf("port of %q: %w", addr, err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), resolveTimeout)
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	cancel()
	if err != nil || len(ips) == 0 {
		return netip.AddrPort{}, fmt.Errorf("resolving %s: %w", host, err)
	}
	ip := ips[0].Unmap()
	for _, a := range ips {
		if a.Unmap().Is4() {
			ip = a.Unmap()
			break
		}
	}
	ap := netip.AddrPortFrom(ip, uint16(p))
	t.mu.Lock()
	if len(t.names) >= maxNames {
		clear(t.names) // names come from the parties of calls; bound them all the same
	}
	t.names[addr] = resolved{ap: ap, until: time.Now().Add(resolveTTL)}
	t.mu.Unlock()
	return ap, nil
}
