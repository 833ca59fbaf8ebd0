package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store/storetest"
)

// selfSigned writes a certificate for name and its key into dir and
// returns their paths and the certificate.
func selfSigned(t *testing.T, dir, name string) (certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: name},
		DNSNames: []string{name}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true, IsCA: true}
	if ip := net.ParseIP(name); ip != nil {
		tmpl.DNSNames, tmpl.IPAddresses = nil, []net.IP{ip}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ = x509.ParseCertificate(der)
	kb, _ := x509.MarshalECPrivateKey(key)
	certFile, keyFile = filepath.Join(dir, name+".pem"), filepath.Join(dir, name+".key")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	return certFile, keyFile, cert
}

// The admin listener over HTTPS: the default certificate for the
// switch's name and any other, a custom domain's own certificate for its
// name (by SNI, as soon as the domain is added); cookies are Secure.
func TestAdminTLS(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	defCert, defKey, def := selfSigned(t, dir, "switch.example.test")
	portalCert, portalKey, portal := selfSigned(t, dir, "portal.example.test")
	sw := startSwitchYAML(t, "", func(c *Config) {
		c.Admin.PublicHost, c.Admin.TLS = "switch.example.test", AdminTLSConfig{CertFile: defCert, KeyFile: defKey}
	})
	roots := x509.NewCertPool()
	roots.AddCert(def)
	roots.AddCert(portal)
	client := func(name string) *http.Client {
		conf := &tls.Config{RootCAs: roots, ServerName: name}
		if strings.HasPrefix(name, "unknown.") {
			conf.InsecureSkipVerify = true // its certificate is the default's: only read it
		}
		return &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: conf},
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	}
	base := "https://" + sw.AdminAddr.String()
	served := func(name string) string {
		t.Helper()
		res, err := client(name).Get(base + "/healthz")
		if err != nil {
			t.Fatalf("HTTPS as %s: %v", name, err)
		}
		res.Body.Close()
		return res.TLS.PeerCertificates[0].Subject.CommonName
	}
	if cn := served("switch.example.test"); cn != "switch.example.test" {
		t.Fatalf("the switch's name got %q", cn)
	}
	if res, err := (&http.Client{Timeout: 5 * time.Second}).Get("http://" + sw.AdminAddr.String() + "/healthz"); err == nil && res.StatusCode == 200 {
		t.Fatal("plain HTTP served on the TLS listener")
	}

	req, _ := http.NewRequest("POST", base+"/api/v1/domains", strings.NewReader(fmt.Sprintf(
		`{"host":"portal.example.test","area":"portal","cert_file":%q,"key_file":%q}`, portalCert, portalKey)))
	req.Header.Set("Authorization", "Bearer "+sw.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client("switch.example.test").Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("adding the domain over HTTPS: %v %v", res.Status, err)
	}
	var d struct{ CNAME string }
	json.NewDecoder(res.Body).Decode(&d)
	res.Body.Close()
	if d.CNAME != "portal.example.test CNAME switch.example.test" {
		t.Errorf("the CNAME to make: %q", d.CNAME)
	}
	if cn := served("portal.example.test"); cn != "portal.example.test" {
		t.Fatalf("the portal's name got %q", cn)
	}
	if cn := served("unknown.example.test"); cn != "switch.example.test" {
		t.Fatalf("an unknown name got %q", cn)
	}
	req, _ = http.NewRequest("GET", base+"/login", nil)
	req.Host = "portal.example.test"
	res, err = client("portal.example.test").Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if c := res.Header.Get("Set-Cookie"); !strings.Contains(c, "Secure") || !strings.Contains(c, "HttpOnly") {
		t.Fatalf("a cookie over HTTPS: %q", c)
	}
}

// Behind a trusted proxy the client is the nearest untrusted address of
// X-Forwarded-For and X-Forwarded-Proto https makes the request secure;
// from anyone else those headers change nothing.
func TestBehindProxies(t *testing.T) {
	var gotAddr string
	var gotTLS bool
	h := behindProxies(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAddr, gotTLS = r.RemoteAddr, r.TLS != nil
	}), []string{"10.0.0.0/8", "127.0.0.9"})
	for _, c := range []struct {
		peer, xff, proto string
		addr             string
		tls              bool
	}{
		{"10.1.2.3:5000", "203.0.113.5", "https", "203.0.113.5:0", true},
		{"10.1.2.3:5000", "198.51.100.1, 203.0.113.5, 10.9.9.9", "http", "203.0.113.5:0", false},
		{"127.0.0.9:5000", "", "https", "127.0.0.9:5000", true},
		{"10.1.2.3:5000", "not-an-address, 10.2.2.2", "", "10.2.2.2:0", false},
		{"192.0.2.7:5000", "203.0.113.5", "https", "192.0.2.7:5000", false},
		{"10.1.2.3:5000", "203.0.113.5:4711", "", "203.0.113.5:0", false},
		{"10.1.2.3:5000", "[2001:db8::1]:443", "", "[2001:db8::1]:0", false},
		{"10.1.2.3:5000", "[2001:db8::2]", "", "[2001:db8::2]:0", false},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = c.peer
		if c.xff != "" {
			r.Header.Set("X-Forwarded-For", c.xff)
		}
		if c.proto != "" {
			r.Header.Set("X-Forwarded-Proto", c.proto)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		if gotAddr != c.addr || gotTLS != c.tls {
			t.Errorf("peer %s XFF %q proto %q: client %s TLS %v, want %s %v", c.peer, c.xff, c.proto, gotAddr, gotTLS, c.addr, c.tls)
		}
	}
}

