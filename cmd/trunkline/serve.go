package main

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/routing"
	"github.com/trunkline/trunkline/sip"
	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/web"
)

// node is a running switch: its parts and the addresses it bound.
type node struct {
	SIPAddr   net.Addr // bound UDP address (TCP uses the same port)
	AdminAddr net.Addr
	Token     string // admin token, set only when this start created it

	store    store.Store
	credit   store.Credit    // balances, ledgers and reservations
	wallet   *routing.Wallet // credit control over credit
	journal  *cdr.Journal
	live     *cdr.Live // answered calls, for crash recovery
	ch       *cdr.ClickHouse
	bans     *auth.Bans
	beat     chan struct{}               // asks the heartbeat for a beat now
	instance string                      // this run's random id among the nodes
	reload   func(context.Context) error // reloads the tables from the store
	shipper  *cdr.Shipper                // to ClickHouse; nil without
	cancel   context.CancelFunc          // stops the node's background work
	shipped  chan struct{}               // closed when the shipper has stopped
	exported chan struct{}               // closed when the exporter has stopped
	sip      *sip.Server
	http     *http.Server
	log      *slog.Logger
}

// openStore opens the embedded store in the data directory, or the Redis
// of cfg.Store, and returns its Limits.
func (n *node) openStore(ctx context.Context, cfg *Config) (store.Limits, error) {
	if cfg.Store == "" {
		emb, err := store.OpenEmbedded(cfg.Data)
		if err != nil {
			return nil, fmt.Errorf("opening store: %w", err)
		}
		n.store, n.credit = emb, emb.Credit()
		return emb.Limits(), nil
	}
	r, err := store.OpenRedis(ctx, cfg.Store, cfg.StorePrefix)
	if err != nil {
		return nil, fmt.Errorf("opening store: %w", err)
	}
	n.store, n.credit = r, r.Credit()
	n.log.Info("store is Redis: configuration, balances and limits shared with the nodes using it", "prefix", cfg.StorePrefix)
	if err := checkNodeID(ctx, r, cfg.Node, n.instance); err != nil {
		r.Close()
		return nil, err
	}
	released, err := r.Limits().ReleaseLeasesOf(ctx, cfg.Node)
	if err != nil {
		r.Close()
		return nil, err
	}
	if released > 0 {
		n.log.Info("released the channels this node held before it restarted", "node", cfg.Node, "leases", released)
	}
	return r.Limits(), nil
}

