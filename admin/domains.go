package admin

import (
	"context"
	"crypto/tls"
	"errors"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/trunkline/trunkline/store"
)

// Areas a custom domain serves.
const (
	AreaPanel  = "panel"  // the control panel, for the operator's users
	AreaPortal = "portal" // the customer portal, for customers' users
)

// domainsFresh is how long a node serves a domain lookup from memory:
// a domain added on another node is served within it.
const domainsFresh = 2 * time.Second

// domainView is a domain as the API shows it, with the DNS record to make.
type domainView struct {
	store.Domain
	CNAME string `json:"cname"`
}

// domainCache is the domains by host, read at most every domainsFresh.
// gen counts the changes made here: a read begun before one is not kept.
type domainCache struct {
	mu   sync.Mutex
	at   time.Time
	host map[string]store.Domain
	gen  uint64
}

// WithPublicHost names the host that custom domains point at (their
// CNAME target), shown with each domain.
func WithPublicHost(host string) Option { return func(s *Server) { s.publicHost = host } }

func (s *Server) viewDomain(d store.Domain) domainView {
	target := s.publicHost
	if target == "" {
		target = "this switch's admin address"
	}
	return domainView{Domain: d, CNAME: d.Host + " CNAME " + target}
}

// validDomainHost checks a DNS host name: lower case letters, digits and
// hyphens in labels of 1–63, at least two labels, 253 at most; no address
// and no "localhost".
func validDomainHost(h string) error {
	if len(h) == 0 || len(h) > 253 {
		return errInvalid("host", "must be a DNS name of 1 to 253 characters")
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return errInvalid("host", "must be a name, not an address")
	}
	labels := strings.Split(h, ".")
	if len(labels) < 2 {
		return errInvalid("host", "must be a full name such as portal.example.com")
	}
	for _, l := range labels {
		if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return errInvalid("host", "label %q: 1 to 63 characters, not starting or ending with '-'", l)
		}
		for _, c := range l {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
				return errInvalid("host", "label %q: only a-z, 0-9 and '-'", l)
			}
		}
	}
	return nil
}

// validDomain normalises and checks a domain (not its uniqueness).
func validDomain(d *store.Domain) error {
	d.Host = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(d.Host)), ".")
	if err := validDomainHost(d.Host); err != nil {
		return err
	}
	if err := oneOf("area", &d.Area, "", AreaPanel, AreaPortal); err != nil {
		return err
	}
	if err := validText("brand", d.Brand, 64, false); err != nil {
		return err
	}
	if c := d.Colour; c != "" && (len(c) != 7 || c[0] != '#' || strings.Trim(strings.ToLower(c[1:]), "0123456789abcdef") != "") {
		return errInvalid("colour", "must be #rrggbb, got %q", c)
	}
	d.Colour = strings.ToLower(d.Colour)
	if (d.CertFile == "") != (d.KeyFile == "") {
		return errInvalid("cert_file", "cert_file and key_file go together")
	}
	if d.CertFile != "" {
		if _, err := tls.LoadX509KeyPair(d.CertFile, d.KeyFile); err != nil {
			return errInvalid("cert_file", "the certificate and key do not load: %v", err)
		}
	}
	return nil
}

func (s *Server) createDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := decodeDomain(w, r)
	if err != nil {
		return err
	}
	if err := checkID(d.ID, ""); err != nil {
		return err
	}
	if err := validDomain(&d); err != nil {
		return err
	}
	d.ID, d.Created = store.NewID(), time.Now().UnixMilli()
	if err := s.write(r, func(ctx context.Context) error {
		if err := s.uniqueHost(ctx, d); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.Domains, d.ID, d)
	}); err != nil {
		return err
	}
	s.forgetDomains()
	w.Header().Set("Location", "/api/v1/domains/"+d.ID)
	writeJSON(w, http.StatusCreated, s.viewDomain(d))
	return nil
}

