package udpio

import (
	"fmt"
	"net"
	"net/netip"
	"testing"
	"time"
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
