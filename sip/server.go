package sip

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	gosip "github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip/border"
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
	DefaultInviteTimeout   = 8 * time.Second   // no response at all from a carrier: try the next
	DefaultRingTimeout     = 120 * time.Second // no answer after ringing: give up
	DefaultMaxCallDuration = 3 * time.Hour     // an answered call is ended after this
	MaxCallCeiling         = 48 * time.Hour    // no call lasts longer, whatever its customer's maximum
	DefaultUDPReadBuffer   = 4 << 20           // bytes
)

// maxUDPMessage is the largest SIP message the switch sends over UDP.
const maxUDPMessage = 65507

// Server is the SIP proxy. Create it with New, start it with Listen and stop
// it by cancelling the context given to Listen and calling Close.
type Server struct {
	tp       transport
	out      udpQueue
	servers  *txTable[serverTx]
	clients  *txTable[clientTx]
	branches *branches
	closeMu  sync.Mutex // closing and wg.Add together, against Close's Wait
	closing  bool
	emitter  emitter // ended calls' CDRs, charges and register removals
	reg      prometheus.Registerer
	t1       time.Duration // RFC 3261 T1
	linger   time.Duration // how long completed transactions absorb retransmissions
	wg       sync.WaitGroup
	stop     chan struct{}
	stopOnce sync.Once

	auth         Authenticator
	digest       Digester
	realm        string
	guard        SourceGuard
	flood        FloodLimiter
	tcpl         tcpLimiter // TCP connection limits (tcplimits.go)
	router       Router
	cdrs         cdr.Sink
	log          *slog.Logger
	metrics      *metrics
	stats        *callStats // per customer and carrier
	metricSeries int
	callLog      bool // an info line per ended call
	calls        *callTable
	policy       *border.Policy // what crosses between legs
	live         LiveCalls      // durable register of answered calls; nil for none

	draining atomic.Bool // refusing new calls
	// recovering refuses new calls until the calls a crash left are
	// charged: their money must be spent before new calls reserve it.
	recovering atomic.Bool
	taken      atomic.Uint64 // calls taken since start

	storeTimeout time.Duration // longest a set-up step waits on the store; 0: the store's own
	chargeRetry  time.Duration // first wait before a refused charge is tried again

	node           string
	advertise      string // host put in Via and Contact
	port           int    // SIP port (UDP and TCP)
	hostport       string // advertise:port
	readers        int
	parser         *gosip.Parser
	udpBuffer      int
	inviteTimeout  time.Duration
	ringTimeout    time.Duration
	maxCall        time.Duration
	sessionExpires time.Duration // the switch's own session timer; 0 for none
	minSE          time.Duration // the smallest session interval accepted
	credit         Credit
	limits         Limits
	attempts       AttemptSink // quality of carrier endpoints; nil for none
	relay          *MediaRelay // the RTP relay; nil for none
	now            func() time.Time
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithNode names this node in CDRs.
func WithNode(name string) Option { return func(s *Server) { s.node = name } }

// WithAdvertise sets the host put in Via and Contact when the listen
// address is a wildcard.
func WithAdvertise(host string) Option { return func(s *Server) { s.advertise = host } }

// WithHeaderPolicy sets what crosses between legs (default
// border.Default()).
func WithHeaderPolicy(p *border.Policy) Option { return func(s *Server) { s.policy = p } }

// WithTimeouts sets the no-response (per carrier attempt) and ring timeouts.
func WithTimeouts(invite, ring time.Duration) Option {
	return func(s *Server) { s.inviteTimeout, s.ringTimeout = invite, ring }
}

// WithMaxCallDuration ends answered calls after d (default
// DefaultMaxCallDuration) with a BYE to both sides.
func WithMaxCallDuration(d time.Duration) Option { return func(s *Server) { s.maxCall = d } }

// WithUDPReadBuffer sets the receive buffer of the UDP socket (default
// DefaultUDPReadBuffer): a burst of calls must not overflow it.
func WithUDPReadBuffer(bytes int) Option { return func(s *Server) { s.udpBuffer = bytes } }

// WithReaders sets how many goroutines read the UDP socket (default
// GOMAXPROCS): each handles the messages it reads to the end.
func WithReaders(n int) Option { return func(s *Server) { s.readers = n } }

// WithStoreTimeout bounds how long a call's set-up waits on the shared
// store (its limits and its credit, on Redis): past d the check fails, and
// the call goes as the policy for a failed store says (refused, or
// admitted without limits). 0, the default, leaves it to the store.
func WithStoreTimeout(d time.Duration) Option { return func(s *Server) { s.storeTimeout = d } }

// setupContext is the context of a set-up step that waits on the store.
func (s *Server) setupContext() (context.Context, context.CancelFunc) {
	if s.storeTimeout <= 0 {
		return context.Background(), func() {}
	}
	return context.WithTimeout(context.Background(), s.storeTimeout)
}

// WithCallLog turns the info line per ended call on (the default) or off.
func WithCallLog(on bool) Option { return func(s *Server) { s.callLog = on } }

// WithMetricSeries caps how many customers, and how many carriers, get
// series of their own in the per-customer and per-carrier metrics (default
// DefaultMetricSeries); the rest count as "other".
func WithMetricSeries(n int) Option { return func(s *Server) { s.metricSeries = n } }

// WithRegistry registers the SIP metrics on reg.
func WithRegistry(reg prometheus.Registerer) Option {
	return func(s *Server) { s.metrics, s.reg = newMetrics(reg), reg }
}

// New builds a Server around its three collaborators.
func New(a Authenticator, r Router, sink cdr.Sink, opts ...Option) (*Server, error) {
	s := &Server{
		auth: a, router: r, cdrs: sink,
		log:            slog.Default(),
		calls:          newCallTable(),
		node:           "trunkline",
		inviteTimeout:  DefaultInviteTimeout,
		ringTimeout:    DefaultRingTimeout,
		maxCall:        DefaultMaxCallDuration,
		sessionExpires: DefaultSessionExpires,
		minSE:          DefaultMinSE,
		udpBuffer:      DefaultUDPReadBuffer,
		t1:             defaultT1,
		policy:         border.Default(),
		linger:         defaultLinger,
		chargeRetry:    chargeRetry,
		now:            time.Now,
		callLog:        true,
	}
	for _, o := range opts {
		o(s)
	}
	s.tcpl.applyDefaults()
	if s.metrics == nil {
		s.metrics = newMetrics(nil)
	}
	s.log = s.log.With("component", "sip")
	s.parser = gosip.NewParser()
	s.servers, s.clients = newTxTable[serverTx](), newTxTable[clientTx]()
	if s.reg != nil {
		for side, t := range map[string]interface{ len() int }{"server": s.servers, "client": s.clients} {
			s.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "trunkline_sip_transactions", ConstLabels: prometheus.Labels{"side": side},
				Help: "SIP transactions held, by side (server: requests received; client: requests sent), including completed ones absorbing retransmissions.",
			}, func() float64 { return float64(t.len()) }))
		}
	}
	if s.reg != nil && s.relay != nil {
		s.registerRelayMetrics()
	}
	s.stats = newCallStats(s.reg, s.metricSeries, s)
	s.branches = newBranches()
	s.stop = make(chan struct{})
	s.tp.conns, s.tp.names, s.tp.slow = map[string]*tcpConn{}, map[string]resolved{}, map[string]*slowQueue{}
	s.out.wake = make(chan struct{}, 1)
	if s.readers <= 0 {
		s.readers = runtime.GOMAXPROCS(0)
	}
	return s, nil
}

