package media

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"github.com/trunkline/trunkline/internal/udpio"
)

// poller relays the packets of many sessions' sockets from one OS thread,
// as rtpengine's threads do: the sockets are raw (outside Go's netpoller)
// and registered in the poller's epoll instance, and one epoll_wait hands
// it every socket that has packets. A packet costs a read and a send, no
// goroutine wake-up of its own. The poller owns the sockets it holds: only
// its thread reads from or sends on them, and it lets go of a socket
// (epoll_ctl DEL) before the socket is closed.
type poller struct {
	epfd int
	wake int // an eventfd: a session wants its sockets let go

	mu      sync.Mutex
	socks   map[int32]*sock // by descriptor
	leaving []*Session      // sessions whose sockets to let go, then signal
}

// sock is one of a session's four sockets as the poller sees it: where
// its packets come from (side, RTP or RTCP) and go out.
type sock struct {
	s    *Session
	side int
	rtcp bool
	fd   int
	out  int // the other leg's socket of the same kind
	v6   bool
}

// pollers are the relay's threads: one per P, made when first needed;
// sessions are spread over them in turn.
var (
	pollersMu  sync.Mutex
	pollers    []*poller
	nextPoller atomic.Uint32
)

// pollerFor returns the poller of the next session. The pollers are made
// when first needed; a failure to make them (descriptors exhausted) is
// the caller's, and the next call tries again.
func pollerFor() (*poller, error) {
	pollersMu.Lock()
	defer pollersMu.Unlock()
	for len(pollers) < runtime.GOMAXPROCS(0) {
		p, err := newPoller()
		if err != nil {
			if len(pollers) > 0 {
				break // fewer threads, all working
			}
			return nil, err
		}
		pollers = append(pollers, p)
		go p.run()
	}
	return pollers[nextPoller.Add(1)%uint32(len(pollers))], nil
}

func newPoller() (*poller, error) {
	epfd, err := unix.EpollCreate1(unix.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	wake, err := unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC)
	if err != nil {
		unix.Close(epfd)
		return nil, err
	}
	if err := unix.EpollCtl(epfd, unix.EPOLL_CTL_ADD, wake, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(wake)}); err != nil {
		unix.Close(epfd)
		unix.Close(wake)
		return nil, err
	}
	return &poller{epfd: epfd, wake: wake, socks: map[int32]*sock{}}, nil
}

// add registers a session's sockets. On an error some may be registered:
// the session's Close lets go of them through the poller's thread, as of
// any session's.
func (p *poller) add(socks []*sock) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, k := range socks {
		if err := unix.EpollCtl(p.epfd, unix.EPOLL_CTL_ADD, k.fd, &unix.EpollEvent{Events: unix.EPOLLIN, Fd: int32(k.fd)}); err != nil {
			return err
		}
		p.socks[int32(k.fd)] = k
	}
	return nil
}

// remove has the poller's thread let go of s's sockets; s.gone is closed
// once it has (no packet of them is handled after).
func (p *poller) remove(s *Session) {
	p.mu.Lock()
	p.leaving = append(p.leaving, s)
	p.mu.Unlock()
	var one = [8]byte{1}
	_, _ = unix.Write(p.wake, one[:])
}

// run is the poller's loop, on an OS thread of its own.
func (p *poller) run() {
	runtime.LockOSThread()
	events := make([]unix.EpollEvent, 128)
	inB, outB, bufs := readBuffers(batch)
	for {
		n, err := unix.EpollWait(p.epfd, events, -1)
		if err != nil {
			if err != unix.EINTR {
				time.Sleep(10 * time.Millisecond) // not expected: do not spin
			}
			continue
		}
		for i := range n {
			fd := events[i].Fd
			if int(fd) == p.wake {
				p.letGo()
				continue
			}
			p.mu.Lock()
			k := p.socks[fd]
			p.mu.Unlock()
			if k != nil {
				k.s.relay(k, inB, outB, bufs)
			}
		}
	}
}

// letGo drops the sockets of the sessions that asked, on the poller's
// thread, and tells them.
func (p *poller) letGo() {
	var b [8]byte
	_, _ = unix.Read(p.wake, b[:])
	p.mu.Lock()
	leaving := p.leaving
	p.leaving = nil
	for _, s := range leaving {
		for _, k := range s.socks {
			if p.socks[int32(k.fd)] == k {
				_ = unix.EpollCtl(p.epfd, unix.EPOLL_CTL_DEL, k.fd, nil)
				delete(p.socks, int32(k.fd))
			}
		}
	}
	p.mu.Unlock()
	for _, s := range leaving {
		close(s.gone)
	}
}

// relay handles one batch that socket k received (level-triggered: what
// is left waits for the next turn): each packet of its party goes to the
// other leg's party.
func (s *Session) relay(k *sock, inB, outB *udpio.Batch, bufs [][]byte) {
	n, err := udpio.ReadFD(k.fd, inB, bufs, k.v6)
	if err != nil || n == 0 {
		return // EAGAIN: another turn's event, or a passing error
	}
	if j := s.handle(s.legs[k.side], s.legs[1-k.side], k.rtcp, n, inB, outB, bufs, k.v6); j > 0 {
		// One destination for the batch: a send that fails fails the
		// rest too, which are dropped; so is a batch the socket's full
		// send buffer refuses (EAGAIN: the poller never waits, as
		// rtpengine does not).
		sent, _ := udpio.WriteFD(k.out, outB, j)
		s.add(uint64(sent), uint64(j-sent))
	}
}
