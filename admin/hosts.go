package admin

import (
	"context"
	"net/http"
	"strings"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

// createCustomerHost adds a host-name auth entry: the addresses the name
// resolves to (A/AAAA, or the targets of an "_sip._udp.…" SRV name)
// authenticate as the customer.
func (s *Server) createCustomerHost(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	var h store.CustomerHost
	if err := decodeBody(w, r, maxJSONBody, &h); err != nil {
		return err
	}
	if err := checkID(h.ID, ""); err != nil {
		return err
	}
	if h.CustomerID != "" && h.CustomerID != cust {
		return errInvalid("customer_id", "%q does not match the path customer %q", h.CustomerID, cust)
	}
	if err := auth.ValidHost(h.Host); err != nil {
		return errInvalid("host", "%v", err)
	}
	if err := validTechPrefix(h.TechPrefix); err != nil {
		return err
	}
	if err := validEntryLimits(h.ChannelLimit, h.CPSLimit); err != nil {
		return err
	}
	h = store.CustomerHost{ID: store.NewID(), CustomerID: cust, Host: strings.ToLower(strings.TrimSuffix(h.Host, ".")), TechPrefix: h.TechPrefix,
		ChannelLimit: h.ChannelLimit, CPSLimit: h.CPSLimit}
	err := s.write(r, func(ctx context.Context) error {
		if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", cust); err != nil {
			return err
		}
		dups, err := listWhere(ctx, s.st, store.CustomerHosts, func(o store.CustomerHost) bool {
			return o.Host == h.Host && o.TechPrefix == h.TechPrefix
		})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return errConflict("host", "%s with tech prefix %q already belongs to customer %s", h.Host, h.TechPrefix, dups[0].CustomerID)
		}
		return store.PutJSON(ctx, s.st, store.CustomerHosts, h.ID, h)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/customers/"+cust+"/hosts/"+h.ID)
	writeJSON(w, http.StatusCreated, h)
	return nil
}

func (s *Server) listCustomerHosts(w http.ResponseWriter, r *http.Request) error {
	cust := r.PathValue("id")
	if _, err := load[store.Customer](r.Context(), s.st, store.Customers, "customer", cust); err != nil {
		return err
	}
	hs, err := listWhere(r.Context(), s.st, store.CustomerHosts, func(h store.CustomerHost) bool { return h.CustomerID == cust })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"hosts": hs})
	return nil
}

func (s *Server) deleteCustomerHost(w http.ResponseWriter, r *http.Request) error {
	cust, id := r.PathValue("id"), r.PathValue("hid")
	err := s.write(r, func(ctx context.Context) error {
		h, err := load[store.CustomerHost](ctx, s.st, store.CustomerHosts, "host entry", id)
		if err != nil {
			return err
		}
		if h.CustomerID != cust {
			return errNotFound("host entry", id)
		}
		return remove(ctx, s.st, store.CustomerHosts, "host entry", id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
