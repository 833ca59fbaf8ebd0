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

// domainOf returns the domain r is for: a configured one, or the panel
// for an address, localhost or a switch with no domains; ok is false for
// an unknown name (or when the domains cannot be read).
func (s *Server) domainOf(r *http.Request) (store.Domain, bool) {
	host := hostOf(r)
	panel := store.Domain{Host: host, Area: admin.AreaPanel}
	if s.domains == nil {
		return panel, true
	}
	ds, err := s.domains(r.Context())
	if err != nil {
		s.log.Error("reading the custom domains", "error", err)
		return store.Domain{}, false
	}
	if d, ok := ds[host]; ok {
		return d, true
	}
	if _, err := netip.ParseAddr(host); err == nil || host == "localhost" || len(ds) == 0 {
		return panel, true
	}
	return store.Domain{}, false
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
