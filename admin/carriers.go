package admin

import (
	"context"
	"net/http"

	"github.com/trunkline/trunkline/store"
)

func validCarrier(c *store.Carrier) error {
	if err := validName("name", c.Name); err != nil {
		return err
	}
	if err := validCurrency("currency", c.Currency); err != nil {
		return err
	}
	if err := oneOf("status", &c.Status, StatusActive, StatusActive, StatusDisabled); err != nil {
		return err
	}
	if err := validLimit("channel_limit", c.ChannelLimit); err != nil {
		return err
	}
	if err := validHeaders("sip_headers", c.SIPHeaders); err != nil {
		return err
	}
	if err := validTranslations("outbound_rules", c.OutboundRules); err != nil {
		return err
	}
	return validLimit("cps_limit", c.CPSLimit)
}

var carriers = resource[store.Carrier]{coll: store.Carriers, kind: "carrier", id: func(c *store.Carrier) *string { return &c.ID }, valid: validCarrier}

func (s *Server) createCarrier(w http.ResponseWriter, r *http.Request) error {
	return carriers.create(s, w, r)
}

func (s *Server) listCarriers(w http.ResponseWriter, r *http.Request) error {
	return carriers.list(s, w, r)
}

func (s *Server) getCarrier(w http.ResponseWriter, r *http.Request) error {
	return carriers.get(s, w, r)
}

// putCarrier replaces a carrier. Its currency may change only while no
// provider card of the carrier exists, since cards keep theirs.
func (s *Server) putCarrier(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	var c store.Carrier
	if err := decodeBody(w, r, maxJSONBody, &c); err != nil {
		return err
	}
	if err := checkID(c.ID, id); err != nil {
		return err
	}
	c.ID = id
	err := s.write(r, func(ctx context.Context) error {
		old, err := load[store.Carrier](ctx, s.st, store.Carriers, "carrier", id)
		if err != nil {
			return err
		}
		if c.Currency == "" {
			c.Currency = old.Currency
		}
		if err := validCarrier(&c); err != nil {
			return err
		}
		if c.Currency != old.Currency {
			cards, err := s.carrierCards(ctx, id)
			if err != nil {
				return err
			}
			if len(cards) > 0 {
				return errConflict("currency", "carrier %s has rate card %s in %s; its currency cannot change", id, cards[0].ID, old.Currency)
			}
		}
		return store.PutJSON(ctx, s.st, store.Carriers, id, c)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, c)
	return nil
}

// deleteCarrier removes a carrier and its endpoints; a carrier that still
// owns a provider card is a conflict.
func (s *Server) deleteCarrier(w http.ResponseWriter, r *http.Request) error {
	id := r.PathValue("id")
	err := s.write(r, func(ctx context.Context) error {
		if _, err := load[store.Carrier](ctx, s.st, store.Carriers, "carrier", id); err != nil {
			return err
		}
		cards, err := s.carrierCards(ctx, id)
		if err != nil {
			return err
		}
		if len(cards) > 0 {
			return errConflict("", "carrier %s is still referenced by rate card %s; delete its cards first", id, cards[0].ID)
		}
		eps, err := listWhere(ctx, s.st, store.Endpoints, func(e store.Endpoint) bool { return e.CarrierID == id })
		if err != nil {
			return err
		}
		for _, e := range eps {
			if err := s.st.Delete(ctx, store.Endpoints, e.ID); err != nil {
				return err
			}
		}
		return remove(ctx, s.st, store.Carriers, "carrier", id)
	})
	if err != nil {
		return err
	}
	s.log.Info("carrier deleted", "id", id)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (s *Server) carrierCards(ctx context.Context, carrier string) ([]store.RateCard, error) {
	return listWhere(ctx, s.st, store.RateCards, func(c store.RateCard) bool { return c.CarrierID == carrier })
}