// start wires the parts of a node from cfg and starts its listeners. It
// returns once the switch takes calls; ctx ending stops the listeners, and
// close releases the rest.
func start(ctx context.Context, cfg *Config, log *slog.Logger) (*node, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	n := &node{log: log, cancel: cancel, beat: make(chan struct{}, 1), instance: store.NewID() + store.NewID()}
	limits, err := n.openStore(ctx, cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	buildInfo := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "trunkline_build_info",
		Help: "1, labelled with the version the switch runs, its Go version and its node."}, []string{"version", "goversion", "node"})
	buildInfo.WithLabelValues(buildVersion(), runtime.Version(), cfg.Node).Set(1)
	reg.MustRegister(buildInfo)
	if n.journal, err = cdr.OpenJournal(filepath.Join(cfg.Data, "cdr"), cdr.WithCommitDelay(cfg.CDR.CommitDelay),
		cdr.WithLogger(log.With("component", "cdr")), cdr.WithRegisterer(reg)); err != nil {
		n.close()
		return nil, fmt.Errorf("opening CDR journal: %w", err)
	}

	if n.live, err = cdr.OpenLive(filepath.Join(cfg.Data, "live"), cdr.WithLiveLogger(log.With("component", "cdr")),
		cdr.WithLiveRegisterer(reg), cdr.WithLiveCommitDelay(cfg.CDR.CommitDelay)); err != nil {
		n.close()
		return nil, fmt.Errorf("opening live-call register: %w", err)
	}
	go n.live.Run(ctx)

	var cdrs cdr.Source = n.journal
	if cfg.CDR.ClickHouse != "" {
		if err := n.startShipper(ctx, cfg.CDR, reg); err != nil {
			n.close()
			return nil, err
		}
		// While ClickHouse is down, the journal answers with what it holds
		// (this node's unshipped and newest CDRs), marked as such.
		cdrs = &cdr.Fallback{Primary: n.ch, Secondary: n.journal, Name: "journal", Log: log.With("component", "cdr")}
	}

	alog := log.With("component", "auth")
	nonceKey, err := ensureSecret(ctx, n.store, "sip-nonce-key")
	if err != nil {
		n.close()
		return nil, err
	}
	sealer, err := n.openSealer(ctx, cfg)
	if err != nil {
		n.close()
		return nil, err
	}
	loc := time.UTC
	if cfg.Timezone != "" {
		loc, _ = time.LoadLocation(cfg.Timezone) // checked by Validate
	}
	exportOpts := []cdr.ExportOption{cdr.WithLogger(log.With("component", "cdr")), cdr.WithRegisterer(reg), cdr.WithDefaultTimezone(loc)}
	if sealer != nil {
		exportOpts = append(exportOpts, cdr.WithSecrets(sealer.Open))
	}
	exportFrom := cdrs
	if n.ch != nil {
		// Exports read ClickHouse only: the journal holds this node's
		// unshipped CDRs, not a period's, and a partial file must not pass
		// for the whole; an export waits for ClickHouse instead.
		exportFrom = n.ch
	}
	exporter := cdr.NewExporter(n.store, exportFrom, exportOpts...)
	n.exported = make(chan struct{})
	go func() {
		defer close(n.exported)
		if err := exporter.Run(ctx); err != nil && !errors.Is(err, context.Canceled) {
			log.Error("CDR exporter stopped", "error", err)
		}
	}()

	ipAuth := auth.NewIPAuth(n.store, auth.WithIPAuthLogger(alog))
	digest := auth.NewDigest(n.store, cfg.SIP.Realm, auth.WithNonceKey(nonceKey), auth.WithDigestLogger(alog),
		auth.WithAlgorithms(cfg.SIP.DigestAlgorithms...))
	health := cfg.Health.health()
	router := routing.NewRouter(n.store, append(cfg.routerOptions(), routing.WithHealth(health))...)
	failures := newStoreFailures(reg, log.With("component", "limits"))
	limiter := routing.NewLimiter(limits, cfg.Node, router.Customer, cfg.Limits.limiterOptions(failures.passedLimit)...)
	n.wallet = routing.NewWallet(n.credit, routing.WithCreditBlock(cfg.Credit.BlockSeconds), routing.WithHoldTTL(cfg.Credit.HoldTTL),
		routing.WithCustomers(router.Customer))
	// One reload at a time: an admin change and a SIGHUP (or, on Redis, the
	// follow loop) must not install older tables over newer ones.
	var reloadMu sync.Mutex
	reload := func(ctx context.Context) error {
		reloadMu.Lock()
		defer reloadMu.Unlock()
		if err := ipAuth.Reload(ctx); err != nil {
			return fmt.Errorf("reloading IP authentication: %w", err)
		}
		if err := digest.Reload(ctx); err != nil {
			return fmt.Errorf("reloading SIP users: %w", err)
		}
		if err := router.Reload(ctx); err != nil {
			return fmt.Errorf("reloading routing: %w", err)
		}
		return nil
	}
	onChange := reload
	configVersion := func(context.Context) (int64, error) { return 0, nil }
	running := func() int64 { return 0 }
	var follow func(context.Context)
	if rs, ok := n.store.(*store.Redis); ok {
		// Another node's change shows as a new configuration version.
		cs, err := newConfigState(ctx, rs, reload, n.beat, log)
		if err != nil {
			n.close()
			return nil, err
		}
		onChange, configVersion, running, follow = cs.change, rs.ConfigVersion, cs.running.Load, cs.follow
	}
	n.reload = onChange // SIGHUP: as an admin change (on Redis, versioned)
	// The first load comes before the node follows the others' changes:
	// it must not install its tables after a newer version's.
	if err := reload(ctx); err != nil {
		n.close()
		return nil, err
	}
	if follow != nil {
		go follow(ctx)
	}
	// Known customers and carriers are never flood-limited nor banned, and
	// have TCP connection limits of their own.
	trusted := auth.ExemptFunc(func(ip netip.Addr) bool { return ipAuth.Exempt(ip) || router.IsCarrier(ip) })
	banOpts := []auth.BanOption{auth.WithExempt(trusted)}
	if board, ok := n.store.(store.BanBoard); ok {
		banOpts = append(banOpts, auth.WithBanBoard(board, log.With("component", "bans")))
	}
	n.bans = auth.NewBans(banOpts...)
	flood := auth.NewFloodGuard(cfg.SIP.FloodRate, cfg.SIP.FloodBurst, auth.WithFloodExempt(trusted))
	go ipAuth.Run(ctx)
	go n.bans.Run(ctx, time.Minute)
	go flood.Run(ctx, time.Minute)

	var storeTimeout time.Duration // the embedded store answers from memory and its own disk
	if _, ok := n.store.(*store.Redis); ok {
		storeTimeout = cfg.StoreTimeout
	}
	policy, err := cfg.SIP.headerPolicy()
	if err != nil {
		n.close()
		return nil, err
	}
	reg.MustRegister(newBalanceCollector(router.Table, n.credit, cfg.Metrics.MaxSeries))
	opts := []sip.Option{sip.WithHeaderPolicy(policy),
		sip.WithLogger(log), sip.WithNode(cfg.Node), sip.WithAdvertise(cfg.SIP.Advertise),
		sip.WithTimeouts(cfg.SIP.InviteTimeout, cfg.SIP.RingTimeout), sip.WithMaxCallDuration(cfg.SIP.MaxCallDuration),
		sip.WithSessionTimer(*cfg.SIP.SessionExpires, cfg.SIP.MinSE), sip.WithRegistry(reg),
		sip.WithUDPReadBuffer(cfg.SIP.UDPReadBuffer), sip.WithDigest(digest, cfg.SIP.Realm), sip.WithSourceGuard(n.bans), sip.WithFloodLimit(flood),
		sip.WithLiveCalls(n.live), sip.WithCredit(n.wallet), sip.WithLimits(limiter), sip.WithRecovery(), sip.WithAttemptSink(health),
		sip.WithKnownSource(trusted), sip.WithStoreTimeout(storeTimeout),
		sip.WithCallLog(*cfg.Log.Calls), sip.WithMetricSeries(cfg.Metrics.MaxSeries), sip.WithTCPLimits(sip.TCPLimits{
			IdleTimeout: cfg.SIP.TCPIdleTimeout, PartialTimeout: cfg.SIP.TCPPartialTimeout,
			PerSource: cfg.SIP.TCPPerSource, PerUnknownSource: cfg.SIP.TCPPerUnknownSource,
			UnknownTotal: cfg.SIP.TCPUnknownTotal, KnownTotal: cfg.SIP.TCPKnownTotal,
		})}
	relay, err := cfg.Media.relay()
	if err != nil {
		n.close()
		return nil, err
	}
	if relay != nil {
		opts = append(opts, sip.WithMediaRelay(*relay))
		if why := cfg.Media.unreachable(cfg.SIP); why != "" {
			log.Warn(why)
		}
	}
	n.sip, err = sip.New(ipAuth, router, n.journal, opts...)
	if err != nil {
		n.close()
		return nil, err
	}
	if n.SIPAddr, err = n.sip.Listen(ctx, cfg.SIP.Listen); err != nil {
		n.close()
		return nil, err
	}
	board, _ := n.store.(store.NodeBoard)
	hb := newHeartbeat(board, configVersion, running, n.sip, n.beat, store.NodeState{
		ID: cfg.Node, SIP: n.SIPAddr.String(), Host: hostname(), PID: os.Getpid(), Instance: n.instance, Build: buildVersion(), Started: time.Now(),
	}, log.With("component", "nodes"))
	go hb.run(ctx)
	calls := &clusterCalls{sip: n.sip, node: cfg.Node, log: log.With("component", "calls"), live: hb.Nodes,
		asking: make(chan struct{}, maxAsking)}
	if bus, ok := n.store.(store.Bus); ok {
		calls.bus = bus
	}
	if err := calls.serve(ctx); err != nil {
		n.close()
		return nil, err
	}
	n.recover(ctx)
	n.sip.Recovered()
	n.beat <- struct{}{} // beat now: ready
	if cfg.Health.probing() {
		prober := sip.NewProber(n.sip, func() []routing.ProbeTarget { return router.Table().ProbeTargets() }, health, cfg.Health.proberOptions()...)
		go prober.Run(ctx)
	}

	api := admin.New(n.store, admin.WithLogger(log.With("component", "admin")), admin.WithCDRs(cdrs),
		admin.WithReady(n.ready), admin.WithReadyInfo(n.readyInfo),
		admin.WithOnChange(onChange), admin.WithRegistry(reg), admin.WithBans(n.bans), admin.WithSIPRealm(cfg.SIP.Realm), admin.WithExporter(exporter), admin.WithSealer(sealer), admin.WithTimezone(loc), admin.WithCDRSink(n.journal),
		admin.WithCredit(n.credit),
		admin.WithLiveCalls(calls), admin.WithNodes(hb), admin.WithPublicHost(cfg.Admin.PublicHost),
		admin.WithLiveCard(func(id string) *rating.Card { return router.Table().Card(id) }),
		admin.WithCardsInEffect(func(id string, at time.Time) (int, bool) {
			card := router.Table().Card(id)
			if card == nil {
				return 0, false
			}
			if card.AnyInEffect(at.Unix()) {
				return 1, true
			}
			return 0, true
		}),
		admin.WithEndpointHealth(func(e store.Endpoint) any { return health.Snapshot(routing.EndpointKey(e.CarrierID, e.Host, e.Port)) }),
		admin.WithSimulator(func(ctx context.Context, customerID, number, caller string, at time.Time) (any, error) {
			sim, err := router.SimulateCall(ctx, routing.Call{CustomerID: customerID, Dialled: number, Caller: caller, At: at})
			if c, ok := router.Customer(customerID); err == nil && ok {
				limiter.Explain(ctx, sim, c)
			}
			return sim, err
		}))
	ln, err := net.Listen("tcp", cfg.Admin.Listen)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("admin API listen: %w", err)
	}
	n.AdminAddr = ln.Addr()
	// The control panel at /, over the API (served on the same listener).
	panel := web.New(api.Handler(), log.With("component", "web"), web.WithDomains(api.Domains), web.WithPanelHost(cfg.Admin.PublicHost))
	tlsConf, err := adminTLS(cfg, api.Domains, log.With("component", "web"))
	if err != nil {
		ln.Close()
		n.close()
		return nil, err
	}
	if tlsConf != nil {
		ln = tls.NewListener(ln, tlsConf)
	}
	n.http = &http.Server{Handler: behindProxies(strictTransport(panel.Handler()), cfg.Admin.TrustedProxies), ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout: 5 * time.Minute, IdleTimeout: 2 * time.Minute, TLSConfig: tlsConf, // a deck upload may be large
		ErrorLog: slog.NewLogLogger(log.With("component", "web").Handler(), slog.LevelDebug)} // handshakes that fail: scanners, mostly
	go func() {
		if err := n.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("admin API stopped", "error", err)
		}
	}()
	log.Info("admin API listening", "addr", n.AdminAddr.String())
	// The first admin token, made last: a start that fails leaves none to
	// be lost unseen.
	secret, created, err := admin.EnsureToken(ctx, n.store)
	if err != nil {
		n.close()
		return nil, fmt.Errorf("creating admin token: %w", err)
	}
	if created {
		n.Token = secret
	}
	return n, nil
}