// track counts one more goroutine Close waits for, unless Close has begun.
func (s *Server) track() bool {
	s.closeMu.Lock()
	defer s.closeMu.Unlock()
	if s.closing {
		return false
	}
	s.wg.Add(1)
	return true
}

// dispatch hands a parsed message to its transaction or handler.
// A datagram's framing problem (see framing) travels with its request to
// the validation step, which answers it.
func (s *Server) dispatch(msg gosip.Message, src netip.AddrPort, transport string, conn *tcpConn, bad *refusal) {
	msg.SetTransport(transport)
	msg.SetSource(src.String())
	switch m := msg.(type) {
	case *gosip.Response:
		res, ok := fromMessage(m)
		if !ok {
			s.metrics.dropped.WithLabelValues("no-transaction-key").Inc()
			return
		}
		s.onResponse(res, src)
	case *gosip.Request:
		s.onRequest(m, transport, conn, bad)
	}
}

// onResponse passes a response to the client transaction it answers. One
// that matches none is dropped (RFC 6026): relaying it would let anyone
// make the switch send to any address. So is one from another address than
// the one its request went to: only the party asked answers.
func (s *Server) onResponse(res *response, src netip.AddrPort) {
	key := txKey{branch: res.branch, method: methodKind(res.method)}
	tx, done, found := s.clients.find(key)
	if !found {
		s.metrics.dropped.WithLabelValues("no-transaction").Inc()
		return
	}
	to := done.to // an answer again to an ended transaction
	if tx != nil {
		to = tx.to
	}
	if !s.responderAt(to, src.Addr()) {
		s.metrics.dropped.WithLabelValues("response-stranger").Inc()
		return
	}
	if tx == nil {
		s.answeredDone(key, done, res)
		return
	}
	s.answered(tx, res)
}

