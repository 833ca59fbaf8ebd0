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

// Wait returns at once for a datagram that came before it (one that a
// readiness wait alone would miss), blocks while there is none, returns
// when one comes and when the socket is closed, and reads nothing.
func TestUDPIOWait(t *testing.T) {
	c, err := net.ListenUDP("udp", mustUDPAddr(t, "127.0.0.1:0"))
	if err != nil {
		t.Fatal(err)
	}
	io, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := net.DialUDP("udp", nil, c.LocalAddr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Close()
	waited := make(chan error, 1)
	wait := func() {
		go func() { waited <- io.Wait() }()
	}
	if _, err := tx.Write([]byte("early")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond) // the datagram is queued before the wait
	wait()
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Wait missed a datagram queued before it")
	}
	buf := make([]byte, 64)
	if n, _ := c.Read(buf); string(buf[:n]) != "early" {
		t.Fatalf("Wait consumed the datagram: read %q", buf[:n])
	}
	wait()
	select {
	case err := <-waited:
		t.Fatalf("Wait returned with nothing to read: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	if _, err := tx.Write([]byte("late")); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waited:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Wait did not return when a datagram came")
	}
	c.Read(buf)
	wait()
	c.Close()
	select {
	case err := <-waited:
		if err == nil {
			t.Fatal("Wait on a closed socket returned no error")
		}
	case <-time.After(2 * time.Second):
		t.Fatal("Wait did not return when the socket closed")
	}
}