// startShipper ships the journal to ClickHouse until ctx ends. ClickHouse
// being down is not an error here: the shipper retries with backoff and the
// journal keeps every CDR meanwhile.
func (n *node) startShipper(ctx context.Context, c CDRConfig, reg prometheus.Registerer) error {
	log := n.log.With("component", "cdr")
	ch, err := cdr.NewClickHouse(c.ClickHouse, cdr.WithLogger(log), cdr.WithRegisterer(reg))
	if err != nil {
		return fmt.Errorf("cdr.clickhouse: %w", err)
	}
	n.ch = ch
	reader, err := n.journal.Reader("clickhouse")
	if err != nil {
		return fmt.Errorf("CDR journal reader: %w", err)
	}
	n.shipper = cdr.NewShipper(reader, ch, cdr.WithLogger(log), cdr.WithRegisterer(reg),
		cdr.WithBatchSize(c.BatchSize), cdr.WithBatchInterval(c.BatchInterval))
	n.shipped = make(chan struct{})
	go func() {
		defer close(n.shipped)
		if err := n.shipper.Run(ctx); err != nil && !errors.Is(err, cdr.ErrClosed) {
			log.Error("CDR shipper stopped", "error", err)
		}
	}()
	return nil
}

// recoverLookback is how long before its answer a call can have been set
// up (its attempts' invite and ring timeouts), for finding its CDR.
const recoverLookback = time.Hour

