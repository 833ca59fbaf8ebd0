package admin

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/store"
)

// Server is the admin HTTP API over a store. Create it with New and serve
// its Handler; it is safe for concurrent use.
type Server struct {
	st            store.Store
	log           *slog.Logger
	cdrs          cdr.Source
	sink          cdr.Sink // where re-rated CDRs are written
	simulate      Simulator
	health        EndpointHealth // nil: endpoints are listed without health
	onChange      func(ctx context.Context) error
	registry      *prometheus.Registry
	ready         func() error
	readyInfo     func(ctx context.Context) map[string]any
	auditWrites   atomic.Int64 // changes audited, for pruning
	cardsInEffect func(cardID string, at time.Time) (int, bool)
	quickMu       sync.Mutex     // one quickstart at a time
	loc           *time.Location // the switch's timezone; nil: UTC
	credit        store.Credit   // balances and ledgers; nil: no money endpoints
	live          LiveCalls      // the switch's calls in progress; nil: no /calls
	nodes         Nodes          // the cluster's nodes; nil: no /nodes, writes do not wait
	publicHost    string         // what custom domains point at
	domains       domainCache
	used          usedChallenges // passkey challenges answered
	sealOnce      sync.Once
	ceremonyKey   *auth.Sealer // seals passkey ceremonies
	liveCard      func(cardID string) *rating.Card

	mux     *http.ServeMux
	metrics *metrics
	writeMu sync.Mutex // serialises writes, so their checks and writes are atomic
	idn     identityConfig
	exports exportsState
}

// Option configures a Server.
type Option func(*Server)

// WithLogger sets the logger, which the caller tags with the component; the
// default discards everything.
func WithLogger(l *slog.Logger) Option { return func(s *Server) { s.log = l } }

// WithCDRs sets where GET /api/v1/cdrs reads from; without it that endpoint
// answers 503.
func WithCDRs(src cdr.Source) Option { return func(s *Server) { s.cdrs = src } }

// WithCDRSink lets POST /api/v1/cdrs/rerate with "apply" write re-rated
// CDRs (normally the journal, which ships them on and keeps only the newest
// version of a CDR).
func WithCDRSink(sink cdr.Sink) Option { return func(s *Server) { s.sink = sink } }

// WithOnChange sets the hook called after every successful write, with the
// server's writes held, so the switch can rebuild its live tables. If it
// fails the request answers 500 with its message; the write is kept.
func WithOnChange(fn func(ctx context.Context) error) Option {
	return func(s *Server) { s.onChange = fn }
}

// WithRegistry registers the server's metrics on reg and serves reg at
// /metrics. Without it there is no /metrics.
func WithRegistry(reg *prometheus.Registry) Option { return func(s *Server) { s.registry = reg } }

// WithReady sets the check behind /readyz: nil means ready. Without it
// /readyz reports ready whenever the server answers.
func WithReady(fn func() error) Option { return func(s *Server) { s.ready = fn } }

// WithReadyInfo adds fn's findings to /readyz's answer (the state of the
// store, the journal, the CDR shipping lag), ready or not.
func WithReadyInfo(fn func(ctx context.Context) map[string]any) Option {
	return func(s *Server) { s.readyInfo = fn }
}

// New returns a Server over st.
func New(st store.Store, opts ...Option) *Server {
	s := &Server{st: st, mux: http.NewServeMux()}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	s.metrics = newMetrics(s.registry)
	s.routes()
	return s
}

// Handler returns the HTTP handler serving every route of the server.
func (s *Server) Handler() http.Handler { return http.HandlerFunc(s.serveHTTP) }

func (s *Server) routes() {
	s.mux.HandleFunc("GET /healthz", s.healthz)
	s.mux.HandleFunc("GET /readyz", s.readyz)
	if s.registry != nil {
		s.mux.Handle("GET /metrics", s.metricsHandler())
	}
	for _, rt := range s.apiRoutes() {
		s.mux.Handle(rt.pattern, s.authenticate(rt.pattern, s.audited(rt.pattern, s.handle(rt.h))))
	}
}

type apiRoute struct {
	pattern string
	h       handlerFunc
}

