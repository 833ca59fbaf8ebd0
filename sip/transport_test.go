package sip

import (
	"io"
	"net"
	"strconv"
	"testing"
	"time"
)

// Messages to a destination given by name, or over TCP before a
// connection exists, are sent in the order they were given, over one
// connection, and the resolved name is reused.
func TestSendInOrder(t *testing.T) {
	s, _, _ := newTestServer(t)

	u, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	byName := "localhost:" + strconv.Itoa(u.LocalAddr().(*net.UDPAddr).Port)
	for _, m := range []string{"one", "two", "three"} {
		if err := s.send([]byte(m), hop{addr: byName, transport: transportUDP}, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	buf := make([]byte, 100)
	for _, want := range []string{"one", "two", "three"} {
		_ = u.SetReadDeadline(time.Now().Add(3 * time.Second))
		n, err := u.Read(buf)
		if err != nil || string(buf[:n]) != want {
			t.Fatalf("UDP by name: got %q (%v), want %q", buf[:n], err, want)
		}
	}
	if _, ok := s.tp.lookup(byName); !ok {
		t.Fatal("the resolved name was not kept")
	}

	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	to := hop{addr: l.Addr().String(), transport: transportTCP}
	for _, m := range []string{"one,", "two,", "three"} {
		if err := s.send([]byte(m), to, nil, nil); err != nil {
			t.Fatal(err)
		}
	}
	c, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	got := make([]byte, len("one,two,three"))
	if _, err := io.ReadFull(c, got); err != nil || string(got) != "one,two,three" {
		t.Fatalf("TCP: got %q (%v)", got, err)
	}
	_ = l.SetDeadline(time.Now().Add(300 * time.Millisecond))
	if c2, err := l.Accept(); err == nil {
		c2.Close()
		t.Fatal("a second connection was dialled")
	}
}