// recover ends the calls that were up when the previous process stopped
// without ending them (a crash): each gets its CDR, ended when that process
// was last known alive, and a BYE on both legs.
func (n *node) recover(ctx context.Context) {
	calls, _ := n.live.Recovered()
	if len(calls) == 0 {
		return
	}
	n.log.Warn("ending the calls that were up when the switch stopped", "calls", len(calls))
	// A call whose CDR was written just before the crash, but not yet
	// taken out of the register, has its CDR already: it is charged (once:
	// a charge is posted by call id) and removed.
	written := map[string]*cdr.Record{}
	from := calls[0].UpAt
	for _, c := range calls {
		written[c.Key] = nil
		if c.UpAt.Before(from) {
			from = c.UpAt
		}
	}
	err := cdr.Each(ctx, n.journal, cdr.Query{FromMs: from.Add(-recoverLookback).UnixMilli()}, func(r *cdr.Record) error {
		if _, ok := written[r.CallID]; ok && r.Final {
			rec := *r
			written[r.CallID] = &rec
		}
		return nil
	})
	if err != nil {
		n.log.Error("reading the CDR journal for recovered calls", "error", err)
	}
	for _, c := range calls {
		if r := written[c.Key]; r != nil {
			if r.AnswerMs > 0 {
				err := n.wallet.Charge(ctx, r.CustomerID, r.CallID, nil, routing.KindCharge, r.SellCost, time.UnixMilli(r.SetupMs))
				if err != nil {
					n.log.Error("recovered call not charged", "call", c.Key, "error", err)
					continue // stays in the register: the next start charges it
				}
			}
			if err := n.live.Down(ctx, c.Key); err != nil {
				n.log.Error("recovered call not removed", "call", c.Key, "error", err)
			}
			continue
		}
		if err := n.sip.Recover(ctx, c.Data, c.LastAlive); err != nil {
			n.log.Error("recovered call not ended", "call", c.Key, "error", err)
			continue
		}
		if err := n.live.Down(ctx, c.Key); err != nil {
			n.log.Error("recovered call not removed", "call", c.Key, "error", err)
		}
	}
}

