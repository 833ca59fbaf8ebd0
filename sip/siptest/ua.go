package siptest

import (
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
)

// endpoint is a sipgo user agent listening on one UDP socket.
type endpoint struct {
	ua     *sipgo.UserAgent
	srv    *sipgo.Server
	client *sipgo.Client
	addr   *net.UDPAddr
}

// newEndpoint listens on ip:0 over UDP and arranges for everything to stop
// when the test ends. It serves once setup (which registers the handlers:
// before any request can arrive) has run.
func newEndpoint(t testing.TB, ip, name string, setup func(*endpoint)) *endpoint {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	ua, err := sipgo.NewUA(sipgo.WithUserAgent(name),
		sipgo.WithUserAgentTransactionLayerOptions(sip.WithTransactionLayerLogger(log)),
		sipgo.WithUserAgentTransportLayerOptions(sip.WithTransportLayerLogger(log)))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatalf("%s listening on %s: %v", name, ip, err)
	}
	addr := conn.LocalAddr().(*net.UDPAddr)
	srv, err := sipgo.NewServer(ua, sipgo.WithServerLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	client, err := sipgo.NewClient(ua, sipgo.WithClientAddr(addr.String()),
		sipgo.WithClientConnectionAddr(addr.String()), sipgo.WithClientLogger(log))
	if err != nil {
		t.Fatal(err)
	}
	e := &endpoint{ua: ua, srv: srv, client: client, addr: addr}
	if setup != nil {
		setup(e)
	}
	go srv.ServeUDP(conn)
	// Requests must leave from this socket: wait until sipgo registered it.
	for i := 0; ; i++ {
		if c, _ := ua.TransportLayer().GetConnection("udp", addr.String()); c != nil {
			break
		}
		if i == 200 {
			t.Fatalf("%s: listener %s never registered", name, addr)
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Cleanup(func() {
		conn.Close()
		ua.Close()
	})
	return e
}

func (e *endpoint) contact(user string) sip.ContactHeader {
	return sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: e.addr.IP.String(), Port: e.addr.Port}}
}

// Addr returns host:port of the UA's socket.
func (e *endpoint) Addr() string { return e.addr.String() }

// Host returns the UA's IP address.
func (e *endpoint) Host() string { return e.addr.IP.String() }

// Port returns the UA's UDP port.
func (e *endpoint) Port() int { return e.addr.Port }

func hostPort(addr string) (string, int, error) {
	h, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	return h, port, err
}
