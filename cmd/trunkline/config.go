package main

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/trunkline/trunkline/sip/border"

	"github.com/trunkline/trunkline/sip"
	"github.com/trunkline/trunkline/store"
)

// Config is the whole configuration of a node. The zero value plus
// Defaults() is the embedded single-machine switch.
type Config struct {
	Data string `yaml:"data"` // data directory: store, CDR journal
	// Store is where configuration, balances and limits live: "" for the
	// embedded store in the data directory, or redis://[user:password@]host:port[/db]
	// (rediss:// for TLS) for a Redis that several nodes share, with
	// ?master_name=… for Sentinel or ?addr=… for Redis Cluster (see
	// store.OpenRedis). The TRUNKLINE_STORE environment variable overrides it.
	Store string `yaml:"store"`
	// StorePrefix starts every key of this switch in a Redis store
	// (default "trunkline:"): clusters sharing one Redis need their own.
	StorePrefix string `yaml:"store_prefix"`
	// StoreTimeout is the longest a call's set-up waits on a Redis store
	// (its limits and credit) before the check counts as failed (default
	// 50ms): a slow store must not hold calls. See limits.on_store_error.
	StoreTimeout time.Duration `yaml:"store_timeout"`
	// SecretKeyFile holds the key (32 random bytes, hex or base64: openssl
	// rand -hex 32) that seals the secrets the switch keeps, such as CDR
	// export passwords, outside the store. The TRUNKLINE_SECRET_KEY
	// environment variable, holding the key itself, overrides it. Default:
	// secret.key in the data directory, made at the first start, on the
	// embedded store; none on Redis (every node needs the same key: give
	// it), where exports with a password are then refused.
	SecretKeyFile string `yaml:"secret_key_file"`
	// Timezone (IANA, such as Europe/London) renders times for users and
	// customers without one of their own, and cuts the export periods of
	// customers without one; default UTC. Storage is always UTC.
	Timezone string        `yaml:"timezone"`
	Node     string        `yaml:"node"` // node name in CDRs and logs
	SIP      SIPConfig     `yaml:"sip"`
	Admin    AdminConfig   `yaml:"admin"`
	CDR      CDRConfig     `yaml:"cdr"`
	Log      LogConfig     `yaml:"log"`
	Metrics  MetricsConfig `yaml:"metrics"`
	// Credit configures credit control (config_credit.go).
	Credit CreditConfig `yaml:"credit"`
	// Margin is margin protection: which carriers may carry a call.
	Margin MarginConfig `yaml:"margin"`
	// Limits configures channel and call-rate limits (config_limits.go).
	Limits LimitsConfig `yaml:"limits"`
	// Health is carrier endpoint health: probing and the quality gate
	// (config_health.go).
	Health HealthConfig `yaml:"health"`
	// Media is the RTP relay (config_media.go).
	Media MediaConfig `yaml:"media"`
	// ShutdownGrace is how long live calls may go on after SIGTERM (new
	// calls get 503 meanwhile); then both legs of each get a BYE. A second
	// SIGTERM or SIGINT ends them at once.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// CDRConfig configures where CDRs go beyond the local journal.
type CDRConfig struct {
	// ClickHouse is a clickhouse://host:port/database DSN (native protocol).
	// When set, CDRs are shipped from the journal to ClickHouse and CDR
	// queries are served from it. The TRUNKLINE_CLICKHOUSE environment
	// variable overrides it.
	ClickHouse    string        `yaml:"clickhouse"`
	BatchSize     int           `yaml:"batch_size"`
	BatchInterval time.Duration `yaml:"batch_interval"`
	// CommitDelay lets CDRs that end within it share one journal fsync,
	// and the live-call register's changes one register fsync.
	CommitDelay time.Duration `yaml:"commit_delay"`
}

// SIPConfig configures the SIP edge.
type SIPConfig struct {
	Listen        string        `yaml:"listen"`    // host:port for UDP and TCP
	Advertise     string        `yaml:"advertise"` // host in Via and Contact when listening on a wildcard
	InviteTimeout time.Duration `yaml:"invite_timeout"`
	RingTimeout   time.Duration `yaml:"ring_timeout"`
	// MaxCallDuration ends an answered call with a BYE to both sides, so
	// a call whose BYE was lost does not stay (and bill) for ever.
	MaxCallDuration time.Duration `yaml:"max_call_duration"`
	// SessionExpires is the interval of the switch's own session timer
	// (RFC 4028) for customers that ask for none: it refreshes both legs
	// every half interval and ends a call whose party is gone. 0 turns it
	// off; unset is sip.DefaultSessionExpires.
	SessionExpires *time.Duration `yaml:"session_expires"`
	// MinSE is the smallest session interval accepted (a customer asking
	// for less gets 422); at least 90s.
	MinSE time.Duration `yaml:"min_se"`
	// Realm is the SIP digest realm of customers' SIP users.
	Realm string `yaml:"realm"`
	// DigestAlgorithms are offered in this order, one challenge each (RFC
	// 8760). The default, MD5 then SHA-256, lets every UA in: much
	// equipment (sipp among it) reads only the first challenge and knows
	// only MD5, and a UA that knows both takes the first it knows. Put
	// SHA-256 first, or alone, once every customer's equipment knows it.
	DigestAlgorithms []string `yaml:"digest_algorithms"`
	// HeadersToCarrier and HeadersToCustomer name headers that cross the
	// switch for every customer (to carriers) and every carrier (to
	// customers), beyond the default policy (sip/border/policy.go).
	HeadersToCarrier  []string `yaml:"headers_to_carrier"`
	HeadersToCustomer []string `yaml:"headers_to_customer"`
	// FloodRate and FloodBurst bound the requests per second of one source
	// address that is neither a known customer nor a carrier.
	FloodRate  float64 `yaml:"flood_rate"`
	FloodBurst int     `yaml:"flood_burst"`
	// UDPReadBuffer is the receive buffer of the UDP socket in bytes.
	UDPReadBuffer int `yaml:"udp_read_buffer"`
	// TCP connection limits (see sip.TCPLimits). A known source is the
	// address of a customer (IP authentication) or of a carrier; an unknown
	// one, anything else, including customers' SIP users (digest).
	TCPIdleTimeout      time.Duration `yaml:"tcp_idle_timeout"`       // no byte received on a connection that carries no call
	TCPPartialTimeout   time.Duration `yaml:"tcp_partial_timeout"`    // a message begun and not ended (slow sender)
	TCPPerSource        int           `yaml:"tcp_per_source"`         // connections from one known source
	TCPPerUnknownSource int           `yaml:"tcp_per_unknown_source"` // connections from one unknown source (IPv6: per /64)
	TCPUnknownTotal     int           `yaml:"tcp_unknown_total"`      // connections from all unknown sources together
	TCPKnownTotal       int           `yaml:"tcp_known_total"`        // connections from all known sources together
}

// AdminConfig configures the admin HTTP API.
type AdminConfig struct {
	Listen string `yaml:"listen"`
	// PublicHost is the name custom domains point at (their CNAME
	// target), as the API shows it with each domain.
	PublicHost string `yaml:"public_host"`
	// TLS serves the panel, the portal and the API over HTTPS.
	TLS AdminTLSConfig `yaml:"tls"`
	// TrustedProxies are the addresses (CIDRs) of reverse proxies in
	// front of the admin listener: from them X-Forwarded-For names the
	// client (its login throttle, the audit log) and X-Forwarded-Proto
	// https marks the request as secure (Secure cookies, passkeys).
	TrustedProxies []string `yaml:"trusted_proxies"`
}

// AdminTLSConfig is the admin listener's HTTPS: a custom domain with a
// certificate of its own (cert_file/key_file in /api/v1/domains) is
// served with it; any other name with ACME's (when enabled) or the
// default certificate here.
type AdminTLSConfig struct {
	CertFile string `yaml:"cert_file"` // the default certificate (PEM)
	KeyFile  string `yaml:"key_file"`
	// ACME gets certificates for the custom domains and public_host from
	// an ACME CA (Let's Encrypt unless ACMEDirectory says) by TLS-ALPN-01
	// on this listener, which must then be reachable on port 443.
	ACME          bool   `yaml:"acme"`
	ACMEEmail     string `yaml:"acme_email"`
	ACMEDirectory string `yaml:"acme_directory"`
	// ACMECAFile (PEM) is trusted for the ACME directory's HTTPS, beside
	// the system's roots: a private ACME CA's.
	ACMECAFile string `yaml:"acme_ca_file"`
}

// enabled tells whether the admin listener serves HTTPS.
func (t AdminTLSConfig) enabled() bool { return t.CertFile != "" || t.ACME }

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`  // debug, info, warn, error
	Format string `yaml:"format"` // text or json
	// Calls writes an info line per ended call (ids, customer, carrier,
	// code, duration, sell and buy cost); default true.
	Calls *bool `yaml:"calls"`
}

// MetricsConfig bounds the per-customer and per-carrier metrics.
type MetricsConfig struct {
	// MaxSeries is how many customers, and how many carriers, get series
	// of their own (default 200); the rest are counted as "other".
	MaxSeries int `yaml:"max_series"`
}

// Default values.
const (
	DefaultData          = "./data"
	DefaultSIPListen     = ":5060"
	DefaultAdminListen   = "127.0.0.1:8080"
	DefaultInviteTimeout = 8 * time.Second
	DefaultRingTimeout   = 120 * time.Second
	DefaultStoreTimeout  = 50 * time.Millisecond
	DefaultMaxCall       = 3 * time.Hour
	DefaultRealm         = "trunkline"
	DefaultFloodRate     = 50
	DefaultFloodBurst    = 100
	DefaultUDPReadBuffer = 4 << 20
	DefaultBatchSize     = 10000
	DefaultBatchInterval = time.Second
	DefaultCommitDelay   = 50 * time.Millisecond
	DefaultShutdownGrace = 30 * time.Second

	DefaultTCPIdleTimeout      = sip.DefaultTCPIdleTimeout      // 30s
	DefaultTCPPartialTimeout   = sip.DefaultTCPPartialTimeout   // 10s
	DefaultTCPPerSource        = sip.DefaultTCPPerSource        // 256
	DefaultTCPPerUnknownSource = sip.DefaultTCPPerUnknownSource // 4
	DefaultTCPUnknownTotal     = sip.DefaultTCPUnknownTotal     // 1000
	DefaultTCPKnownTotal       = sip.DefaultTCPKnownTotal       // 10000
)

// Defaults fills every unset field with its default.
func (c *Config) Defaults() {
	if c.Data == "" {
		c.Data = DefaultData
	}
	if c.Node == "" {
		// The host's name, or its short name, when it can name a node.
		h, _ := os.Hostname()
		short, _, _ := strings.Cut(h, ".")
		switch {
		case validNodeID(h):
			c.Node = h
		case validNodeID(short):
			c.Node = short
		default:
			c.Node = "trunkline"
		}
	}
	if c.SIP.Listen == "" {
		c.SIP.Listen = DefaultSIPListen
	}
	if c.ShutdownGrace == 0 {
		c.ShutdownGrace = DefaultShutdownGrace
	}
	if c.SIP.InviteTimeout == 0 {
		c.SIP.InviteTimeout = DefaultInviteTimeout
	}
	if c.SIP.MaxCallDuration == 0 {
		c.SIP.MaxCallDuration = DefaultMaxCall
	}
	if c.SIP.RingTimeout == 0 {
		c.SIP.RingTimeout = DefaultRingTimeout
	}
	if c.SIP.SessionExpires == nil {
		d := sip.DefaultSessionExpires
		c.SIP.SessionExpires = &d
	}
	if c.SIP.MinSE == 0 {
		c.SIP.MinSE = sip.DefaultMinSE
	}
	if c.SIP.Realm == "" {
		c.SIP.Realm = DefaultRealm
	}
	if len(c.SIP.DigestAlgorithms) == 0 {
		c.SIP.DigestAlgorithms = []string{"MD5", "SHA-256"}
	}
	if c.SIP.UDPReadBuffer == 0 {
		c.SIP.UDPReadBuffer = DefaultUDPReadBuffer
	}
	if c.SIP.FloodRate == 0 {
		c.SIP.FloodRate = DefaultFloodRate
	}
	if c.SIP.FloodBurst == 0 {
		c.SIP.FloodBurst = DefaultFloodBurst
	}
	if c.SIP.TCPIdleTimeout == 0 {
		c.SIP.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if c.SIP.TCPPartialTimeout == 0 {
		c.SIP.TCPPartialTimeout = DefaultTCPPartialTimeout
	}
	if c.SIP.TCPPerSource == 0 {
		c.SIP.TCPPerSource = DefaultTCPPerSource
	}
	if c.SIP.TCPPerUnknownSource == 0 {
		c.SIP.TCPPerUnknownSource = DefaultTCPPerUnknownSource
	}
	if c.SIP.TCPUnknownTotal == 0 {
		c.SIP.TCPUnknownTotal = DefaultTCPUnknownTotal
	}
	if c.SIP.TCPKnownTotal == 0 {
		c.SIP.TCPKnownTotal = DefaultTCPKnownTotal
	}
	if c.Admin.Listen == "" {
		c.Admin.Listen = DefaultAdminListen
	}
	if c.Log.Calls == nil {
		on := true
		c.Log.Calls = &on
	}
	if c.Metrics.MaxSeries == 0 {
		c.Metrics.MaxSeries = sip.DefaultMetricSeries
	}
	if v := os.Getenv("TRUNKLINE_STORE"); v != "" {
		c.Store = v
	}
	if c.StorePrefix == "" {
		c.StorePrefix = store.DefaultRedisPrefix
	}
	if c.StoreTimeout == 0 {
		c.StoreTimeout = DefaultStoreTimeout
	}
	if v := os.Getenv("TRUNKLINE_CLICKHOUSE"); v != "" {
		c.CDR.ClickHouse = v
	}
	if c.CDR.BatchSize == 0 {
		c.CDR.BatchSize = DefaultBatchSize
	}
	if c.CDR.BatchInterval == 0 {
		c.CDR.BatchInterval = DefaultBatchInterval
	}
	if c.CDR.CommitDelay == 0 {
		c.CDR.CommitDelay = DefaultCommitDelay
	}
	c.Credit.defaults()
	c.Limits.defaults()
	c.Health.defaults()
	c.Media.defaults(c.SIP)
	c.Margin.defaults()
	if c.Log.Level == "" {
		c.Log.Level = "info"
	}
	if c.Log.Format == "" {
		c.Log.Format = "text"
	}
}

// Validate reports every invalid field, naming it.
func (c *Config) Validate() error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: %s", field, fmt.Sprintf(format, args...)))
	}
	if _, _, err := net.SplitHostPort(c.SIP.Listen); err != nil {
		bad("sip.listen", "%q is not host:port", c.SIP.Listen)
	}
	if c.Timezone != "" {
		if _, err := time.LoadLocation(c.Timezone); err != nil || c.Timezone == "Local" {
			bad("timezone", "%q is not an IANA timezone such as Europe/London", c.Timezone)
		}
	}
	if !validNodeID(c.Node) {
		bad("node", "%q: want 1 to 64 letters, digits, '.', '_' or '-'", c.Node)
	}
	if c.Store != "" && !strings.HasPrefix(c.Store, "redis://") && !strings.HasPrefix(c.Store, "rediss://") {
		bad("store", "want empty (the embedded store) or a redis:// or rediss:// URL")
	}
	if c.StoreTimeout < 5*time.Millisecond || c.StoreTimeout > 5*time.Second {
		bad("store_timeout", "%s is outside 5ms..5s", c.StoreTimeout)
	}
	if _, _, err := net.SplitHostPort(c.Admin.Listen); err != nil {
		bad("admin.listen", "%q is not host:port", c.Admin.Listen)
	}
	if t := c.Admin.TLS; (t.CertFile == "") != (t.KeyFile == "") {
		bad("admin.tls", "cert_file and key_file go together")
	} else if t.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile); err != nil {
			bad("admin.tls.cert_file", "the certificate and key do not load: %v", err)
		}
	}
	if f := c.Admin.TLS.ACMECAFile; f != "" {
		if _, err := certPool(f); err != nil {
			bad("admin.tls.acme_ca_file", "%v", err)
		}
	}
	for _, p := range c.Admin.TrustedProxies {
		if _, err := parsePrefix(p); err != nil {
			bad("admin.trusted_proxies", "%q is not an address or CIDR", p)
		}
	}
	if c.SIP.Advertise != "" && strings.ContainsAny(c.SIP.Advertise, ":/ ") && net.ParseIP(c.SIP.Advertise) == nil {
		bad("sip.advertise", "%q is not a host name or IP address", c.SIP.Advertise)
	}
	if c.SIP.InviteTimeout < 0 || c.SIP.InviteTimeout > time.Minute {
		bad("sip.invite_timeout", "%s is outside 0..1m", c.SIP.InviteTimeout)
	}
	if c.ShutdownGrace < 0 || c.ShutdownGrace > 24*time.Hour {
		bad("shutdown_grace", "%s is outside 0..24h", c.ShutdownGrace)
	}
	if c.SIP.MaxCallDuration < time.Second || c.SIP.MaxCallDuration > 48*time.Hour {
		bad("sip.max_call_duration", "%s is outside 1s..48h", c.SIP.MaxCallDuration)
	}
	if c.SIP.MinSE < sip.DefaultMinSE || c.SIP.MinSE > 2*time.Hour {
		bad("sip.min_se", "%s is outside 90s..2h (RFC 4028)", c.SIP.MinSE)
	}
	if se := *c.SIP.SessionExpires; se != 0 && (se < c.SIP.MinSE || se > 24*time.Hour) {
		bad("sip.session_expires", "%s is neither 0 (off) nor within sip.min_se (%s)..24h", se, c.SIP.MinSE)
	}
	if c.SIP.RingTimeout < 0 || c.SIP.RingTimeout > 10*time.Minute {
		bad("sip.ring_timeout", "%s is outside 0..10m", c.SIP.RingTimeout)
	}
	for _, a := range c.SIP.DigestAlgorithms {
		if a != "SHA-256" && a != "MD5" {
			bad("sip.digest_algorithms", "%q is not SHA-256 or MD5", a)
		}
	}
	if _, err := c.SIP.headerPolicy(); err != nil {
		bad("sip.headers_to_carrier/headers_to_customer", "%v", err)
	}
	if c.SIP.UDPReadBuffer < 64<<10 || c.SIP.UDPReadBuffer > 256<<20 {
		bad("sip.udp_read_buffer", "%d is outside 65536..268435456 bytes", c.SIP.UDPReadBuffer)
	}
	if c.SIP.FloodRate < 0 || c.SIP.FloodBurst < 0 {
		bad("sip.flood_rate", "rate %g and burst %d must not be negative", c.SIP.FloodRate, c.SIP.FloodBurst)
	}
	if c.SIP.TCPIdleTimeout < time.Second || c.SIP.TCPIdleTimeout > time.Hour {
		bad("sip.tcp_idle_timeout", "%s is outside 1s..1h", c.SIP.TCPIdleTimeout)
	}
	if c.SIP.TCPPartialTimeout < time.Second || c.SIP.TCPPartialTimeout > time.Minute {
		bad("sip.tcp_partial_timeout", "%s is outside 1s..1m", c.SIP.TCPPartialTimeout)
	}
	for _, f := range []struct {
		field    string
		v, limit int
	}{
		{"sip.tcp_per_source", c.SIP.TCPPerSource, 100_000},
		{"sip.tcp_per_unknown_source", c.SIP.TCPPerUnknownSource, 1000},
		{"sip.tcp_unknown_total", c.SIP.TCPUnknownTotal, 100_000},
		{"sip.tcp_known_total", c.SIP.TCPKnownTotal, 1_000_000},
	} {
		if f.v < 1 || f.v > f.limit {
			bad(f.field, "%d is outside 1..%d", f.v, f.limit)
		}
	}
	if strings.ContainsAny(c.SIP.Realm, "\"\\\r\n") {
		bad("sip.realm", "%q may not contain quotes, backslashes or line breaks", c.SIP.Realm)
	}
	if c.CDR.ClickHouse != "" && !strings.HasPrefix(c.CDR.ClickHouse, "clickhouse://") {
		bad("cdr.clickhouse", "%q is not a clickhouse:// DSN (only the native protocol is supported)", c.CDR.ClickHouse)
	}
	if c.CDR.BatchSize < 0 || c.CDR.BatchSize > 1_000_000 {
		bad("cdr.batch_size", "%d is outside 1..1000000", c.CDR.BatchSize)
	}
	if c.CDR.BatchInterval < 0 || c.CDR.BatchInterval > time.Minute {
		bad("cdr.batch_interval", "%s is outside 0..1m", c.CDR.BatchInterval)
	}
	if c.CDR.CommitDelay < 0 || c.CDR.CommitDelay > time.Second {
		bad("cdr.commit_delay", "%s is outside 0..1s", c.CDR.CommitDelay)
	}
	c.Credit.validate(bad, c.SIP.InviteTimeout+c.SIP.RingTimeout)
	c.Limits.validate(bad)
	c.Health.validate(bad)
	c.Media.validate(bad)
	c.Margin.policy(bad)
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		bad("log.level", "%q is not debug, info, warn or error", c.Log.Level)
	}
	if c.Metrics.MaxSeries < 1 || c.Metrics.MaxSeries > 100_000 {
		bad("metrics.max_series", "%d is outside 1..100000", c.Metrics.MaxSeries)
	}
	switch c.Log.Format {
	case "text", "json":
	default:
		bad("log.format", "%q is not text or json", c.Log.Format)
	}
	return errors.Join(errs...)
}

// ParseConfig decodes YAML strictly (unknown fields are errors), applies
// defaults and validates.
func ParseConfig(b []byte) (*Config, error) {
	if problems := configProblems(b); len(problems) > 0 {
		// Every problem, with its line, in the file's words.
		return nil, errors.New(strings.Join(problems, "\n"))
	}
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	err := dec.Decode(&c)
	if err == nil || errors.Is(err, io.EOF) {
		c.Defaults()
		err = c.Validate()
	}
	if err != nil {
		// Every problem, with its line, in the file's words.
		if problems := configProblems(b); len(problems) > 0 {
			return nil, errors.New(strings.Join(problems, "\n"))
		}
		return nil, err
	}
	return &c, nil
}

// LoadConfig reads and parses a config file.
func LoadConfig(path string) (*Config, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading config: %w", err)
	}
	c, err := ParseConfig(b)
	if err != nil {
		// path:LINE: message, one problem a line, as compilers say it.
		lines := strings.Split(err.Error(), "\n")
		for i, l := range lines {
			lines[i] = path + ":" + l
		}
		return nil, errors.New(strings.Join(lines, "\n"))
	}
	return c, nil
}

// headerPolicy is the switch-wide header policy: the default with the
// configured additions.
func (c SIPConfig) headerPolicy() (*border.Policy, error) {
	p, err := border.Default().With(border.ToCarrier, c.HeadersToCarrier)
	if err != nil {
		return nil, err
	}
	return p.With(border.ToCustomer, c.HeadersToCustomer)
}

// validNodeID tells whether id can name a node: it goes into CDRs, lease
// names ("<node>/<call>") and the nodes' messages, so it is short and
// plain.
func validNodeID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}
