package load

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"time"

	"golang.org/x/net/ipv4"
)

const (
	readBatch  = 64       // datagrams one recvmmsg may return
	readSize   = 8 << 10  // bytes per datagram read (larger ones are dropped)
	writeBatch = 64       // datagrams per sendmmsg
	socketBuf  = 4 << 20  // SO_RCVBUF and SO_SNDBUF asked for
	maxPending = 16 << 20 // bytes an outbox holds before it sends without waiting for the end of the batch
)

// Listen opens the UDP socket of a UAC or UAS on addr (IPv4 host:port;
// port 0 picks one) with 4 MiB buffers, as sipbench gives sipp. The kernel
// caps them at net.core.rmem_max and wmem_max.
func Listen(addr string) (*net.UDPConn, error) {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return nil, err
	}
	conn, err := net.ListenUDP("udp4", ua)
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadBuffer(socketBuf)
	_ = conn.SetWriteBuffer(socketBuf)
	return conn, nil
}

// reader reads datagrams from a socket with recvmmsg.
type reader struct {
	pc *ipv4.PacketConn
	ms []ipv4.Message
}

func newReader(conn *net.UDPConn) *reader {
	r := &reader{pc: ipv4.NewPacketConn(conn), ms: make([]ipv4.Message, readBatch)}
	for i := range r.ms {
		r.ms[i].Buffers = [][]byte{make([]byte, readSize)}
	}
	return r
}

// read waits for datagrams and returns how many it read. It returns
// errStopped once the socket is closed or its read deadline has passed.
func (r *reader) read() (int, error) {
	n, err := r.pc.ReadBatch(r.ms, 0)
	if err != nil {
		if errors.Is(err, net.ErrClosed) || errors.Is(err, os.ErrDeadlineExceeded) {
			return 0, errStopped
		}
		return 0, err
	}
	return n, nil
}

// datagram returns the i-th datagram read and where it came from; ok is
// false for one that did not fit the buffer.
func (r *reader) datagram(i int) (data []byte, from netip.AddrPort, ok bool) {
	m := &r.ms[i]
	if m.N >= readSize {
		return nil, from, false
	}
	if ua, isUDP := m.Addr.(*net.UDPAddr); isUDP {
		from = ua.AddrPort()
		from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	}
	return m.Buffers[0][:m.N], from, true
}

var errStopped = errors.New("reader stopped")

// stopReader makes a blocked read return errStopped, and a later one too
// until the deadline is cleared.
func stopReader(conn *net.UDPConn) { _ = conn.SetReadDeadline(time.Unix(1, 0)) }

// outbox collects datagrams in one buffer and sends them with sendmmsg. A
// message is appended to buf, then push records where it ends and where it
// goes. One goroutine owns an outbox.
type outbox struct {
	pc    *ipv4.PacketConn
	buf   []byte
	ends  []int
	to    []netip.AddrPort
	ms    []ipv4.Message
	bufs  [][]byte
	addrs []net.UDPAddr
	ips   [][4]byte
}

func newOutbox(conn *net.UDPConn) *outbox {
	return &outbox{
		pc:    ipv4.NewPacketConn(conn),
		buf:   make([]byte, 0, 64<<10),
		ms:    make([]ipv4.Message, writeBatch),
		bufs:  make([][]byte, writeBatch),
		addrs: make([]net.UDPAddr, writeBatch),
		ips:   make([][4]byte, writeBatch),
	}
}

// push ends the message appended to buf since the last push; it goes to to.
func (o *outbox) push(to netip.AddrPort) {
	o.ends = append(o.ends, len(o.buf))
	o.to = append(o.to, to)
}

// last returns the message pushed last.
func (o *outbox) last() []byte {
	start := 0
	if n := len(o.ends); n > 1 {
		start = o.ends[n-2]
	}
	return o.buf[start:o.ends[len(o.ends)-1]]
}

// full reports whether the outbox should be flushed before more is added.
func (o *outbox) full() bool { return len(o.buf) > maxPending }

// flush sends what was pushed and empties the outbox. It returns how many
// datagrams the kernel refused (one per failed sendmmsg; the rest of the
// batch is sent on).
func (o *outbox) flush() (failed int) {
	start := 0
	for i := 0; i < len(o.ends); {
		n := min(len(o.ends)-i, writeBatch)
		for j := range n {
			end := o.ends[i+j]
			o.bufs[j] = o.buf[start:end]
			start = end
			a := o.to[i+j]
			o.ips[j] = a.Addr().As4()
			o.addrs[j] = net.UDPAddr{IP: o.ips[j][:], Port: int(a.Port())}
			o.ms[j] = ipv4.Message{Buffers: o.bufs[j : j+1], Addr: &o.addrs[j]}
		}
		for sent := 0; sent < n; {
			k, err := o.pc.WriteBatch(o.ms[sent:n], 0)
			if err != nil {
				if errors.Is(err, net.ErrClosed) {
					failed += n - sent
					break
				}
				failed++
				k = max(k, 0) + 1 // skip the datagram that failed
			}
			sent += k
		}
		i += n
	}
	o.buf, o.ends, o.to = o.buf[:0], o.ends[:0], o.to[:0]
	return failed
}
