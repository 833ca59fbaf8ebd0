package sip

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"time"

	"github.com/emiago/sipgo"
	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
)

// Authenticator names the customer a request comes from. Implementations are
// safe for concurrent use; an error means the source is not authorised.
type Authenticator interface {
	Lookup(src netip.Addr, number string) (auth.Identity, error)
}

// Router plans a call; errors carry the SIP status (see routing.Status).
type Router interface {
	Route(ctx context.Context, c routing.Call) (*routing.Plan, error)
}

// Default timers.
const (
	DefaultInviteTimeout = 8 * time.Second   // no response at all from a carrier: try the next
	DefaultRingTimeout   = 120 * time.Second // no answer after ringing: give up
	DefaultCancelWait    = 4 * time.Second   // wait for the 487 after a CANCEL
	DefaultUDPReadBuffer = 4 << 20           // bytes
)

// maxUDPMessage is the largest SIP message the switch sends over UDP.
const maxUDPMessage = 65507

// Server is the SIP proxy. Create it with New, start it with Listen and stop
// it by cancelling the context given to Listen and calling Close.
type Server struct {
	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	udpClient *sipgo.Client // sends from the UDP listener socket
	tcpClient *sipgo.Client

	auth    Authenticator
	digest  Digester
	realm   string
	guard   SourceGuard
	flood   FloodLimiter
	router  Router
	cdrs    cdr.Sink
	log     *slog.Logger
	metrics *metrics
	calls   *callTable

	node          string
	advertise     string // host put in Via and Record-Route
	port          int    // SIP port (UDP and TCP)
	udpLaddr      gosip.Addr
	parser        *gosip.Parser
	udpBuffer     int
	inviteTimeout time.Duration
	ringTimeout   time.Duration
	now           func() time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithNode names this node in CDRs.
func WithNode(name string) Option { return func(s *Server) { s.node = name } }

// WithAdvertise sets the host put in Via and Record-Route when the listen
// address is a wildcard.
func WithAdvertise(host string) Option { return func(s *Server) { s.advertise = host } }

// WithTimeouts sets the no-response (per carrier attempt) and ring timeouts.
func WithTimeouts(invite, ring time.Duration) Option {
	return func(s *Server) { s.inviteTimeout, s.ringTimeout = invite, ring }
}

// WithUDPReadBuffer sets the receive buffer of the UDP socket (default
// DefaultUDPReadBuffer): a burst of calls must not overflow it.
func WithUDPReadBuffer(bytes int) Option { return func(s *Server) { s.udpBuffer = bytes } }

// WithRegistry registers the SIP metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(s *Server) { s.metrics = newMetrics(reg) }
}

// New builds a Server around its three collaborators.
func New(a Authenticator, r Router, sink cdr.Sink, opts ...Option) (*Server, error) {
	s := &Server{
		auth: a, router: r, cdrs: sink,
		log:           slog.Default(),
		calls:         newCallTable(),
		node:          "trunkline",
		inviteTimeout: DefaultInviteTimeout,
		ringTimeout:   DefaultRingTimeout,
		udpBuffer:     DefaultUDPReadBuffer,
		now:           time.Now,
	}
	for _, o := range opts {
		o(s)
	}
	if s.metrics == nil {
		s.metrics = newMetrics(nil)
	}
	s.log = s.log.With("component", "sip")
	s.parser = gosip.NewParser()
	// sipgo refuses to write a UDP message within 200 bytes of this size. An
	// answer to a long request can be larger than an Ethernet MTU; IP
	// fragments it, as other proxies let it.
	if gosip.UDPMTUSize < maxUDPMessage {
		gosip.UDPMTUSize = maxUDPMessage
	}
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent("Trunkline"),
		sipgo.WithUserAgentTransactionLayerOptions(
			gosip.WithTransactionLayerLogger(s.log),
			gosip.WithTransactionLayerUnhandledResponseHandler(s.onStrayResponse),
		),
		sipgo.WithUserAgentTransportLayerOptions(gosip.WithTransportLayerLogger(s.log),
			gosip.WithTransportLayerReadFilter(s.readFilter)),
	)
	if err != nil {
		return nil, fmt.Errorf("creating SIP user agent: %w", err)
	}
	s.ua = ua
	if s.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(s.log)); err != nil {
		return nil, fmt.Errorf("creating SIP server: %w", err)
	}
	s.srv.OnInvite(s.onInvite)
	s.srv.OnAck(s.onAck)
	s.srv.OnBye(s.onBye)
	s.srv.OnCancel(s.onCancel)
	s.srv.OnOptions(s.onOptions)
	s.srv.OnNoRoute(s.onOther)
	return s, nil
}