// decodeDomain reads a domain as GET shows it (its cname is ignored).
func decodeDomain(w http.ResponseWriter, r *http.Request) (store.Domain, error) {
	var v domainView
	err := decodeBody(w, r, maxJSONBody, &v)
	return v.Domain, err
}

func (s *Server) uniqueHost(ctx context.Context, d store.Domain) error {
	dups, err := listWhere(ctx, s.st, store.Domains, func(o store.Domain) bool { return o.Host == d.Host && o.ID != d.ID })
	if err != nil {
		return err
	}
	if len(dups) > 0 {
		return errConflict("host", "%s is already domain %s", d.Host, dups[0].ID)
	}
	return nil
}

func (s *Server) listDomains(w http.ResponseWriter, r *http.Request) error {
	ds, err := store.ListJSON[store.Domain](r.Context(), s.st, store.Domains)
	if err != nil {
		return err
	}
	out := make([]domainView, len(ds))
	for i, d := range ds {
		out[i] = s.viewDomain(d)
	}
	writeJSON(w, http.StatusOK, map[string]any{"domains": out})
	return nil
}

func (s *Server) getDomain(w http.ResponseWriter, r *http.Request) error {
	d, err := load[store.Domain](r.Context(), s.st, store.Domains, "domain", r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s.viewDomain(d))
	return nil
}

func (s *Server) putDomain(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	d, err := decodeDomain(w, r)
	if err != nil {
		return err
	}
	if err := checkID(d.ID, id); err != nil {
		return err
	}
	if err := validDomain(&d); err != nil {
		return err
	}
	d.ID = id
	if err := s.write(r, func(ctx context.Context) error {
		old, err := load[store.Domain](ctx, s.st, store.Domains, "domain", id)
		if err != nil {
			return err
		}
		d.Created = old.Created
		if err := s.uniqueHost(ctx, d); err != nil {
			return err
		}
		return store.PutJSON(ctx, s.st, store.Domains, id, d)
	}); err != nil {
		return err
	}
	s.forgetDomains()
	writeJSON(w, http.StatusOK, s.viewDomain(d))
	return nil
}

func (s *Server) deleteDomain(w http.ResponseWriter, r *http.Request) error {
	if err := s.write(r, func(ctx context.Context) error {
		return remove(ctx, s.st, store.Domains, "domain", r.PathValue("id"))
	}); err != nil {
		return err
	}
	s.forgetDomains()
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) forgetDomains() {
	s.domains.mu.Lock()
	s.domains.host, s.domains.at = nil, time.Time{}
	s.domains.gen++
	s.domains.mu.Unlock()
}

// Domains returns the custom domains by host, as read at most
// domainsFresh ago (the panel routes every request by them). When the
// store does not answer, the last map read stands in (and is tried again
// after domainsFresh, not at every request).
func (s *Server) Domains(ctx context.Context) (map[string]store.Domain, error) {
	c := &s.domains
	c.mu.Lock()
	host, at, gen := c.host, c.at, c.gen
	c.mu.Unlock()
	if time.Since(at) < domainsFresh && (host != nil || !at.IsZero()) {
		if host == nil {
			return nil, errDomainsDown
		}
		return host, nil
	}
	ds, err := store.ListJSON[store.Domain](ctx, s.st, store.Domains)
	if err != nil {
		s.log.Warn("reading the custom domains failed", "error", err, "stale", host != nil)
		c.mu.Lock()
		if c.gen == gen {
			c.at = time.Now() // tried: not again until domainsFresh
		}
		c.mu.Unlock()
		if host != nil {
			return host, nil
		}
		return nil, err
	}
	m := make(map[string]store.Domain, len(ds))
	for _, d := range ds {
		m[d.Host] = d
	}
	c.mu.Lock()
	if c.gen == gen { // no change made here meanwhile
		c.host, c.at = m, time.Now()
	}
	c.mu.Unlock()
	return m, nil
}

// errDomainsDown: the domains could not be read lately.
var errDomainsDown = errors.New("the custom domains could not be read")
