package sip

import (
	"bufio"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/trunkline/trunkline/auth"
)

// noCustomers is an Authenticator that knows no one (these tests send only
// OPTIONS, which needs none).
type noCustomers struct{}

func (noCustomers) Lookup(netip.Addr, string) (auth.Identity, error) {
	return auth.Identity{}, errors.New("unknown source")
}

// tcpSwitch is a switch on a free loopback port until the test ends, with
// TCP limits l (zero fields: defaults) and known as its known sources.
func tcpSwitch(t *testing.T, l TCPLimits, known ...string) (*Server, string) {
	t.Helper()
	set := map[netip.Addr]bool{}
	for _, k := range known {
		set[netip.MustParseAddr(k)] = true
	}
	s, err := New(noCustomers{}, nil, nil, WithLogger(slog.New(slog.DiscardHandler)),
		WithTCPLimits(l), WithKnownSource(func(ip netip.Addr) bool { return set[ip] }))
	if err != nil {
		t.Fatal(err)
	}
	return s, listen(t, s).String() // TCP listens on the same port
}

// dialFrom opens a TCP connection from the loopback address src to to.
func dialFrom(t *testing.T, src, to string) net.Conn {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", to)
	if err != nil {
		t.Fatalf("dialling from %s: %v", src, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// closedWithin reports whether the switch closes c within d (c must get
// nothing meanwhile).
func closedWithin(t *testing.T, c net.Conn, d time.Duration) bool {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(d))
	var b [512]byte
	n, err := c.Read(b[:])
	switch {
	case errors.Is(err, os.ErrDeadlineExceeded):
		return false
	case n > 0:
		t.Fatalf("unexpected bytes from the switch: %q", b[:n])
	}
	return err != nil // EOF or reset
}

// countClosed checks the connections at once and counts those the switch
// closes within d.
func countClosed(t *testing.T, conns []net.Conn, d time.Duration) int {
	t.Helper()
	var mu sync.Mutex
	var wg sync.WaitGroup
	closed := 0
	for _, c := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = c.SetReadDeadline(time.Now().Add(d))
			var b [1]byte
			if _, err := c.Read(b[:]); !errors.Is(err, os.ErrDeadlineExceeded) {
				mu.Lock()
				closed++
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	return closed
}

// optionsOver is an out-of-dialog OPTIONS sent over the TCP connection c.
func optionsOver(c net.Conn, callID string) string {
	return "OPTIONS sip:ping@127.0.0.1 SIP/2.0\r\n" +
		"Via: SIP/2.0/TCP " + c.LocalAddr().String() + ";branch=z9hG4bK" + callID + "\r\n" +
		"From: <sip:probe@127.0.0.1>;tag=f1\r\nTo: <sip:ping@127.0.0.1>\r\n" +
		"Call-ID: " + callID + "\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
}

// statusLines reads n responses from c (through r) and returns their
// status lines.
func statusLines(t *testing.T, c net.Conn, r *bufio.Reader, n int, within time.Duration) []string {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(within))
	var got []string
	for len(got) < n {
		first, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("reading response %d of %d (got %q): %v", len(got)+1, n, got, err)
		}
		for line := first; line != "\r\n"; {
			if line, err = r.ReadString('\n'); err != nil {
				t.Fatalf("reading headers after %q: %v", first, err)
			}
		}
		got = append(got, strings.TrimSpace(first))
	}
	return got
}

// serverConn waits for the switch to register the connection c.
func serverConn(t *testing.T, s *Server, c net.Conn) *tcpConn {
	t.Helper()
	for end := time.Now().Add(2 * time.Second); time.Now().Before(end); time.Sleep(5 * time.Millisecond) {
		if tc := s.tp.conn(c.LocalAddr().String()); tc != nil {
			return tc
		}
	}
	t.Fatal("the switch did not register the connection")
	return nil
}

func dropped(s *Server, reason string) int {
	return int(testutil.ToFloat64(s.metrics.dropped.WithLabelValues(reason)))
}

// A source may hold only its share of connections; the rest are closed at
// once, and a slot comes back when one of its connections ends.
func TestTCPPerSourceLimit(t *testing.T) {
	for _, tc := range []struct {
		name, src string
		allowed   int
		reason    string
	}{
		{"unknown source", "127.0.0.9", 3, dropTCPUnknownLimit},
		{"known source", "127.0.0.2", 5, dropTCPSourceLimit},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := tcpSwitch(t, TCPLimits{PerUnknownSource: 3, PerSource: 5}, "127.0.0.2")
			const extra = 3
			var conns []net.Conn
			for range tc.allowed + extra {
				conns = append(conns, dialFrom(t, tc.src, addr))
			}
			if n := countClosed(t, conns, 500*time.Millisecond); n != extra {
				t.Fatalf("%d of %d connections closed, want %d", n, len(conns), extra)
			}
			if n := dropped(s, tc.reason); n != extra {
				t.Fatalf("dropped{reason=%q} = %d, want %d", tc.reason, n, extra)
			}

			// Find an open one, close it, and a new connection is kept.
			var open net.Conn
			for _, c := range conns {
				if tcp := s.tp.conn(c.LocalAddr().String()); tcp != nil {
					open = c
					break
				}
			}
			if open == nil {
				t.Fatal("no open connection registered")
			}
			open.Close()
			for end := time.Now().Add(2 * time.Second); s.tp.conn(open.LocalAddr().String()) != nil; time.Sleep(5 * time.Millisecond) {
				if time.Now().After(end) {
					t.Fatal("the switch did not see the connection close")
				}
			}
			if closedWithin(t, dialFrom(t, tc.src, addr), 300*time.Millisecond) {
				t.Fatal("a connection was refused after one of the source's ended")
			}
		})
	}
}

