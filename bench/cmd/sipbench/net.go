package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// freePort returns a port that was free on ip a moment ago.
func freePort(network, ip string) (int, error) {
	if network == "udp" {
		c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
		if err != nil {
			return 0, err
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port, nil
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// udpBound reports whether some socket is bound to UDP port.
func udpBound(port int) bool {
	b, err := os.ReadFile("/proc/net/udp")
	if err != nil {
		return false
	}
	want := fmt.Sprintf(":%04X ", port)
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 1 && strings.HasSuffix(f[1]+" ", want) {
			return true
		}
	}
	return false
}

func waitUDP(port int, d time.Duration) error {
	deadline := time.Now().Add(d)
	for !udpBound(port) {
		if time.Now().After(deadline) {
			return fmt.Errorf("nothing bound UDP port %d within %s", port, d)
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

var rbRE = regexp.MustCompile(`rb(\d+)`)

// udpRcvBuf returns the receive buffer (bytes, as the kernel accounts it:
// twice what was asked) of the socket on UDP port, or 0 if unknown.
func udpRcvBuf(port int) int {
	out, err := exec.Command("ss", "-uamnH", "sport = :"+strconv.Itoa(port)).Output()
	if err != nil {
		return 0
	}
	if m := rbRE.FindSubmatch(out); m != nil {
		v, _ := strconv.Atoi(string(m[1]))
		return v
	}
	return 0
}
