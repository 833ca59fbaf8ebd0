package sip

import (
	"net"
	"testing"
)

func TestSetReadBuffer(t *testing.T) {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	small := setReadBuffer(c, 64<<10)
	if small < 32<<10 {
		t.Fatalf("asked 64 KiB, got %d", small)
	}
	big := setReadBuffer(c, 4<<20)
	if big <= small {
		t.Skipf("kernel kept the buffer at %d bytes (not root and rmem_max is low)", big)
	}
	if big < 4<<20 {
		t.Fatalf("asked 4 MiB as a privileged user, got %d", big)
	}
}
