package media

import (
	"net"
	"net/netip"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// party is a UDP socket of a loopback address that sends and counts RTP.
type party struct {
	t    testing.TB
	conn *net.UDPConn
}

func newParty(t testing.TB, ip string) *party {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &party{t: t, conn: c}
}

func (p *party) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

// send sends n G.711 packets to to, 2 ms apart, skipping the sequence
// numbers in skip.
func (p *party) send(to netip.AddrPort, ssrc uint32, n int, skip map[int]bool) {
	for i := range n {
		if skip[i] {
			continue
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 8, SequenceNumber: uint16(i), Timestamp: uint32(i) * 160, SSRC: ssrc},
			Payload: make([]byte, 160)}
		b, _ := pkt.Marshal()
		if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
			p.t.Fatal(err)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// receive counts the RTP packets of ssrc that arrive until quiet for 300 ms.
func (p *party) receive(ssrc uint32) (n int, from netip.AddrPort) {
	buf := make([]byte, 2000)
	for {
		p.conn.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		k, src, err := p.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			return n, from
		}
		var pkt rtp.Packet
		if pkt.Unmarshal(buf[:k]) == nil && pkt.SSRC == ssrc {
			n++
			from = src
		}
	}
}

// Two parties exchange RTP through a session: each reaches only the
// switch's ports, each gets the other's packets from the switch, the
// statistics count what each sent (a gap in the sequence numbers is
// loss), a third address is dropped, and the ports go back at the end.
func TestSessionRelaysRTP(t *testing.T) {
	ports, err := NewPorts(netip.MustParseAddr("127.0.0.1"), 31000, 31099)
	if err != nil {
		t.Fatal(err)
	}
	a, err := ports.Take()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ports.Take()
	if err != nil {
		t.Fatal(err)
	}
	if a.Port%2 != 0 || b.Port == a.Port || ports.InUse() != 2 {
		t.Fatalf("pairs %d and %d, %d in use", a.Port, b.Port, ports.InUse())
	}
	customer, carrier, stranger := newParty(t, "127.0.0.2"), newParty(t, "127.0.0.3"), newParty(t, "127.0.0.4")
	s := NewSession(a, b)
	s.SetPeer(0, Offer{Remote: customer.addr(), Clock: 8000})
	s.SetPeer(1, Offer{Remote: carrier.addr(), Clock: 8000})
	s.Start()

	// The stranger speaks first to the customer's side, too little to be
	// learned: dropped, and it does not become the customer.
	stranger.send(a.Addr(), 99, 2, nil)
	done := make(chan int)
	go func() { n, from := carrier.receive(1); done <- n; _ = from }()
	customer.send(a.Addr(), 1, 200, map[int]bool{50: true, 51: true, 52: true})
	if n := <-done; n != 197 {
		t.Fatalf("the carrier got %d of the customer's 197 packets", n)
	}
	go func() { n, from := customer.receive(2); done <- n; _ = from }()
	carrier.send(b.Addr(), 2, 100, nil)
	if n := <-done; n != 100 {
		t.Fatalf("the customer got %d of the carrier's 100 packets", n)
	}
	// The stranger again, after latching: dropped.
	stranger.send(a.Addr(), 1, 10, nil)
	time.Sleep(100 * time.Millisecond)

	up, down := s.Stats(0), s.Stats(1)
	if up.Packets != 197 || up.Expected() != 200 || up.Lost() != 3 || up.Bytes != 197*172 {
		t.Errorf("customer to carrier: packets %d expected %d lost %d bytes %d", up.Packets, up.Expected(), up.Lost(), up.Bytes)
	}
	if down.Packets != 100 || down.Lost() != 0 {
		t.Errorf("carrier to customer: packets %d lost %d", down.Packets, down.Lost())
	}
	relayed, dropped := s.Counts()
	if relayed != 297 || dropped != 12 {
		t.Errorf("relayed %d dropped %d, want 297 and 12 (the stranger's)", relayed, dropped)
	}
	if idle := s.Idle(); idle < 50*time.Millisecond {
		t.Errorf("idle %v after the stranger alone spoke: strangers must not keep a call alive", idle)
	}
	s.Close()
	if ports.InUse() != 0 {
		t.Fatalf("%d pairs in use after Close", ports.InUse())
	}
}

// A party whose SDP names a private address (behind NAT) is latched where
// it really sends from; the range runs out and comes back.
func TestSessionLatchesBehindNAT(t *testing.T) {
	ports, _ := NewPorts(netip.MustParseAddr("127.0.0.1"), 31100, 31103)
	a, _ := ports.Take()
	b, _ := ports.Take()
	if _, err := ports.Take(); err != ErrNoPorts {
		t.Fatalf("a third pair of a range of two: %v", err)
	}
	customer, carrier := newParty(t, "127.0.0.2"), newParty(t, "127.0.0.3")
	s := NewSession(a, b)
	s.SetPeer(0, Offer{Remote: netip.MustParseAddrPort("10.1.1.1:4000")}) // its SDP, from behind NAT
	s.SetPeer(1, Offer{Remote: carrier.addr()})
	s.Start()
	defer s.Close()
	done := make(chan int)
	go func() { n, _ := carrier.receive(1); done <- n }()
	customer.send(a.Addr(), 1, 20, nil)
	<-done
	go func() { n, _ := customer.receive(2); done <- n }()
	carrier.send(b.Addr(), 2, 20, nil)
	if n := <-done; n != 20 {
		t.Fatalf("the customer behind NAT got %d of 20: not latched to where it sends from", n)
	}
}

// A stranger that streams first to a party behind NAT is learned, but the
// party itself, from where its SDP said, takes the stream back; a party
// that moves (a re-INVITE) is latched where it now is.
func TestSessionHijackAndMove(t *testing.T) {
	ports, _ := NewPorts(netip.MustParseAddr("127.0.0.1"), 31200, 31299)
	a, _ := ports.Take()
	b, _ := ports.Take()
	customer, carrier, stranger, moved := newParty(t, "127.0.0.2"), newParty(t, "127.0.0.3"), newParty(t, "127.0.0.4"), newParty(t, "127.0.0.5")
	s := NewSession(a, b)
	s.SetPeer(0, Offer{Remote: customer.addr()})
	s.SetPeer(1, Offer{Remote: carrier.addr()})
	s.Start()
	defer s.Close()
	stranger.send(a.Addr(), 99, 10, nil) // learned: loopback is not a public address
	customer.send(a.Addr(), 1, 5, nil)   // from its SDP's address: it takes the stream back
	done := make(chan int)
	go func() { n, _ := customer.receive(2); done <- n }()
	go func() { n, _ := stranger.receive(2); done <- n }()
	carrier.send(b.Addr(), 2, 20, nil)
	got := []int{<-done, <-done}
	if got[0]+got[1] != 20 || (got[0] != 20 && got[1] != 20) {
		t.Fatalf("the carrier's 20 packets reached %v (customer, stranger in either order)", got)
	}
	if n, _ := stranger.receive(2); n != 0 {
		t.Fatal("the stranger still gets media")
	}
	go func() { n, _ := customer.receive(2); done <- n }()
	carrier.send(b.Addr(), 2, 10, nil)
	if n := <-done; n != 10 {
		t.Fatalf("the customer got %d of 10 after taking its stream back", n)
	}
	// A re-INVITE moves the customer to another address.
	s.SetPeer(0, Offer{Remote: moved.addr()})
	moved.send(a.Addr(), 3, 5, nil)
	go func() { n, _ := moved.receive(2); done <- n }()
	carrier.send(b.Addr(), 2, 10, nil)
	if n := <-done; n != 10 {
		t.Fatalf("the moved customer got %d of 10", n)
	}
}

// Only a public address binds its party to its host: private, shared
// (CGNAT), loopback and link-local ones are behind NAT or not routable.
func TestStrictSource(t *testing.T) {
	for a, want := range map[string]bool{"203.0.113.7": true, "2001:db8::1": true, "10.1.1.1": false, "192.168.1.9": false,
		"100.64.3.4": false, "127.0.0.1": false, "169.254.1.1": false, "fe80::1": false, "0.0.0.0": false} {
		if got := strictSource(netip.MustParseAddr(a)); got != want {
			t.Errorf("strictSource(%s) = %v", a, got)
		}
	}
}

// A session's sockets on a wildcard address are dual stack, as the
// default media.address (0.0.0.0) binds them: parties on IPv4 and on
// IPv6 are both relayed. A session is started once, and never after
// Close.
func TestSessionWildcardDualStack(t *testing.T) {
	for _, wild := range []string{"0.0.0.0", "::"} {
		ports, err := NewPorts(netip.MustParseAddr(wild), 31300, 31399)
		if err != nil {
			t.Fatal(err)
		}
		for _, ip := range []string{"127.0.0.1", "::1"} {
			if c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)}); err != nil {
				t.Logf("no %s here: %v", ip, err)
				continue
			} else {
				c.Close()
			}
			a, _ := ports.Take()
			b, _ := ports.Take()
			customer, carrier := newParty(t, ip), newParty(t, ip)
			s := NewSession(a, b)
			s.SetPeer(0, Offer{Remote: customer.addr(), Clock: 8000})
			s.SetPeer(1, Offer{Remote: carrier.addr(), Clock: 8000})
			if err := s.Start(); err != nil {
				t.Fatal(err)
			}
			if err := s.Start(); err == nil {
				t.Errorf("a session started twice")
			}
			done := make(chan int)
			go func() { n, _ := carrier.receive(1); done <- n }()
			relay := netip.AddrPortFrom(netip.MustParseAddr(ip), uint16(a.Port))
			customer.send(relay, 1, 20, nil)
			if n := <-done; n != 20 {
				t.Errorf("bound to %s, parties on %s: the carrier got %d of 20", wild, ip, n)
			}
			s.Close()
			if err := s.Start(); err == nil {
				t.Errorf("a session started after Close")
			}
		}
		if ports.InUse() != 0 {
			t.Errorf("%d pairs in use", ports.InUse())
		}
	}
}
