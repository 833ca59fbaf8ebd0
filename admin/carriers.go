package admin

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"

	"github.com/trunkline/trunkline/store"
)

func validCarrier(c *store.Carrier) error { return validCarrierFrom(c, nil) }

// validCarrierFrom checks c, a change of old (nil for a new carrier): a
// name or currency kept as it was passes even if stored before today's
// rules.
func validCarrierFrom(c, old *store.Carrier) error {
	var was *[2]string
	if old != nil {
		was = &[2]string{old.Name, old.Currency}
	}
	if err := validNameCurrency(c.Name, c.Currency, was); err != nil {
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
	if err := validMediaRelay(c.MediaRelay); err != nil {
		return err
	}
	if err := validFailover(c); err != nil {
		return err
	}
	return validLimit("cps_limit", c.CPSLimit)
}

// Bounds of a carrier's failover timeouts, in milliseconds. The first
// reply timeout stays within the INVITE transaction's Timer B (32 s) and
// the ring timeout within Timer C (3 min).
const (
	minTimeoutMS      = 100
	maxFirstReplyMS   = 32_000
	maxRingMS         = 170_000
	maxPDDMS          = 120_000
	maxFailoverCodes  = 32
	minFailoverCode   = 300
	maxFailoverCodeEx = 700
)

// validFailover checks a carrier's failover codes (final codes, each once)
// and timeouts (0, or milliseconds within bounds).
func validFailover(c *store.Carrier) error {
	if len(c.FailoverCodes) > maxFailoverCodes {
		return errInvalid("failover_codes", "at most %d codes, got %d", maxFailoverCodes, len(c.FailoverCodes))
	}
	for i, code := range c.FailoverCodes {
		if code < minFailoverCode || code >= maxFailoverCodeEx {
			return errInvalid("failover_codes", "%d is not a final non-2xx SIP code (300-699)", code)
		}
		if slices.Contains(c.FailoverCodes[:i], code) {
			return errInvalid("failover_codes", "%d listed twice", code)
		}
	}
	for _, t := range []struct {
		field string
		ms    int
		max   int
	}{
		{"first_reply_timeout_ms", c.FirstReplyTimeoutMS, maxFirstReplyMS},
		{"ring_timeout_ms", c.RingTimeoutMS, maxRingMS},
		{"pdd_timeout_ms", c.PDDTimeoutMS, maxPDDMS},
	} {
		if t.ms != 0 && (t.ms < minTimeoutMS || t.ms > t.max) {
			return errInvalid(t.field, "must be 0 (the switch's default) or between %d and %d milliseconds, got %d", minTimeoutMS, t.max, t.ms)
		}
	}
	return nil
}

var carriers = resource[store.Carrier]{coll: store.Carriers, kind: "carrier", id: func(c *store.Carrier) *string { return &c.ID }, valid: validCarrier,
	name:  func(c *store.Carrier) string { return c.Name },
	input: func(c *store.Carrier) any { return &carrierInput{Carrier: c} },
	view: func(ctx context.Context, s *Server, c store.Carrier) (any, error) {
		idx, err := s.configIndex(ctx)
		if err != nil {
			return nil, err
		}
		return carrierView{Carrier: c, Warnings: s.carrierWarnings(idx, c)}, nil
	},
}

// carrierInput is what a carrier request body decodes into: the record,
// and its warnings (read-only, ignored) so that a GET → PUT round trip
// works.
type carrierInput struct {
	*store.Carrier
	Warnings json.RawMessage `json:"warnings"`
}

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
	if err := carriers.decode(w, r, &c); err != nil {
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
		if err := validCarrierFrom(&c, &old); err != nil {
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
	v, err := carriers.show(r.Context(), s, c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, v)
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
