package admin

import (
	"context"
	"net/http"
	"net/netip"

	"github.com/trunkline/trunkline/store"
)

const maxTechPrefixLen = 16

// normalizeCIDR checks an address or prefix and returns its canonical form:
// "192.0.2.10", "192.0.2.0/24", "2001:db8::/32". A prefix with host bits set
// is refused rather than silently widened.
func normalizeCIDR(s string) (string, error) {
	if s == "" {
		return "", errInvalid("cidr", "required")
	}
	if a, err := netip.ParseAddr(s); err == nil {
		if a.Zone() != "" {
			return "", errInvalid("cidr", "%q has a zone", s)
		}
		return a.Unmap().String(), nil
	}
	p, err := netip.ParsePrefix(s)
	if err != nil {
		return "", errInvalid("cidr", "%q is neither an IP address nor a CIDR prefix", s)
	}
	if m := p.Masked(); m != p {
		return "", errInvalid("cidr", "%q has host bits set; did you mean %s?", s, m)
	}
	return p.String(), nil
}

func validTechPrefix(s string) error {
	if len(s) > maxTechPrefixLen {
		return errInvalid("tech_prefix", "longer than %d characters", maxTechPrefixLen)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && c != '#' && c != '*' {
			return errInvalid("tech_prefix", "may hold only digits, '#' and '*', got %q", s)
		}
	}
	return nil
}

// createCustomerIP adds an IP auth entry. The same address and tech prefix
// may not belong to two entries, of one customer or of two, since the switch
// could then not tell whose call it is.
func (s *Server) createCustomerIP(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	var ip store.CustomerIP
	if err := decodeBody(w, r, maxJSONBody, &ip); err != nil {
		return err
	}
	if err := checkID(ip.ID, ""); err != nil {
		return err
	}
	if ip.CustomerID != "" && ip.CustomerID != cust {
		return errInvalid("customer_id", "%q does not match the path customer %q", ip.CustomerID, cust)
	}
	cidr, err := normalizeCIDR(ip.CIDR)
	if err != nil {
		return err
	}
	if err := validTechPrefix(ip.TechPrefix); err != nil {
		return err
	}
	if err := validEntryLimits(ip.ChannelLimit, ip.CPSLimit); err != nil {
		return err
	}
	ip = store.CustomerIP{ID: store.NewID(), CustomerID: cust, CIDR: cidr, TechPrefix: ip.TechPrefix, ChannelLimit: ip.ChannelLimit, CPSLimit: ip.CPSLimit}
	err = s.write(r, func(ctx context.Context) error {
		if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", cust); err != nil {
			return err
		}
		dups, err := listWhere(ctx, s.st, store.CustomerIPs, func(o store.CustomerIP) bool {
			return o.CIDR == ip.CIDR && o.TechPrefix == ip.TechPrefix
		})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return errConflict("cidr", "%s with tech prefix %q already belongs to customer %s (entry %s)",
				ip.CIDR, ip.TechPrefix, dups[0].CustomerID, dups[0].ID)
		}
		return store.PutJSON(ctx, s.st, store.CustomerIPs, ip.ID, ip)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+cust+"/ips/"+ip.ID)
	writeJSON(w, http.StatusCreated, ip)
	return nil
}

func (s *Server) listCustomerIPs(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", cust); err != nil {
		return err
	}
	ips, err := listWhere(r.Context(), s.st, store.CustomerIPs, func(ip store.CustomerIP) bool { return ip.CustomerID == cust })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ips": ips})
	return nil
}

func (s *Server) deleteCustomerIP(w http.ResponseWriter, r *http.Request) error {
	cust, id := r.PathValue("id"), r.PathValue("ipid")
	err := s.write(r, func(ctx context.Context) error {
		ip, err := load[store.CustomerIP](ctx, s.st, store.CustomerIPs, "ip entry", id)
		if err != nil {
			return err
		}
		if ip.CustomerID != cust {
			return errNotFound("ip entry", id)
		}
		return remove(ctx, s.st, store.CustomerIPs, "ip entry", id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// validEntryLimits checks the channel and CPS limits of an authentication
// entry (IP, host, SIP user).
func validEntryLimits(channels, cps int) error {
	if err := validLimit("channel_limit", channels); err != nil {
		return err
	}
	return validLimit("cps_limit", cps)
}