// apiRoutes lists every /api/v1 route; each needs a token. The OpenAPI
// document must describe each of them (a test checks).
func (s *Server) apiRoutes() []apiRoute {
	return []apiRoute{
		{"GET /api/v1/openapi.json", s.openAPI},

		{"POST /api/v1/customers", s.createCustomer},
		{"GET /api/v1/customers", s.listCustomers},
		{"GET /api/v1/customers/{id}", s.getCustomer},
		{"PUT /api/v1/customers/{id}", s.putCustomer},
		{"DELETE /api/v1/customers/{id}", s.deleteCustomer},
		{"POST /api/v1/customers/{id}/ips", s.createCustomerIP},
		{"GET /api/v1/customers/{id}/ips", s.listCustomerIPs},
		{"DELETE /api/v1/customers/{id}/ips/{ipid}", s.deleteCustomerIP},
		{"POST /api/v1/customers/{id}/routes", s.createRoute},
		{"GET /api/v1/customers/{id}/routes", s.listRoutes},
		{"GET /api/v1/customers/{id}/routes/{rid}", s.getRoute},
		{"PUT /api/v1/customers/{id}/routes/{rid}", s.putRoute},
		{"DELETE /api/v1/customers/{id}/routes/{rid}", s.deleteRoute},
		{"POST /api/v1/customers/{id}/payments", s.createPayment},
		{"GET /api/v1/customers/{id}/payments", s.listPayments},
		{"GET /api/v1/customers/{id}/payments/{pid}", s.getPayment},
		{"PUT /api/v1/customers/{id}/payments/{pid}", s.putPayment},
		{"GET /api/v1/customers/{id}/ledger", s.getLedger},
		{"GET /api/v1/customers/{id}/rates", s.getCustomerRates},
		{"POST /api/v1/customers/{id}/ledger", s.createAdjustment},

		{"POST /api/v1/carriers", s.createCarrier},
		{"GET /api/v1/carriers", s.listCarriers},
		{"GET /api/v1/carriers/{id}", s.getCarrier},
		{"PUT /api/v1/carriers/{id}", s.putCarrier},
		{"DELETE /api/v1/carriers/{id}", s.deleteCarrier},
		{"POST /api/v1/carriers/{id}/endpoints", s.createEndpoint},
		{"GET /api/v1/carriers/{id}/endpoints", s.listEndpoints},
		{"GET /api/v1/endpoints", s.listAllEndpoints},
		{"DELETE /api/v1/carriers/{id}/endpoints/{eid}", s.deleteEndpoint},

		{"POST /api/v1/ratecards", s.createRateCard},
		{"GET /api/v1/ratecards", s.listRateCards},
		{"GET /api/v1/ratecards/{id}", s.getRateCard},
		{"DELETE /api/v1/ratecards/{id}", s.deleteRateCard},
		{"PUT /api/v1/ratecards/{id}/rates", s.putRates},
		{"POST /api/v1/ratecards/{id}/rates", s.postRates},
		{"GET /api/v1/ratecards/{id}/rates", s.getRates},

		{"GET /api/v1/cdrs", s.listCDRs},
		{"GET /api/v1/cdrs/summary", s.cdrSummary},
		{"GET /api/v1/customers/{id}/cdr-fields", s.getCDRFields},
		{"PUT /api/v1/customers/{id}/cdr-fields", s.putCDRFields},
		{"POST /api/v1/exports", s.createExport},
		{"GET /api/v1/exports", s.listExports},
		{"GET /api/v1/exports/{id}", s.getExport},
		{"PUT /api/v1/exports/{id}", s.putExport},
		{"DELETE /api/v1/exports/{id}", s.deleteExport},
		{"GET /api/v1/exports/{id}/runs", s.listExportRuns},
		{"POST /api/v1/exports/{id}/run", s.runExport},
		{"POST /api/v1/cdrs/rerate", s.rerateCDRs},
		{"GET /api/v1/simulate", s.simulateCall},
		{"GET /api/v1/audit", s.listAudit},
		{"POST /api/v1/login/passkey/options", s.loginPasskeyOptions},
		{"POST /api/v1/login/passkey", s.loginPasskey},
		{"GET /api/v1/me/passkeys", s.listPasskeys},
		{"POST /api/v1/me/passkeys/options", s.passkeyOptions},
		{"POST /api/v1/me/passkeys", s.addPasskey},
		{"PUT /api/v1/me/passkeys/{id}", s.editPasskey},
		{"DELETE /api/v1/me/passkeys/{id}", s.editPasskey},
		{"GET /api/v1/domains", s.listDomains},
		{"POST /api/v1/domains", s.createDomain},
		{"GET /api/v1/domains/{id}", s.getDomain},
		{"PUT /api/v1/domains/{id}", s.putDomain},
		{"DELETE /api/v1/domains/{id}", s.deleteDomain},
		{"POST /api/v1/quickstart", s.quickstart},
		{"GET /api/v1/calls", s.listCalls},
		{"DELETE /api/v1/calls/{id}", s.hangupCall},

		{"POST /api/v1/customers/{id}/sip-users", s.createSIPUser},
		{"GET /api/v1/customers/{id}/sip-users", s.listSIPUsers},
		{"DELETE /api/v1/customers/{id}/sip-users/{sid}", s.deleteSIPUser},
		{"POST /api/v1/customers/{id}/hosts", s.createCustomerHost},
		{"GET /api/v1/customers/{id}/hosts", s.listCustomerHosts},
		{"DELETE /api/v1/customers/{id}/hosts/{hid}", s.deleteCustomerHost},

		{"GET /api/v1/nodes", s.listNodes},

		{"GET /api/v1/bans", s.listBans},
		{"DELETE /api/v1/bans/{ip}", s.liftBan},

		{"POST /api/v1/login", s.login},
		{"GET /api/v1/me", s.me},
		{"PUT /api/v1/me/password", s.changePassword},
		{"PUT /api/v1/me/timezone", s.setMyTimezone},
		{"PUT /api/v1/me/profile", s.setMyProfile},
		{"POST /api/v1/me/totp", s.enableTOTP},
		{"POST /api/v1/me/totp/confirm", s.confirmTOTP},
		{"GET /api/v1/tokens", s.listTokens},
		{"POST /api/v1/tokens", s.createToken},
		{"DELETE /api/v1/tokens/{id}", s.deleteToken},
		{"POST /api/v1/users", s.createUser},
		{"GET /api/v1/users", s.listUsers},
		{"GET /api/v1/users/{id}", s.getUser},
		{"DELETE /api/v1/users/{id}/passkeys", s.removeUserPasskeys},
		{"PUT /api/v1/users/{id}", s.putUser},
		{"DELETE /api/v1/users/{id}", s.deleteUser},
	}
}

