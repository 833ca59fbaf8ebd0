package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/acme"
	"golang.org/x/crypto/acme/autocert"

	"github.com/trunkline/trunkline/store"
)

// adminCerts chooses the admin listener's certificate by the name the
// client asks for (SNI): a custom domain's own files, else ACME's for a
// custom domain or the public host (when enabled), else the default.
type adminCerts struct {
	domains    func(ctx context.Context) (map[string]store.Domain, error)
	publicHost string
	def        *tls.Certificate
	acme       *autocert.Manager
	log        *slog.Logger

	mu    sync.Mutex
	files map[string]fileCert // by "cert|key"
}

// fileCert is a certificate loaded from files, read again once they change.
type fileCert struct {
	cert    *tls.Certificate
	modTime time.Time
	checked time.Time
}

// adminTLS returns the admin listener's TLS config, nil when it serves
// plain HTTP.
func adminTLS(cfg *Config, domains func(ctx context.Context) (map[string]store.Domain, error), log *slog.Logger) (*tls.Config, error) {
	t := cfg.Admin.TLS
	if !t.enabled() {
		return nil, nil
	}
	c := &adminCerts{domains: domains, publicHost: strings.ToLower(cfg.Admin.PublicHost), log: log, files: map[string]fileCert{}}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("admin.tls: %w", err)
		}
		c.def = &pair
	}
	protos := []string{"h2", "http/1.1"}
	if t.ACME {
		c.acme = &autocert.Manager{Prompt: autocert.AcceptTOS, Email: t.ACMEEmail, HostPolicy: c.acmeHost,
			Cache: autocert.DirCache(filepath.Join(cfg.Data, "acme"))}
		if t.ACMEDirectory != "" || t.ACMECAFile != "" {
			c.acme.Client = &acme.Client{DirectoryURL: t.ACMEDirectory}
		}
		if t.ACMECAFile != "" {
			pool, err := certPool(t.ACMECAFile)
			if err != nil {
				return nil, fmt.Errorf("admin.tls.acme_ca_file: %w", err)
			}
			c.acme.Client.HTTPClient = &http.Client{Timeout: time.Minute,
				Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		}
		protos = append(protos, acme.ALPNProto)
	}
	return &tls.Config{GetCertificate: c.get, NextProtos: protos, MinVersion: tls.VersionTLS12}, nil
}

// acmeHost lets ACME get certificates for the custom domains and the
// public host only.
func (c *adminCerts) acmeHost(ctx context.Context, host string) error {
	if host == c.publicHost && host != "" {
		return nil
	}
	ds, err := c.domains(ctx)
	if err != nil {
		return err
	}
	if _, ok := ds[host]; ok {
		return nil
	}
	return fmt.Errorf("acme: %q is not a custom domain", host)
}

func (c *adminCerts) get(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	name := strings.TrimSuffix(strings.ToLower(hello.ServerName), ".")
	if name != "" {
		ds, err := c.domains(hello.Context())
		if err == nil {
			if d, ok := ds[name]; ok && d.CertFile != "" {
				if cert, err := c.fromFiles(d.CertFile, d.KeyFile); err == nil {
					return cert, nil
				} else {
					c.log.Error("a custom domain's certificate does not load", "host", name, "error", err)
				}
			}
		}
		if c.acme != nil && (c.acmeHost(hello.Context(), name) == nil || isACMEChallenge(hello)) {
			if cert, err := c.acme.GetCertificate(hello); err == nil || c.def == nil {
				return cert, err
			}
		}
	}
	if c.def == nil {
		return nil, errors.New("no certificate for " + name)
	}
	return c.def, nil
}

func isACMEChallenge(hello *tls.ClientHelloInfo) bool {
	return len(hello.SupportedProtos) == 1 && hello.SupportedProtos[0] == acme.ALPNProto
}

// fromFiles returns the pair in certFile and keyFile, loaded again when
// the certificate file changed (checked at most every 10 s): renewed
// certificates are served without a restart.
func (c *adminCerts) fromFiles(certFile, keyFile string) (*tls.Certificate, error) {
	k := certFile + "|" + keyFile
	c.mu.Lock()
	defer c.mu.Unlock()
	fc, ok := c.files[k]
	if ok && time.Since(fc.checked) < 10*time.Second {
		return fc.cert, nil
	}
	st, err := os.Stat(certFile)
	if err != nil {
		if ok {
			fc.checked = time.Now()
			c.files[k] = fc
			return fc.cert, nil
		}
		return nil, err
	}
	if ok && st.ModTime().Equal(fc.modTime) {
		fc.checked = time.Now()
		c.files[k] = fc
		return fc.cert, nil
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		if ok { // a renewal half written: the old pair until it loads
			fc.checked = time.Now()
			c.files[k] = fc
			return fc.cert, nil
		}
		return nil, err
	}
	c.files[k] = fileCert{cert: &pair, modTime: st.ModTime(), checked: time.Now()}
	return &pair, nil
}

// parsePrefix reads an address or CIDR.
func parsePrefix(s string) (netip.Prefix, error) {
	if p, err := netip.ParsePrefix(s); err == nil {
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

// behindProxies makes next see the client a trusted proxy forwarded for:
// its address from X-Forwarded-For (the nearest address not a trusted
// proxy's), and X-Forwarded-Proto https as a TLS request. From any other
// peer those headers are ignored.
func behindProxies(next http.Handler, proxies []string) http.Handler {
	if len(proxies) == 0 {
		return next
	}
	var trusted []netip.Prefix
	for _, p := range proxies {
		if pf, err := parsePrefix(p); err == nil {
			trusted = append(trusted, pf)
		}
	}
	isTrusted := func(s string) bool {
		a, err := netip.ParseAddr(strings.TrimSpace(s))
		if err != nil {
			return false
		}
		for _, p := range trusted {
			if p.Contains(a.Unmap()) {
				return true
			}
		}
		return false
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil || !isTrusted(host) {
			next.ServeHTTP(w, r)
			return
		}
		r = r.Clone(r.Context())
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, ok := hopAddr(hops[i])
			if !ok {
				break // a hop that is no address: trust nothing further
			}
			r.RemoteAddr = net.JoinHostPort(a.String(), "0")
			if !isTrusted(a.String()) {
				break
			}
		}
		if r.TLS == nil && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			r.TLS = &tls.ConnectionState{HandshakeComplete: true, ServerName: r.Host}
		}
		next.ServeHTTP(w, r)
	})
}

// hopAddr reads one X-Forwarded-For hop: an address, with or without a
// port, IPv6 with or without brackets.
func hopAddr(h string) (netip.Addr, bool) {
	h = strings.TrimSpace(h)
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr().Unmap(), true
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(h, "["), "]"))
	return a.Unmap(), err == nil
}

// strictTransport tells browsers that reached the listener over HTTPS to
// keep to HTTPS (a year).
func strictTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			w.Header().Set("Strict-Transport-Security", "max-age=31536000")
		}
		next.ServeHTTP(w, r)
	})
}

// certPool is the system's roots and the certificates in the PEM file.
func certPool(file string) (*x509.CertPool, error) {
	pemData, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pemData) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}
