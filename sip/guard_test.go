package sip

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/auth"
)

// denyAll refuses every source and counts the lookups.
type denyAll struct{ n atomic.Int64 }

func (d *denyAll) Lookup(netip.Addr, string) (auth.Identity, error) {
	d.n.Add(1)
	return auth.Identity{}, errors.New("unknown source")
}

// newTestServer is a switch listening on 127.0.0.1 that knows no customer.
func newTestServer(t testing.TB) (*Server, *denyAll, net.Addr) {
	t.Helper()
	d := &denyAll{}
	s, err := New(d, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return s, d, listen(t, s)
}

// listen starts s on a free loopback port until the test ends.
func listen(t testing.TB, s *Server) net.Addr {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	addr, err := s.Listen(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); s.Close() })
	return addr
}

func parseRequest(t testing.TB, raw string) *gosip.Request {
	t.Helper()
	m, err := gosip.NewParser().ParseSIP([]byte(raw))
	if err != nil {
		t.Fatal(err)
	}
	return m.(*gosip.Request)
}

func TestServerKey(t *testing.T) {
	keyed := "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060;branch=z9hG4bKabc\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	rfc2543 := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	ack2543 := "ACK sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>;tag=9\r\nCall-ID: c2\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n"
	noCallID := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	noVia := "OPTIONS sip:a@b SIP/2.0\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"

	k, ok := serverKey(parseRequest(t, keyed))
	if !ok || k.branch != "z9hG4bKabc" || k.sentBy != "h:5060" || k.method != gosip.OPTIONS {
		t.Fatalf("RFC 3261 request: %+v %v", k, ok)
	}
	inv, ok1 := serverKey(parseRequest(t, rfc2543))
	again, _ := serverKey(parseRequest(t, rfc2543))
	ack, ok2 := serverKey(parseRequest(t, ack2543))
	if !ok1 || !ok2 || inv != again || inv != ack || !strings.HasPrefix(inv.branch, "2543|") {
		t.Fatalf("RFC 2543 INVITE %+v, retransmission %+v, ACK %+v", inv, again, ack)
	}
	for _, raw := range []string{noCallID, noVia} {
		if k, ok := serverKey(parseRequest(t, raw)); ok {
			t.Errorf("keyed a request without identity: %+v", k)
		}
	}
}

// TestServerTransaction checks the server side of the transaction layer
// over UDP: a refused INVITE's 403 is retransmitted until the ACK, a
// retransmitted INVITE gets the 403 again without being handled twice, and
// after the ACK nothing more comes.
func TestServerTransaction(t *testing.T) {
	_, d, addr := newTestServer(t)
	c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	inv := "INVITE sip:123@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKtx1\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:123@h>\r\nCall-ID: tx1\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
	read := func(wait time.Duration) string {
		buf := make([]byte, 4096)
		_ = c.SetReadDeadline(time.Now().Add(wait))
		n, err := c.Read(buf)
		if err != nil {
			return ""
		}
		return string(buf[:n])
	}
	if _, err := c.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	first := read(2 * time.Second)
	if !strings.HasPrefix(first, "SIP/2.0 403") {
		t.Fatalf("want 403, got %q", first)
	}
	if !strings.Contains(first, ";tag=") {
		t.Error("403 without a To tag")
	}
	if again := read(2 * time.Second); again != first {
		t.Fatalf("Timer G: want the 403 again, got %q", again)
	}
	if _, err := c.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	if again := read(2 * time.Second); again != first {
		t.Fatalf("retransmitted INVITE: want the 403 again, got %q", again)
	}
	if n := d.n.Load(); n != 1 {
		t.Fatalf("INVITE handled %d times", n)
	}
	ack := strings.Replace(strings.Replace(inv, "INVITE sip", "ACK sip", 1), "1 INVITE", "1 ACK", 1)
	if _, err := c.Write([]byte(ack)); err != nil {
		t.Fatal(err)
	}
	for read(100*time.Millisecond) != "" {
		// a retransmission already on its way
	}
	if got := read(1500 * time.Millisecond); got != "" {
		t.Fatalf("answer retransmitted after the ACK: %q", got)
	}
	// The ended transaction still answers: the INVITE again gets the same
	// 403, the ACK again nothing, and the INVITE is not handled again.
	if _, err := c.Write([]byte(inv)); err != nil {
		t.Fatal(err)
	}
	if again := read(2 * time.Second); again != first {
		t.Fatalf("INVITE retransmitted after the ACK: want the 403 again, got %q", again)
	}
	if _, err := c.Write([]byte(ack)); err != nil {
		t.Fatal(err)
	}
	if got := read(300 * time.Millisecond); got != "" {
		t.Fatalf("an ACK retransmitted after the ACK got %q", got)
	}
	if n := d.n.Load(); n != 1 {
		t.Fatalf("INVITE handled %d times", n)
	}
}

// FuzzReceive feeds datagrams to the switch's receive path (parse, key,
// validate, answer): it must never panic, and with no customer known no
// call may stay in its table.
func FuzzReceive(f *testing.F) {
	files, _ := filepath.Glob("../../shared/testdata/rfc4475/*.dat")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>\r\nTo: <sip:1@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"))
	f.Add([]byte("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bKx\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:1@h>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"))
	s, _, _ := newTestServer(f)
	src := netip.MustParseAddrPort("127.0.0.1:9")
	f.Fuzz(func(t *testing.T, in []byte) {
		s.receiveDatagram(in, src)
		if n := s.ActiveCalls(); n != 0 {
			t.Fatalf("%d calls in the table", n)
		}
	})
}

// A switch made WithRecovery answers new calls 503 (with Retry-After) and
// looks nobody up until Recovered; then it takes them.
func TestRecoveryHoldsNewCalls(t *testing.T) {
	d := &denyAll{}
	s, err := New(d, nil, nil, WithRecovery())
	if err != nil {
		t.Fatal(err)
	}
	addr := listen(t, s)
	c, err := net.DialUDP("udp", nil, addr.(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	call := func(id string) string {
		inv := "INVITE sip:123@h SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK" + id + "\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:123@h>\r\nCall-ID: " + id + "\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"
		if _, err := c.Write([]byte(inv)); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 4096)
		_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return string(buf[:n])
	}
	if got := call("rec1"); !strings.HasPrefix(got, "SIP/2.0 503") || !strings.Contains(got, "Retry-After: 2") || d.n.Load() != 0 {
		t.Fatalf("while recovering: %q (%d lookups)", got, d.n.Load())
	}
	s.Recovered()
	if got := call("rec2"); !strings.HasPrefix(got, "SIP/2.0 403") || d.n.Load() != 1 {
		t.Fatalf("after recovery: %q (%d lookups)", got, d.n.Load())
	}
}
