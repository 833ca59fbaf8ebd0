package udpio

import (
	"fmt"
	"net"
	"net/netip"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Conn sends a batch and reads it back on IPv4, on IPv6 and on a
// dual-stack socket sending to an IPv4 address (v4-mapped), with the
// sources and payloads intact.
func TestUDPIOBatches(t *testing.T) {
	for _, tt := range []struct{ name, listen, to string }{
		{"ipv4", "127.0.0.1:0", "127.0.0.1"},
		{"ipv6", "[::1]:0", "::1"},
		{"dual stack to ipv4", "[::]:0", "127.0.0.1"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.ListenUDP("udp", mustUDPAddr(t, tt.listen))
			if err != nil {
				t.Skipf("no %s socket here: %v", tt.name, err)
			}
			defer c.Close()
			io, err := New(c)
			if err != nil {
				t.Fatal(err)
			}
			self := netip.AddrPortFrom(netip.MustParseAddr(tt.to), uint16(c.LocalAddr().(*net.UDPAddr).Port))
			out := NewBatch(3)
			for i := range 3 {
				out.Set(i, []byte(fmt.Sprintf("datagram %d", i)), self, io.V6)
			}
			if n, err := io.Write(out, 3); n != 3 || err != nil {
				t.Fatalf("write: %d, %v", n, err)
			}
			in := NewBatch(4)
			bufs := make([][]byte, 4)
			for i := range bufs {
				bufs[i] = make([]byte, 2048)
			}
			_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			got := 0
			for got < 3 {
				n, err := io.Read(in, bufs)
				if err != nil {
					t.Fatalf("read after %d: %v", got, err)
				}
				for i := range n {
					src, ok := in.From(i)
					if !ok || src.Addr().Unmap() != self.Addr() || src.Port() != self.Port() {
						t.Errorf("source %v (%v), want %v", src, ok, self)
					}
					if want := fmt.Sprintf("datagram %d", got); string(bufs[i][:in.Length(i)]) != want {
						t.Errorf("payload %q, want %q", bufs[i][:in.Length(i)], want)
					}
					got++
				}
			}
		})
	}
}

func mustUDPAddr(t *testing.T, s string) *net.UDPAddr {
	a, err := net.ResolveUDPAddr("udp", s)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// ReadFD and WriteFD work on a raw non-blocking socket: a batch sent to
// itself reads back with its source, and an empty socket gives EAGAIN.
func TestUDPIORawFD(t *testing.T) {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	if err := unix.Bind(fd, &unix.SockaddrInet4{Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		t.Fatal(err)
	}
	sa, err := unix.Getsockname(fd)
	if err != nil {
		t.Fatal(err)
	}
	self := netip.AddrPortFrom(netip.MustParseAddr("127.0.0.1"), uint16(sa.(*unix.SockaddrInet4).Port))
	bufs := [][]byte{make([]byte, 64), make([]byte, 64), make([]byte, 64)}
	in := NewBatch(3)
	if n, err := ReadFD(fd, in, bufs, false); n != 0 || err != syscall.EAGAIN {
		t.Fatalf("empty socket: %d, %v; want EAGAIN", n, err)
	}
	out := NewBatch(2)
	out.Set(0, []byte("one"), self, false)
	out.Set(1, []byte("two"), self, false)
	if n, err := WriteFD(fd, out, 2); n != 2 || err != nil {
		t.Fatalf("write: %d, %v", n, err)
	}
	n, err := ReadFD(fd, in, bufs, false)
	if err != nil || n != 2 {
		t.Fatalf("read: %d, %v", n, err)
	}
	for i, want := range []string{"one", "two"} {
		from, ok := in.From(i)
		if got := string(bufs[i][:in.Length(i)]); got != want || !ok || from != self {
			t.Errorf("datagram %d: %q from %v, want %q from %v", i, got, from, want, self)
		}
	}
}
