package media

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
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

// Pair is an RTP socket and its RTCP socket.
type Pair struct {
	Port       int // the RTP port; RTCP is Port+1
	RTP, RTCP  *net.UDPConn
	ports      *Ports
	once       sync.Once
	ip         netip.Addr
	rtpAddr    netip.AddrPort
	rtcpAddrPt netip.AddrPort
}

// Addr is where the pair's RTP is received.
func (p *Pair) Addr() netip.AddrPort { return p.rtpAddr }

// Take lends the next free pair, trying each in turn from where the last
// one was found (a port another program holds is passed over).
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
		rtp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port))))
		if err != nil {
			continue
		}
		rtcp, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(netip.AddrPortFrom(p.ip, uint16(port+1))))
		if err != nil {
			rtp.Close()
			continue
		}
		p.inUse++
		p.lent[port] = true
		return &Pair{Port: port, RTP: rtp, RTCP: rtcp, ports: p, ip: p.ip,
			rtpAddr: netip.AddrPortFrom(p.ip, uint16(port)), rtcpAddrPt: netip.AddrPortFrom(p.ip, uint16(port+1))}, nil
	}
	return nil, ErrNoPorts
}

// Totals are the packets relayed and dropped by every session of p's
// pairs.
func (p *Ports) Totals() *Totals { return &p.totals }

// Addr is the address the pairs are bound to.
func (p *Ports) Addr() netip.Addr { return p.ip }

// InUse is how many pairs are lent.
func (p *Ports) InUse() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inUse
}

// Release closes the pair's sockets and gives its ports back; a second
// call does nothing.
func (pr *Pair) Release() {
	pr.once.Do(func() {
		pr.RTP.Close()
		pr.RTCP.Close()
		pr.ports.mu.Lock()
		pr.ports.inUse--
		delete(pr.ports.lent, pr.Port)
		pr.ports.mu.Unlock()
	})
}