// The admin listener gets its certificates from an ACME CA (Debian's
// pebble, which scripts/services.sh installs; it takes every challenge as
// passed): the public host's on the first handshake asking for it, a
// custom domain's once it is added, none for any other name.
func TestAdminACME(t *testing.T) {
	pebble, err := exec.LookPath("pebble")
	if err != nil {
		storetest.Missing(t, "pebble not found; scripts/services.sh installs it")
	}
	t.Parallel()
	dir := t.TempDir()
	caCert, caKey, _ := selfSigned(t, dir, "127.0.0.1")
	port, mgmt := freePort(t), freePort(t)
	conf := filepath.Join(dir, "pebble.json")
	os.WriteFile(conf, []byte(fmt.Sprintf(`{"pebble":{"listenAddress":"127.0.0.1:%d","managementListenAddress":"127.0.0.1:%d",`+
		`"certificate":%q,"privateKey":%q,"httpPort":%d,"tlsPort":%d,"ocspResponderURL":"","externalAccountBindingRequired":false}}`,
		port, mgmt, caCert, caKey, freePort(t), freePort(t))), 0o600)
	cmd := exec.Command(pebble, "-config", conf)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "PEBBLE_VA_ALWAYS_VALID=1", "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	var out strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	caPool := x509.NewCertPool()
	pemCA, _ := os.ReadFile(caCert)
	caPool.AppendCertsFromPEM(pemCA)
	toPebble := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool}}}
	var roots *x509.CertPool
	waitUntil(t, 10*time.Second, "pebble's root", func() bool {
		res, err := toPebble.Get(fmt.Sprintf("https://127.0.0.1:%d/roots/0", mgmt))
		if err != nil {
			return false
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		roots = x509.NewCertPool()
		return res.StatusCode == 200 && roots.AppendCertsFromPEM(b)
	})

	sw := startSwitchYAML(t, "", func(c *Config) {
		c.Admin.PublicHost = "switch.example.test"
		c.Admin.TLS = AdminTLSConfig{ACME: true, ACMEDirectory: fmt.Sprintf("https://127.0.0.1:%d/dir", port), ACMECAFile: caCert}
	})
	dial := func(name string) (*x509.Certificate, error) {
		d := &net.Dialer{Timeout: 60 * time.Second}
		c, err := tls.DialWithDialer(d, "tcp", sw.AdminAddr.String(), &tls.Config{ServerName: name, RootCAs: roots})
		if err != nil {
			return nil, err
		}
		defer c.Close()
		return c.ConnectionState().PeerCertificates[0], nil
	}
	cert, err := dial("switch.example.test")
	if err != nil {
		t.Fatalf("the public host's certificate from ACME: %v\n%s", err, tail(out.String(), 2000))
	}
	if cert.DNSNames[0] != "switch.example.test" {
		t.Fatalf("the public host got a certificate for %v", cert.DNSNames)
	}
	if _, err := dial("evil.example.test"); err == nil {
		t.Fatal("a name that is no domain of the switch got a certificate")
	}
	client := &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "switch.example.test"}}}
	req, _ := http.NewRequest("POST", "https://"+sw.AdminAddr.String()+"/api/v1/domains", strings.NewReader(`{"host":"portal.example.test","area":"portal"}`))
	req.Header.Set("Authorization", "Bearer "+sw.Token)
	req.Header.Set("Content-Type", "application/json")
	res, err := client.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("adding the domain: %v %v", res, err)
	}
	res.Body.Close()
	if hsts := res.Header.Get("Strict-Transport-Security"); hsts == "" {
		t.Error("no Strict-Transport-Security over HTTPS")
	}
	if cert, err := dial("portal.example.test"); err != nil || cert.DNSNames[0] != "portal.example.test" {
		t.Fatalf("the new domain's certificate: %v %v", cert, err)
	}
}
