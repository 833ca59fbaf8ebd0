package sip

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Batched UDP I/O: recvmmsg and sendmmsg issued as raw system calls on the
// socket's non-blocking descriptor, with the netpoller used only to wait
// when nothing is there (syscall.RawConn calls the function again once the
// socket is ready).
//
// Why not golang.org/x/net/ipv4's ReadBatch/WriteBatch: they enter each
// system call through the runtime's blocking-syscall path. On loopback a
// sendmmsg does the receiver's work inline and often lasts longer than
// sysmon's 20 µs tick, so with one P (the switch pinned to one core) sysmon
// takes the P away mid-call, hands it to another thread and keeps polling
// every 20 µs: thousands of thread switches a second at 1,000 calls/s.
// Neither call can block on a non-blocking socket, so the raw path is
// safe; and it converts addresses without allocating.

// mmsghdr is struct mmsghdr (sys/socket.h).
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
	_   [4]byte
}

// mmsgBatch is the memory of one batch of datagrams: headers, I/O vectors
// and addresses, allocated once.
type mmsgBatch struct {
	hdrs  []mmsghdr
	iovs  []syscall.Iovec
	names []syscall.RawSockaddrInet6 // large enough for either family
}

func newMmsgBatch(n int) *mmsgBatch {
	b := &mmsgBatch{hdrs: make([]mmsghdr, n), iovs: make([]syscall.Iovec, n), names: make([]syscall.RawSockaddrInet6, n)}
	for i := range b.hdrs {
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.Iovlen = 1
	}
	return b
}

// set points entry i at buf and, for sending, at address to.
func (b *mmsgBatch) set(i int, buf []byte, to netip.AddrPort, v6 bool) {
	b.iovs[i].Base = unsafe.SliceData(buf)
	b.iovs[i].SetLen(len(buf))
	h := &b.hdrs[i].hdr
	h.Namelen = uint32(unsafe.Sizeof(b.names[i]))
	if !to.IsValid() {
		return
	}
	a := to.Addr()
	if a.Is4() && !v6 {
		sa := (*syscall.RawSockaddrInet4)(unsafe.Pointer(&b.names[i]))
		*sa = syscall.RawSockaddrInet4{Family: syscall.AF_INET, Addr: a.As4()}
		putPort(&sa.Port, to.Port())
		h.Namelen = syscall.SizeofSockaddrInet4
		return
	}
	sa := &b.names[i]
	*sa = syscall.RawSockaddrInet6{Family: syscall.AF_INET6, Addr: a.As16()} // an IPv4 address as ::ffff:a.b.c.d
	putPort(&sa.Port, to.Port())
	h.Namelen = syscall.SizeofSockaddrInet6
}

// from is the source address of received entry i.
func (b *mmsgBatch) from(i int) (netip.AddrPort, bool) {
	sa := &b.names[i]
	switch sa.Family {
	case syscall.AF_INET:
		v4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(v4.Addr), getPort(&v4.Port)), true
	case syscall.AF_INET6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), getPort(&sa.Port)), true
	}
	return netip.AddrPort{}, false
}

func putPort(p *uint16, port uint16) {
	b := (*[2]byte)(unsafe.Pointer(p))
	b[0], b[1] = byte(port>>8), byte(port)
}

func getPort(p *uint16) uint16 {
	b := (*[2]byte)(unsafe.Pointer(p))
	return uint16(b[0])<<8 | uint16(b[1])
}

// udpIO does batched reads and writes on one UDP socket.
type udpIO struct {
	rc syscall.RawConn
	v6 bool // an AF_INET6 socket: IPv4 destinations go v4-mapped
}

func newUDPIO(c *net.UDPConn) (*udpIO, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	u := &udpIO{rc: rc}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		var sa syscall.Sockaddr
		sa, serr = syscall.Getsockname(int(fd))
		_, u.v6 = sa.(*syscall.SockaddrInet6)
	}); err != nil {
		return nil, err
	}
	return u, serr
}

// read fills b with up to len(b.hdrs) datagrams into bufs (one per entry,
// each of its full capacity), waiting for the first; it returns how many
// came and each one's length in b.hdrs[i].len.
func (u *udpIO) read(b *mmsgBatch, bufs [][]byte) (int, error) {
	for i := range b.hdrs {
		b.set(i, bufs[i][:cap(bufs[i])], netip.AddrPort{}, u.v6)
	}
	return mmsg(u.rc.Read, unix.SYS_RECVMMSG, b, len(b.hdrs))
}

// write sends entries [0, n) of b, set with set; it returns how many were
// sent: fewer than n when entry n (the first not sent) failed, with its
// error.
func (u *udpIO) write(b *mmsgBatch, n int) (int, error) {
	return mmsg(u.rc.Write, unix.SYS_SENDMMSG, b, n)
}

// mmsg makes system call trap (recvmmsg or sendmmsg) on entries [0, n) of
// b through wait (the RawConn's Read or Write, which waits for the socket
// while the call would block), and returns its count.
func mmsg(wait func(func(uintptr) bool) error, trap uintptr, b *mmsgBatch, n int) (int, error) {
	var count int
	var errno syscall.Errno
	err := wait(func(fd uintptr) bool {
		for {
			r, _, e := syscall.RawSyscall6(trap, fd, uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(n), 0, 0, 0)
			if e == syscall.EINTR {
				continue
			}
			count, errno = int(r), e
			return e != syscall.EAGAIN
		}
	})
	switch {
	case err != nil:
		return 0, err
	case errno != 0:
		return 0, errno
	}
	return count, nil
}

// length is how many bytes received entry i holds.
func (b *mmsgBatch) length(i int) int { return int(b.hdrs[i].len) }