// drain stops taking calls (503, /readyz 503) and ends the live ones once
// ctx ends: BYE on both legs, every CDR written.
func (n *node) drain(ctx context.Context) {
	n.sip.Drain(ctx)
}

// close stops the node's parts in reverse order of start, waiting for the
// CDR shipper and exporter to finish before the journal and store close.
func (n *node) close() {
	n.cancel()
	for _, done := range []chan struct{}{n.shipped, n.exported} {
		if done != nil {
			<-done
		}
	}
	if n.http != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = n.http.Shutdown(ctx)
		cancel()
	}
	if n.sip != nil {
		_ = n.sip.Close()
	}
	if n.live != nil {
		if err := n.live.Close(); err != nil {
			n.log.Error("closing live-call register", "error", err)
		}
	}
	if n.ch != nil {
		_ = n.ch.Close()
	}
	if n.journal != nil {
		if err := n.journal.Close(); err != nil {
			n.log.Error("closing CDR journal", "error", err)
		}
	}
	if n.store != nil {
		if err := n.store.Close(); err != nil {
			n.log.Error("closing store", "error", err)
		}
	}
}

// ensureSecret returns the random secret stored under name, creating it on
// first use, so that every node of a cluster and every restart share it.
func ensureSecret(ctx context.Context, st store.Store, name string) ([]byte, error) {
	b, err := st.Get(ctx, store.Secrets, name)
	if err == nil && len(b) >= 32 {
		return b, nil
	}
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return nil, fmt.Errorf("reading secret %s: %w", name, err)
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if err := st.Put(ctx, store.Secrets, name, b); err != nil {
		return nil, fmt.Errorf("storing secret %s: %w", name, err)
	}
	return b, nil
}
