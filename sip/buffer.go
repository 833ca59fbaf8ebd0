package sip

import (
	"net"
	"syscall"
)

// setReadBuffer asks for a UDP receive buffer of n bytes and returns what
// the kernel granted (Linux reports twice the usable size; this returns
// half). SO_RCVBUF is capped by net.core.rmem_max; as root, SO_RCVBUFFORCE
// is tried first, which is not.
func setReadBuffer(c *net.UDPConn, n int) int {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	got := 0
	_ = raw.Control(func(fd uintptr) {
		if syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, n) != nil {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, n)
		}
		if v, err := syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF); err == nil {
			got = v / 2
		}
	})
	return got
}