// responderAt reports whether a response to a request sent to dst may come
// from src: the address the request went to, or a known customer's or carrier's (a
// carrier may answer from a sibling of the node it was sent to). A name
// whose address is not cached any more is not held against the response:
// the branch, 96 random bits, is what a stranger cannot guess.
func (s *Server) responderAt(dst hop, src netip.Addr) bool {
	to, ok := s.tp.lookup(dst.addr)
	if !ok || to.Addr().WithZone("") == src.WithZone("") {
		return true
	}
	return s.tcpl.known != nil && s.tcpl.known(src)
}

// onRequest matches a request to its server transaction (a retransmission,
// or the ACK of a non-2xx answer) or starts one and hands it to its
// method's handler.
func (s *Server) onRequest(req *gosip.Request, transport string, conn *tcpConn, bad *refusal) {
	key, ok := serverKey(req)
	if !ok {
		s.metrics.dropped.WithLabelValues("no-transaction-key").Inc()
		s.log.Debug("request dropped: no transaction identity", "source", req.Source())
		return
	}
	if req.Method == gosip.CANCEL {
		key.method = gosip.CANCEL
	}
	if tx, done, found := s.servers.find(key); tx != nil {
		s.retransmitted(tx, req)
		return
	} else if found {
		s.retransmittedDone(done, req)
		return
	}
	if req.IsAck() {
		s.onAck(req)
		return
	}
	tx := &serverTx{key: key, method: req.Method, from: hop{addr: req.Source(), transport: transport}, conn: conn, bad: bad}
	if got, fresh := s.servers.add(key, tx); !fresh {
		s.retransmitted(got, req)
		return
	}
	switch req.Method {
	case gosip.INVITE:
		s.onInvite(req, tx)
	case gosip.BYE:
		s.onBye(req, tx)
	case gosip.CANCEL:
		s.onCancel(req, tx)
	case gosip.OPTIONS:
		s.onOptions(req, tx)
	default:
		s.onOther(req, tx)
	}
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
	if s.advertise == "" {
		s.advertise = "127.0.0.1"
		if la.IP != nil && !la.IP.IsUnspecified() {
			s.advertise = la.IP.String()
		} else {
			s.log.Warn("listening on all addresses: advertising 127.0.0.1 in Via and Contact; " +
				"set sip.advertise (or -advertise) to the address customers and carriers reach this switch on")
		}
	}
	s.hostport = net.JoinHostPort(s.advertise, strconv.Itoa(s.port))
	s.tp.udp, s.tp.tcp = udp, tcp
	go func() {
		select {
		case <-ctx.Done():
		case <-s.stop:
		}
		s.tp.closeAll()
	}()
	go s.writeUDP(s.stop)
	for range s.readers {
		go s.serveUDP()
	}
	go s.serveTCP(ctx)
	go s.sweepEvery(min(100*time.Millisecond, s.linger/4), s.stop)
	s.log.Info("SIP listening", "udp", la.String(), "tcp", tcp.Addr().String(), "advertise", s.hostport, "readers", s.readers)
	return la, nil
}

// Close closes the sockets and waits for the CDRs of ended calls to be
// written.
func (s *Server) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	s.closeMu.Lock()
	s.closing = true
	s.closeMu.Unlock()
	s.tp.closeAll()
	s.wg.Wait()
	s.closeEmitter()
	return nil
}

// advertiseHost is the switch's host as written in a URI.
func (s *Server) advertiseHost() string { return uriHost(s.advertise) }

// uriHost writes a host for a URI: an IPv6 address in brackets.
func uriHost(h string) string {
	if strings.Contains(h, ":") && !strings.HasPrefix(h, "[") {
		return "[" + h + "]"
	}
	return h
}

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
