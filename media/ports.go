package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"sync"

	"golang.org/x/sys/unix"
)

// Ports lends pairs of UDP sockets, RTP on an even port and RTCP on the
// next, from a range of one address (rtpengine's default is 30000–40000).
// Safe for concurrent use.
type Ports struct {
	ip     netip.Addr
	lo, hi int // even lo, the last RTP port hi-1

	totals Totals

	mu    sync.Mutex
	inUse int
	lent  map[int]bool // by RTP port
}

// ErrNoPorts: every pair of the range is lent (or taken by others).
var ErrNoPorts = errors.New("media: no free RTP port pair in the range")

// NewPorts returns the pairs of ip's ports lo..hi.
func NewPorts(ip netip.Addr, lo, hi int) (*Ports, error) {
	if lo < 1024 || hi > 65535 || hi-lo < 1 {
		return nil, fmt.Errorf("media: port range %d-%d: want 1024 <= lo < hi <= 65535", lo, hi)
	}
	lo += lo % 2
	if hi-lo < 1 {
		return nil, fmt.Errorf("media: port range %d-%d holds no even/odd pair", lo, hi)
	}
	return &Ports{ip: ip, lo: lo, hi: hi, lent: map[int]bool{}}, nil
}

// Pair is an RTP socket and its RTCP socket: raw non-blocking sockets,
// outside Go's netpoller, that a session's poller reads.
type Pair struct {
	Port          int // the RTP port; RTCP is Port+1
	rtpFD, rtcpFD int
	v6            bool
	ports         *Ports
	once          sync.Once
	rtpAddr       netip.AddrPort
}

// Addr is where the pair's RTP is received.
func (p *Pair) Addr() netip.AddrPort { return p.rtpAddr }

// Take lends a free pair, trying each in turn from a random one (a port
// another program holds is passed over).
func (p *Ports) Take() (*Pair, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	pairs := (p.hi - p.lo + 1) / 2
	if p.inUse >= pairs {
		return nil, ErrNoPorts // every pair lent: no binding to try
	}
	// From a random pair each time: a party cannot tell the next call's
	// ports from its own.
	port := p.lo + 2*rand.IntN(pairs)
	for tries := pairs; tries > 0; tries-- {
		if port += 2; port+1 > p.hi {
			port = p.lo
		}
		if p.lent[port] {
			continue
		}
		rtp, err := bindUDP(p.ip, port)
		if err != nil {
			continue
		}
		rtcp, err := bindUDP(p.ip, port+1)
		if err != nil {
			unix.Close(rtp)
			continue
		}
		p.inUse++
		p.lent[port] = true
		return &Pair{Port: port, rtpFD: rtp, rtcpFD: rtcp, v6: sixSocket(p.ip), ports: p,
			rtpAddr: netip.AddrPortFrom(p.ip, uint16(port))}, nil
	}
	return nil, ErrNoPorts
}

// sixSocket tells whether the pairs of ip are IPv6 sockets: for an IPv6
// address, and for a wildcard (0.0.0.0 or ::), which binds a dual-stack
// socket to :: that takes both families (IPv4 parties as v4-mapped).
func sixSocket(ip netip.Addr) bool { return ip.Is6() && !ip.Is4In6() || ip.IsUnspecified() }

// bindUDP returns a non-blocking UDP socket bound to ip:port.
func bindUDP(ip netip.Addr, port int) (int, error) {
	family := unix.AF_INET
	var sa unix.Sockaddr
	switch {
	case ip.IsUnspecified():
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: port} // ::, dual stack
	case sixSocket(ip):
		family, sa = unix.AF_INET6, &unix.SockaddrInet6{Port: port, Addr: ip.As16()}
	default:
		sa = &unix.SockaddrInet4{Port: port, Addr: ip.Unmap().As4()}
	}
	fd, err := unix.Socket(family, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_UDP)
	if err != nil {
		return -1, err
	}
	if family == unix.AF_INET6 {
		only := 1
		if ip.IsUnspecified() {
			only = 0
		}
		if err := unix.SetsockoptInt(fd, unix.IPPROTO_IPV6, unix.IPV6_V6ONLY, only); err != nil {
			unix.Close(fd)
			return -1, err
		}
	}
	if err := unix.Bind(fd, sa); err != nil {
		unix.Close(fd)
		return -1, err
	}
	return fd, nil
}

// Totals are the packets relayed and dropped by every session of p's
// pairs.
func (p *Ports) Totals() *Totals { return &p.totals }

// Addr is the address the pairs are bound to.
func (p *Ports) Addr() netip.Addr { return p.ip }

// Capacity is how many pairs the range holds.
func (p *Ports) Capacity() int { return (p.hi - p.lo + 1) / 2 }

// InUse is how many pairs are lent.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Release closes the pair's sockets and gives its ports back; a second
// call does nothing. A session's pairs are released by its Close, once
// its poller has let go of them.
func (pr *Pair) Release() {
	pr.once.Do(func() {
		unix.Close(pr.rtpFD)
		unix.Close(pr.rtcpFD)
		pr.ports.mu.Lock()
		pr.ports.inUse--
		delete(pr.ports.lent, pr.Port)
		pr.ports.mu.Unlock()
	})
}