// Idle connections from unknown sources, as many as they may open, do not
// keep a known source from opening a connection and being answered on it.
func TestTCPUnknownSourcesCannotLockOutKnown(t *testing.T) {
	// Known sources get a cap of their own, no larger than the unknown one:
	// with one shared table, the unknown sources would fill it.
	_, addr := tcpSwitch(t, TCPLimits{PerUnknownSource: 30, UnknownTotal: 40, KnownTotal: 40}, "127.0.0.2")
	var conns []net.Conn
	for i := range 60 {
		conns = append(conns, dialFrom(t, fmt.Sprintf("127.0.0.%d", 8+i%2), addr))
	}
	if n := countClosed(t, conns, 500*time.Millisecond); n != 20 {
		t.Fatalf("%d of 60 unknown connections closed, want 20 (beyond the total of 40)", n)
	}
	if !closedWithin(t, dialFrom(t, "127.0.0.7", addr), time.Second) {
		t.Fatal("another unknown source got past the unknown total")
	}

	c := dialFrom(t, "127.0.0.2", addr)
	if _, err := c.Write([]byte(optionsOver(c, "known1"))); err != nil {
		t.Fatal(err)
	}
	if got := statusLines(t, c, bufio.NewReader(c), 1, 2*time.Second); got[0] != "SIP/2.0 200 OK" {
		t.Fatalf("known source got %q, want 200 OK", got)
	}
}

// A connection that carries no dialog is closed after the idle timeout; one
// that carries a dialog is kept, until its last dialog ends.
func TestTCPIdleTimeout(t *testing.T) {
	const idle = 300 * time.Millisecond
	s, addr := tcpSwitch(t, TCPLimits{IdleTimeout: idle})
	start := time.Now()
	idleConn, heldConn := dialFrom(t, "127.0.0.1", addr), dialFrom(t, "127.0.0.1", addr)
	held := serverConn(t, s, heldConn)
	held.hold()

	if !closedWithin(t, idleConn, idle+2*time.Second) {
		t.Fatal("an idle connection without a dialog was kept")
	}
	if el := time.Since(start); el < idle {
		t.Fatalf("closed after %s, before the idle timeout %s", el, idle)
	}
	if closedWithin(t, heldConn, 3*idle) {
		t.Fatal("a connection carrying a dialog was closed when idle")
	}
	held.release()
	if !closedWithin(t, heldConn, 2*time.Second) {
		t.Fatal("a connection whose last dialog ended was kept idle")
	}
}

// Keep-alives (RFC 5626) are bytes received: they keep a connection open,
// and a double CRLF is answered with a CRLF.
func TestTCPKeepAliveResetsIdle(t *testing.T) {
	const idle = 300 * time.Millisecond
	_, addr := tcpSwitch(t, TCPLimits{IdleTimeout: idle})
	c := dialFrom(t, "127.0.0.1", addr)
	for range 6 {
		if _, err := c.Write([]byte("\r\n\r\n")); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(idle))
		var pong [2]byte
		if _, err := c.Read(pong[:]); err != nil || string(pong[:]) != "\r\n" {
			t.Fatalf("pong: %q, %v", pong, err)
		}
		time.Sleep(idle / 2)
	}
}

