package admin

import (
	"context"
	"net/http"
	"time"

	"github.com/trunkline/trunkline/store"
)

// maxCallSeconds bounds a customer's maximum call duration (48 h, the
// switch's own bound).
const maxCallSeconds = 48 * 3600

// Statuses of customers ("active", "suspended") and carriers ("active", "disabled").
const (
	StatusActive    = "active"
	StatusSuspended = "suspended"
	StatusDisabled  = "disabled"
)

func validCustomer(c *store.Customer) error { return validCustomerFrom(c, nil) }

// validCustomerFrom checks c, a change of old (nil for a new customer): a
// name or currency kept as it was passes even if stored before today's
// rules, so an old record can still be suspended.
func validCustomerFrom(c, old *store.Customer) error {
	var was *[2]string
	if old != nil {
		was = &[2]string{old.Name, old.Currency}
	}
	if err := validNameCurrency(c.Name, c.Currency, was); err != nil {
		return err
	}
	if err := oneOf("status", &c.Status, StatusActive, StatusActive, StatusSuspended); err != nil {
		return err
	}
	// -1: no channel limit at all (0 takes the switch's default).
	if c.ChannelLimit != -1 {
		if err := validLimit("channel_limit", c.ChannelLimit); err != nil {
			return err
		}
	}
	if err := validTimezone("timezone", c.Timezone); err != nil {
		return err
	}
	if c.MaxCallSeconds < 0 || c.MaxCallSeconds > maxCallSeconds {
		return errInvalid("max_call_seconds", "must be between 0 (the switch's) and %d, got %d", maxCallSeconds, c.MaxCallSeconds)
	}
	if err := validHeaders("sip_headers", c.SIPHeaders); err != nil {
		return err
	}
	if err := validLimit("cps_limit", c.CPSLimit); err != nil {
		return err
	}
	if err := validTranslations("inbound_rules", c.InboundRules); err != nil {
		return err
	}
	if err := validMediaRelay(c.MediaRelay); err != nil {
		return err
	}
	return validMoneySettings(c)
}

var customers = resource[store.Customer]{
	coll: store.Customers, kind: "customer", id: func(c *store.Customer) *string { return &c.ID },
	name:  func(c *store.Customer) string { return c.Name },
	valid: validCustomer,
	input: func(c *store.Customer) any { return &customerInput{Customer: c} },
	view: func(ctx context.Context, s *Server, c store.Customer) (any, error) {
		return s.viewCustomer(ctx, c, time.Now())
	},
}

func (s *Server) createCustomer(w http.ResponseWriter, r *http.Request) error {
	return customers.create(s, w, r)
}

func (s *Server) listCustomers(w http.ResponseWriter, r *http.Request) error {
	return customers.list(s, w, r)
}

func (s *Server) getCustomer(w http.ResponseWriter, r *http.Request) error {
	return customers.get(s, w, r)
}

// putCustomer replaces a customer. The currency is fixed at creation: it may
// be omitted, but not changed.
func (s *Server) putCustomer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var c store.Customer
	if err := customers.decode(w, r, &c); err != nil {
		return err
	}
	if err := checkID(c.ID, id); err != nil {
		return err
	}
	c.ID = id
	err := s.write(r, func(ctx context.Context) error {
		old, err := load[store.Customer](ctx, s.st, store.Customers, "customer", id)
		if err != nil {
			return err
		}
		if c.Currency == "" {
			c.Currency = old.Currency
		}
		if err := validCustomerFrom(&c, &old); err != nil {
			return err
		}
		if c.Currency != old.Currency {
			return errConflict("currency", "currency is fixed at creation (%s)", old.Currency)
		}
		return store.PutJSON(ctx, s.st, store.Customers, id, c)
	})
	if err != nil {
		return err
	}
	v, err := customers.show(r.Context(), s, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
	return nil
}

// deleteCustomer removes a customer with its IP entries and routes.
func (s *Server) deleteCustomer(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.write(r, func(ctx context.Context) error {
		if _, err := load[store.Customer](ctx, s.st, store.Customers, "customer", id); err != nil {
			return err
		}
		ips, err := listWhere(ctx, s.st, store.CustomerIPs, func(ip store.CustomerIP) bool { return ip.CustomerID == id })
		if err != nil {
			return err
		}
		for _, ip := range ips {
			if err := s.st.Delete(ctx, store.CustomerIPs, ip.ID); err != nil {
				return err
			}
		}
		routes, err := listWhere(ctx, s.st, store.Routes, func(rt store.Route) bool { return rt.CustomerID == id })
		if err != nil {
			return err
		}
		for _, rt := range routes {
			if err := s.st.Delete(ctx, store.Routes, rt.ID); err != nil {
				return err
			}
		}
		return remove(ctx, s.st, store.Customers, "customer", id)
	})
	if err != nil {
		return err
	}
	s.log.Info("customer deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}
