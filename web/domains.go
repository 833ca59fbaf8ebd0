package web

import (
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// Option configures a Server.
type Option func(*Server)

// WithDomains routes requests by their Host among the operator's custom
// domains (admin.Server.Domains): a panel domain serves the control
// panel, a portal domain the customer portal, and any other name nothing
// once one domain exists. Addresses and localhost always reach the panel
// (the operator's own way in). Without it every host gets the panel.
func WithDomains(fn func(ctx context.Context) (map[string]store.Domain, error)) Option {
	return func(s *Server) { s.domains = fn }
}

// hostOf is r's host name: lower case, without port or trailing dot.
func hostOf(r *http.Request) string {
	h := r.Host
	if host, _, err := net.SplitHostPort(h); err == nil {
		h = host
	}
	return strings.TrimSuffix(strings.ToLower(strings.Trim(h, "[]")), ".")
}

// WithPanelHost names the switch's own host (admin.public_host): it
// reaches the panel whatever the domains say.
func WithPanelHost(host string) Option {
	return func(s *Server) { s.panelHost = strings.TrimSuffix(strings.ToLower(host), ".") }
}

// domainOf returns the domain r is for: a configured one, or the panel
// for an address, localhost, the switch's own name or a switch with no
// domains. status is 0, or 404 for an unknown name, 503 when the domains
// cannot be read (addresses and localhost still reach the panel).
func (s *Server) domainOf(r *http.Request) (store.Domain, int) {
	host := hostOf(r)
	panel := store.Domain{Host: host, Area: admin.AreaPanel}
	_, ipErr := netip.ParseAddr(host)
	own := ipErr == nil || host == "localhost" || (s.panelHost != "" && host == s.panelHost)
	if s.domains == nil {
		return panel, 0
	}
	ds, err := s.domains(r.Context())
	switch {
	case err != nil && own:
		return panel, 0
	case err != nil:
		s.log.Error("reading the custom domains", "error", err)
		return store.Domain{}, http.StatusServiceUnavailable
	}
	if d, ok := ds[host]; ok {
		return d, 0
	}
	if own || len(ds) == 0 {
		return panel, 0
	}
	return store.Domain{}, http.StatusNotFound
}

type domainKey struct{}

// domainFrom is the domain Handler found for r.
func domainFrom(r *http.Request) store.Domain {
	d, _ := r.Context().Value(domainKey{}).(store.Domain)
	return d
}

func portal(r *http.Request) bool { return domainFrom(r).Area == admin.AreaPortal }

// brandCSS colours the header in the domain's colour (a stylesheet, as
// the CSP allows no inline style).
func (s *Server) brandCSS(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	if c := domainFrom(r).Colour; c != "" { // #rrggbb, checked by the API
		w.Write([]byte("header { background: " + c + "; }\n"))
	}
}