// A sender that stops part way through a message is closed after the
// partial timeout, wherever it stops.
func TestTCPPartialTimeout(t *testing.T) {
	const partial = 400 * time.Millisecond
	upTo := func(cut string) func(string) string {
		return func(m string) string { return m[:strings.Index(m, cut)+len(cut)] }
	}
	for _, tc := range []struct {
		name string
		part func(msg string) string // what is sent of msg
	}{
		{"inside the start line", upTo("OPTIONS sip:ping@127.0.0.1 SIP")},
		{"inside a header line", upTo("Call-ID: ")},
		{"after whole header lines", upTo("Content-Length: 0\r\n")}, // sipgo's buffer is empty here
		{"inside the body", func(m string) string { return strings.Replace(m, "Content-Length: 0", "Content-Length: 10", 1) + "abc" }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, addr := tcpSwitch(t, TCPLimits{PartialTimeout: partial, IdleTimeout: 10 * time.Second})
			c := dialFrom(t, "127.0.0.1", addr)
			start := time.Now()
			if _, err := c.Write([]byte(tc.part(optionsOver(c, "slow1")))); err != nil {
				t.Fatal(err)
			}
			if !closedWithin(t, c, partial+2*time.Second) {
				t.Fatal("a slow sender was kept")
			}
			if el := time.Since(start); el < partial {
				t.Fatalf("closed after %s, before the partial timeout %s", el, partial)
			}
			if n := dropped(s, dropTCPPartial); n != 1 {
				t.Fatalf("dropped{reason=%q} = %d, want 1", dropTCPPartial, n)
			}
		})
	}
}

// The partial timeout counts from when the message under way began, not
// from when the connection last sat between messages: a busy stream whose
// reads end inside messages is kept.
func TestTCPPartialTimeoutPerMessage(t *testing.T) {
	const partial = 400 * time.Millisecond
	_, addr := tcpSwitch(t, TCPLimits{PartialTimeout: partial})
	c := dialFrom(t, "127.0.0.1", addr)
	var stream string
	const n = 5
	for i := range n {
		stream += optionsOver(c, fmt.Sprintf("busy%d", i))
	}
	// Each write ends half way through a message; the stream is never
	// between messages for 5 × 150 ms, longer than the partial timeout.
	step := len(stream) / n
	for i := 0; i < n; i++ {
		from, to := i*step-step/2, i*step+step/2
		if from < 0 {
			from = 0
		}
		if i == n-1 {
			to = len(stream)
		}
		if _, err := c.Write([]byte(stream[from:to])); err != nil {
			t.Fatal(err)
		}
		time.Sleep(150 * time.Millisecond)
	}
	for i, got := range statusLines(t, c, bufio.NewReader(c), n, 2*time.Second) {
		if got != "SIP/2.0 200 OK" {
			t.Fatalf("response %d: %q", i, got)
		}
	}
}