// Listen binds UDP and TCP on addr (host:port; port 0 picks a free port used
// for both) and serves until ctx ends. It returns the bound UDP address once
// both listeners are up.
func (s *Server) Listen(ctx context.Context, addr string) (net.Addr, error) {
	udp, tcp, err := listenPair(addr)
	if err != nil {
		return nil, err
	}
	if got := setReadBuffer(udp, s.udpBuffer); got < s.udpBuffer {
		s.log.Warn("UDP receive buffer smaller than asked; raise net.core.rmem_max", "asked", s.udpBuffer, "got", got)
	}
	la := udp.LocalAddr().(*net.UDPAddr)
	s.port = la.Port
	s.udpLaddr = gosip.Addr{IP: la.IP, Port: la.Port}
	if s.advertise == "" {
		s.advertise = "127.0.0.1"
		if la.IP != nil && !la.IP.IsUnspecified() {
			s.advertise = la.IP.String()
		} else {
			s.log.Warn("listening on all addresses: advertising 127.0.0.1 in Via and Record-Route; " +
				"set sip.advertise (or -advertise) to the address customers and carriers reach this switch on")
		}
	}
	hostport := net.JoinHostPort(s.advertise, strconv.Itoa(s.port))
	if s.udpClient, err = sipgo.NewClient(s.ua, sipgo.WithClientAddr(hostport),
		sipgo.WithClientConnectionAddr(la.String()), sipgo.WithClientLogger(s.log)); err != nil {
		return nil, err
	}
	if s.tcpClient, err = sipgo.NewClient(s.ua, sipgo.WithClientAddr(hostport), sipgo.WithClientLogger(s.log)); err != nil {
		return nil, err
	}
	go func() {
		<-ctx.Done()
		udp.Close()
		tcp.Close()
	}()
	go func() {
		if err := s.srv.ServeUDP(udp); err != nil && ctx.Err() == nil {
			s.log.Error("UDP listener stopped", "error", err)
		}
	}()
	go func() {
		if err := s.srv.ServeTCP(tcp); err != nil && ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
			s.log.Error("TCP listener stopped", "error", err)
		}
	}()
	s.log.Info("SIP listening", "udp", la.String(), "tcp", tcp.Addr().String(), "advertise", hostport)
	return la, nil
}

// Close stops the user agent (transactions and transports).
func (s *Server) Close() error { return s.ua.Close() }

// ActiveCalls returns the number of calls in the table.
func (s *Server) ActiveCalls() int { return s.calls.len() }

func listenPair(addr string) (*net.UDPConn, net.Listener, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, nil, fmt.Errorf("SIP listen address %q: %w", addr, err)
	}
	for try := 0; ; try++ {
		ua, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, nil, fmt.Errorf("SIP listen address %q: %w", addr, err)
		}
		udp, err := net.ListenUDP("udp", ua)
		if err != nil {
			return nil, nil, fmt.Errorf("listening on UDP %s: %w", addr, err)
		}
		p := udp.LocalAddr().(*net.UDPAddr).Port
		tcp, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err == nil {
			return udp, tcp, nil
		}
		udp.Close()
		if port != "0" || try >= 5 {
			return nil, nil, fmt.Errorf("listening on TCP %s: %w", addr, err)
		}
	}
}
