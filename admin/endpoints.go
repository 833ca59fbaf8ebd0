package admin

import (
	"context"
	"net/http"
	"net/netip"
	"strings"

	"github.com/trunkline/trunkline/store"
)

// Endpoint defaults.
const (
	defaultSIPPort   = 5060
	defaultTransport = "udp"
	maxWeight        = 65535
)

func validEndpoint(e *store.Endpoint) error {
	if err := validHost(e.Host); err != nil {
		return err
	}
	if e.Port == 0 {
		e.Port = defaultSIPPort
	}
	if e.Port < 1 || e.Port > 65535 {
		return errInvalid("port", "must be between 1 and 65535, got %d", e.Port)
	}
	if err := oneOf("transport", &e.Transport, defaultTransport, "udp", "tcp"); err != nil {
		return err
	}
	if e.Weight < 0 || e.Weight > maxWeight {
		return errInvalid("weight", "must be between 0 and %d, got %d", maxWeight, e.Weight)
	}
	if err := validLimit("channel_limit", e.ChannelLimit); err != nil {
		return err
	}
	return validLimit("cps_limit", e.CPSLimit)
}

// validHost accepts an IP address or a DNS name (without port).
func validHost(h string) error {
	if h == "" {
		return errInvalid("host", "required")
	}
	if a, err := netip.ParseAddr(h); err == nil {
		if a.Zone() != "" {
			return errInvalid("host", "%q has a zone", h)
		}
		return nil
	}
	if len(h) > 253 {
		return errInvalid("host", "longer than 253 characters")
	}
	for _, label := range strings.Split(strings.TrimSuffix(h, "."), ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return errInvalid("host", "%q is not an IP address or host name", h)
		}
		for i := 0; i < len(label); i++ {
			c := label[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return errInvalid("host", "%q is not an IP address or host name", h)
			}
		}
	}
	return nil
}

func (s *Server) createEndpoint(w http.ResponseWriter, r *http.Request) error {
	carrier := r.PathValue("id")
	var e store.Endpoint
	if err := decodeBody(w, r, maxJSONBody, &e); err != nil {
		return err
	}
	if err := checkID(e.ID, ""); err != nil {
		return err
	}
	if e.CarrierID != "" && e.CarrierID != carrier {
		return errInvalid("carrier_id", "%q does not match the path carrier %q", e.CarrierID, carrier)
	}
	if err := validEndpoint(&e); err != nil {
		return err
	}
	e.ID, e.CarrierID = store.NewID(), carrier
	err := s.write(r, func(ctx context.Context) error {
		if _, err := load[store.Carrier](ctx, s.st, store.Carriers, "carrier", carrier); err != nil {
			return err
		}
		dups, err := listWhere(ctx, s.st, store.Endpoints, func(o store.Endpoint) bool {
			return o.CarrierID == carrier && strings.EqualFold(o.Host, e.Host) && o.Port == e.Port && o.Transport == e.Transport
		})
		if err != nil {
			return err
		}
		if len(dups) > 0 {
			return errConflict("host", "carrier %s already has endpoint %s for %s:%d/%s", carrier, dups[0].ID, e.Host, e.Port, e.Transport)
		}
		return store.PutJSON(ctx, s.st, store.Endpoints, e.ID, e)
	})
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/v1/carriers/"+carrier+"/endpoints/"+e.ID)
	writeJSON(w, http.StatusCreated, e)
	return nil
}

func (s *Server) listEndpoints(w http.ResponseWriter, r *http.Request) error {
	carrier := r.PathValue("id")
	if _, err := load[store.Carrier](r.Context(), s.st, store.Carriers, "carrier", carrier); err != nil {
		return err
	}
	eps, err := listWhere(r.Context(), s.st, store.Endpoints, func(e store.Endpoint) bool { return e.CarrierID == carrier })
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": s.endpointViews(eps)})
	return nil
}

// listAllEndpoints answers every carrier's endpoints with their health
// (one read, for pages that look across carriers).
func (s *Server) listAllEndpoints(w http.ResponseWriter, r *http.Request) error {
	eps, err := store.ListJSON[store.Endpoint](r.Context(), s.st, store.Endpoints)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"endpoints": s.endpointViews(eps)})
	return nil
}

func (s *Server) deleteEndpoint(w http.ResponseWriter, r *http.Request) error {
	carrier, id := r.PathValue("id"), r.PathValue("eid")
	err := s.write(r, func(ctx context.Context) error {
		e, err := load[store.Endpoint](ctx, s.st, store.Endpoints, "endpoint", id)
		if err != nil {
			return err
		}
		if e.CarrierID != carrier {
			return errNotFound("endpoint", id)
		}
		return remove(ctx, s.st, store.Endpoints, "endpoint", id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