// A message whose last CRLF arrives alone is still a message, not a
// keep-alive.
func TestTCPMessageSplitAtBlankLine(t *testing.T) {
	_, addr := tcpSwitch(t, TCPLimits{})
	c := dialFrom(t, "127.0.0.1", addr)
	msg := optionsOver(c, "split1")
	for _, part := range []string{msg[:len(msg)-2], "\r\n"} {
		if _, err := c.Write([]byte(part)); err != nil {
			t.Fatal(err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if got := statusLines(t, c, bufio.NewReader(c), 1, 2*time.Second); got[0] != "SIP/2.0 200 OK" {
		t.Fatalf("got %q", got)
	}
}

// A message larger than sipgo's limit (65535 bytes) closes the connection
// before the switch holds more of it.
func TestTCPMessageTooLarge(t *testing.T) {
	s, addr := tcpSwitch(t, TCPLimits{})
	c := dialFrom(t, "127.0.0.1", addr)
	msg := optionsOver(c, "big1")
	big := msg[:len(msg)-2] + "X-Pad: " + strings.Repeat("a", 70_000) // no end of line
	go c.Write([]byte(big))                                           // the switch may close before all is written
	if !closedWithin(t, c, 2*time.Second) {
		t.Fatal("an oversized message was kept")
	}
	if n := dropped(s, dropTCPTooLarge); n != 1 {
		t.Fatalf("dropped{reason=%q} = %d, want 1", dropTCPTooLarge, n)
	}
}

// hold and release count dialogs from any goroutine; a release without a
// hold is ignored rather than making a later hold not count.
func TestTCPConnHoldRelease(t *testing.T) {
	var c tcpConn
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 100 {
				c.hold()
				c.release()
			}
		}()
	}
	wg.Wait()
	if n := c.dialogs.Load(); n != 0 {
		t.Fatalf("after matched holds and releases: %d dialogs", n)
	}
	c.release()
	c.hold()
	if n := c.dialogs.Load(); n != 1 {
		t.Fatalf("a stray release made the next hold count %d", n)
	}
}

func TestReadClock(t *testing.T) {
	l := TCPLimits{IdleTimeout: 30 * time.Second, PartialTimeout: 10 * time.Second}
	t0 := time.Unix(1000, 0)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	type read struct {
		at             float64
		partial, began bool
	}
	for _, tc := range []struct {
		name    string
		reads   []read
		dialogs bool
		want    float64 // seconds after t0
		why     string
	}{
		{"fresh, no dialog", nil, false, 30, "idle"},
		{"fresh, a dialog", nil, true, 3*3600 + 60, "idle"},
		{"idle counts from the last byte", []read{{5, false, false}}, false, 35, "idle"},
		{"a message under way", []read{{5, true, false}}, false, 15, dropTCPPartial},
		{"still the same message", []read{{5, true, false}, {9, true, false}}, false, 15, dropTCPPartial},
		{"a new message began", []read{{5, true, false}, {9, true, true}}, false, 19, dropTCPPartial},
		{"the message ended", []read{{5, true, false}, {9, false, false}}, false, 39, "idle"},
		{"a dialog does not extend a message", []read{{5, true, false}}, true, 15, dropTCPPartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newReadClock(l, 3*time.Hour+time.Minute, t0)
			for _, r := range tc.reads {
				c.received(at(r.at), r.partial, r.began)
			}
			got, why := c.deadline(tc.dialogs)
			if !got.Equal(at(tc.want)) || why != tc.why {
				t.Fatalf("deadline %s (%s), want %s (%s)", got.Sub(t0), why, at(tc.want).Sub(t0), tc.why)
			}
		})
	}
}

func TestTCPLimiter(t *testing.T) {
	known := netip.MustParseAddr("192.0.2.1")
	l := tcpLimiter{
		limits: TCPLimits{PerSource: 2, PerUnknownSource: 1, UnknownTotal: 3, KnownTotal: 3},
		known:  func(ip netip.Addr) bool { return ip == known },
	}
	l.applyDefaults()
	admit := func(ip string) (tcpSlot, string) { return l.admit(netip.MustParseAddr(ip)) }
	var slots []tcpSlot
	for _, step := range []struct{ ip, want string }{
		{"192.0.2.1", ""},
		{"192.0.2.1", ""},
		{"192.0.2.1", dropTCPSourceLimit},
		{"198.51.100.1", ""},
		{"198.51.100.1", dropTCPUnknownLimit},
		{"2001:db8:1:2::1", ""},
		{"2001:db8:1:2::99", dropTCPUnknownLimit}, // the same /64
		{"2001:db8:1:3::1", ""},
		{"198.51.100.2", dropTCPUnknownLimit}, // UnknownTotal
	} {
		slot, why := admit(step.ip)
		if why != step.want {
			t.Fatalf("admit %s: %q, want %q", step.ip, why, step.want)
		}
		if why == "" {
			slots = append(slots, slot)
		}
	}
	for _, s := range slots {
		l.release(s)
	}
	if len(l.bySource) != 0 || l.nKnown != 0 || l.nUnknown != 0 {
		t.Fatalf("after every release: %v, %d known, %d unknown", l.bySource, l.nKnown, l.nUnknown)
	}
	if _, why := admit("198.51.100.2"); why != "" {
		t.Fatalf("after releases: %q", why)
	}
}

func TestTCPLimitsDefaults(t *testing.T) {
	got := TCPLimits{PerSource: 7}.withDefaults()
	want := TCPLimits{IdleTimeout: DefaultTCPIdleTimeout, PartialTimeout: DefaultTCPPartialTimeout, PerSource: 7,
		PerUnknownSource: DefaultTCPPerUnknownSource, UnknownTotal: DefaultTCPUnknownTotal, KnownTotal: DefaultTCPKnownTotal}
	if got != want {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}
