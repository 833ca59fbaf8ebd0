package udpio

import (
	"net"
	"net/netip"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsghdr is struct mmsghdr (sys/socket.h); Go pads it to the Msghdr's
// alignment as C does (64 bytes on 64-bit Linux, 32 on 32-bit).
type mmsghdr struct {
	hdr syscall.Msghdr
	len uint32
}

// Batch is the memory of one batch of datagrams: headers, I/O vectors
// and addresses, allocated once.
type Batch struct {
	hdrs  []mmsghdr
	iovs  []syscall.Iovec
	names []syscall.RawSockaddrInet6 // large enough for either family
}

func NewBatch(n int) *Batch {
	b := &Batch{hdrs: make([]mmsghdr, n), iovs: make([]syscall.Iovec, n), names: make([]syscall.RawSockaddrInet6, n)}
	for i := range b.hdrs {
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.Iovlen = 1
	}
	return b
}

// Set points entry i at buf and, for sending, at address to.
func (b *Batch) Set(i int, buf []byte, to netip.AddrPort, v6 bool) {
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

// From is the source address of received entry i.
func (b *Batch) From(i int) (netip.AddrPort, bool) {
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

// Conn does batched reads and writes on one UDP socket.
type Conn struct {
	rc syscall.RawConn
	V6 bool // an AF_INET6 socket: IPv4 destinations go v4-mapped
}

// New returns batched I/O on c's descriptor.
func New(c *net.UDPConn) (*Conn, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	u := &Conn{rc: rc}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		var sa syscall.Sockaddr
		sa, serr = syscall.Getsockname(int(fd))
		_, u.V6 = sa.(*syscall.SockaddrInet6)
	}); err != nil {
		return nil, err
	}
	return u, serr
}

// Read fills b with up to len(b.hdrs) datagrams into bufs (one per entry,
// each of its full capacity), waiting for the first; it returns how many
// came and each one's length in b.hdrs[i].len.
func (u *Conn) Read(b *Batch, bufs [][]byte) (int, error) {
	for i := range b.hdrs {
		b.Set(i, bufs[i][:cap(bufs[i])], netip.AddrPort{}, u.V6)
	}
	return mmsg(u.rc.Read, unix.SYS_RECVMMSG, b, len(b.hdrs))
}

// Write sends entries [0, n) of b, set with set; it returns how many were
// sent: fewer than n when entry n (the first not sent) failed, with its
// error.
func (u *Conn) Write(b *Batch, n int) (int, error) {
	return mmsg(u.rc.Write, unix.SYS_SENDMMSG, b, n)
}

// mmsg makes system call trap (recvmmsg or sendmmsg) on entries [0, n) of
// b through wait (the RawConn's Read or Write, which waits for the socket
// while the call would block), and returns its count.
func mmsg(wait func(func(uintptr) bool) error, trap uintptr, b *Batch, n int) (int, error) {
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

// Length is how many bytes received entry i holds.
func (b *Batch) Length(i int) int { return int(b.hdrs[i].len) }

// ReadFD is Read on a raw non-blocking socket fd, outside Go's netpoller:
// it returns 0 and syscall.EAGAIN when nothing is waiting.
func ReadFD(fd int, b *Batch, bufs [][]byte, v6 bool) (int, error) {
	for i := range b.hdrs {
		b.Set(i, bufs[i][:cap(bufs[i])], netip.AddrPort{}, v6)
	}
	return rawMmsg(fd, unix.SYS_RECVMMSG, b, len(b.hdrs))
}

// WriteFD is Write on a raw non-blocking socket fd.
func WriteFD(fd int, b *Batch, n int) (int, error) {
	return rawMmsg(fd, unix.SYS_SENDMMSG, b, n)
}

func rawMmsg(fd int, trap uintptr, b *Batch, n int) (int, error) {
	for {
		r, _, e := syscall.RawSyscall6(trap, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[0])), uintptr(n), syscall.MSG_DONTWAIT, 0, 0)
		switch e {
		case 0:
			return int(r), nil
		case syscall.EINTR:
			continue
		}
		return 0, e
	}
}