// serveHTTP routes r, answers unmatched requests with a JSON 404 or 405 and
// counts every request by its route pattern.
func (s *Server) serveHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w}
	h, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "unmatched"
		s.unmatched(sw, r, h)
	} else {
		s.mux.ServeHTTP(sw, r)
	}
	s.metrics.observe(pattern, sw.code(), time.Since(start))
}

// unmatched runs the mux's own 404/405 handler to learn its status and Allow
// header, then answers in JSON.
func (s *Server) unmatched(w http.ResponseWriter, r *http.Request, h http.Handler) {
	probe := &statusWriter{ResponseWriter: discardWriter{header: http.Header{}}}
	h.ServeHTTP(probe, r)
	if allow := probe.Header().Get("Allow"); allow != "" {
		w.Header().Set("Allow", allow)
	}
	if probe.code() == http.StatusMethodNotAllowed {
		writeError(w, errStatus(http.StatusMethodNotAllowed, CodeMethodNotAllowed, "method %s not allowed on %s", r.Method, r.URL.Path))
		return
	}
	writeError(w, errStatus(http.StatusNotFound, CodeNotFound, "no such path %s", r.URL.Path))
}

// handlerFunc is an API handler: it writes its success response itself and
// returns an error (an *Error to pick the status) instead of writing one.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

func (s *Server) handle(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wait, err := waitParam(r)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		if wait > 0 {
			s.waitingWrite(w, r, h, wait)
			return
		}
		if err := h(w, r); err != nil {
			s.fail(w, r, err)
		}
	})
}

// fail answers r with err, logging server errors.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, err error) {
	e := asError(err)
	if e.Status >= 500 {
		s.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	writeError(w, e)
}

// write runs fn with the server's writes held and a context a client
// disconnect cannot cancel, then calls the OnChange hook. A failing hook
// yields a 500 carrying its message; what fn wrote stays written.
func (s *Server) write(r *http.Request, fn func(ctx context.Context) error) error {
	ctx := context.WithoutCancel(r.Context())
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	if err := fn(ctx); err != nil {
		return err
	}
	if s.onChange == nil {
		return nil
	}
	if err := s.onChange(ctx); err != nil {
		return &Error{Status: http.StatusInternalServerError, Code: CodeOnChange,
			Message: "saved, but applying the change failed: " + err.Error(), Err: err}
	}
	return nil
}

// locked runs fn with the server's writes held and a context a client
// disconnect cannot cancel, like write, but calls no OnChange hook: it is
// for writes the switch's live tables do not depend on (money movements).
func (s *Server) locked(r *http.Request, fn func(ctx context.Context) error) error {
	ctx := context.WithoutCancel(r.Context())
	s.writeMu.Lock()
	defer s.writeMu.Unlock()
	return fn(ctx)
}

// statusWriter records the status a handler sent.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

type discardWriter struct{ header http.Header }

func (d discardWriter) Header() http.Header         { return d.header }
func (d discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (d discardWriter) WriteHeader(int)             {}
