package load

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"
)

// side is what a UAC and a UAS share: the socket, the clock, the lock over
// the calls and the two goroutines that drive them. The reader hands each
// datagram to the side's receive, the pacer calls its tick every
// millisecond; both run under mu and send what they have to say in one
// batch after it. A side runs once.
type side struct {
	conn       *net.UDPConn
	cfg        config
	start      time.Time
	ran        atomic.Bool
	sendErrors atomic.Int64

	mu        sync.Mutex
	msg       Msg   // the reader's scratch message
	malformed int64 // datagrams too large or that Scan did not take
}

// receiveFunc handles a datagram read at now, under the side's lock; what
// it sends it appends to out.
type receiveFunc func(data []byte, from netip.AddrPort, now int64, out *outbox)

// tickFunc does what is due at now, under the side's lock: it fires timers
// and, when sweep is true, checks the calls for timeouts. What it sends it
// appends to out. It returns true when the side is done.
type tickFunc func(now int64, sweep bool, out *outbox) (done bool)

// run starts the clock and the reader, then calls onTick every tick until
// ctx ends, the reader fails or onTick returns true. It stops the reader with a read
// deadline, which it clears before returning; it does not close conn.
func (sd *side) run(ctx context.Context, receive receiveFunc, onTick tickFunc) error {
	sd.start = time.Now()
	rd, rout, tout := newReader(sd.conn), newOutbox(sd.conn), newOutbox(sd.conn)
	readErr := make(chan error, 1)
	go func() { readErr <- sd.readLoop(rd, rout, receive) }()
	ticker := time.NewTicker(tick)
	defer ticker.Stop()
	var err error
	var nextSweep int64
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
			continue
		case err = <-readErr:
			err = fmt.Errorf("reading: %w", err)
			done = true
			continue
		case <-ticker.C:
		}
		sd.mu.Lock()
		now := sd.now()
		sweep := now >= nextSweep
		if sweep {
			nextSweep = now + int64(sweepEvery)
		}
		done = onTick(now, sweep, tout)
		sd.mu.Unlock()
		sd.sendErrors.Add(int64(tout.flush()))
	}
	stopReader(sd.conn)
	if err == nil {
		if rerr := <-readErr; rerr != nil {
			err = fmt.Errorf("reading: %w", rerr)
		}
	}
	_ = sd.conn.SetReadDeadline(time.Time{})
	return err
}

// now returns the time since the side started, in ns.
func (sd *side) now() int64 { return int64(time.Since(sd.start)) }

// readLoop reads datagrams and hands them to receive until the reader is
// stopped.
func (sd *side) readLoop(rd *reader, out *outbox, receive receiveFunc) error {
	for {
		n, err := rd.read()
		if errors.Is(err, errStopped) {
			return nil
		}
		if err != nil {
			time.Sleep(time.Millisecond) // a transient error: do not spin
			continue
		}
		sd.mu.Lock()
		now := sd.now()
		for i := range n {
			data, from, ok := rd.datagram(i)
			if !ok {
				sd.malformed++
				continue
			}
			receive(data, from, now, out)
		}
		sd.mu.Unlock()
		sd.sendErrors.Add(int64(out.flush()))
	}
}

// scan scans data into the reader's scratch message and returns it, or nil
// for a keep-alive, a malformed datagram (counted) or one the filter does
// not take.
func (sd *side) scan(data []byte) *Msg {
	if isKeepAlive(data) {
		return nil
	}
	m := &sd.msg
	if err := Scan(data, m); err != nil {
		sd.malformed++
		return nil
	}
	if sd.cfg.filter != nil && !sd.cfg.filter(m) {
		return nil
	}
	return m
}

// isKeepAlive reports whether data is a CRLF keep-alive (RFC 5626).
func isKeepAlive(data []byte) bool {
	for _, c := range data {
		if c != '\r' && c != '\n' {
			return false
		}
	}
	return true
}
