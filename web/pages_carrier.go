package web

import (
	"net/http"
	"net/url"
)

// carrierPage shows one carrier: its limits, its endpoints with their
// health (probes, demotion, recent ASR and PDD) and its provider cards.
func (s *Server) carrierPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.carrierView(w, r, sess, http.StatusOK, "")
}

func (s *Server) carrierView(w http.ResponseWriter, r *http.Request, sess *session, code int, problem string) {
	id := url.PathEscape(r.PathValue("id"))
	var k struct {
		ID, Name, Currency, Status string
		ChannelLimit               int    `json:"channel_limit"`
		CPSLimit                   int    `json:"cps_limit"`
		MediaRelay                 string `json:"media_relay"`
		Warnings                   []struct{ Code, Message string }
	}
	if status, err := s.call(r, sess, "GET", "/api/v1/carriers/"+id, nil, &k); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	var eps struct {
		Endpoints []struct {
			Host, Transport string
			Port, Weight    int
			ChannelLimit    int `json:"channel_limit"`
			CPSLimit        int `json:"cps_limit"`
			Health          *struct {
				State      string
				LastResult string `json:"last_result"`
				Failures   int
				Demoted    bool
				ASR        *float64 `json:"asr"`
				PDDMs      *int64   `json:"pdd_ms"`
			}
		}
	}
	s.call(r, sess, "GET", "/api/v1/carriers/"+id+"/endpoints", nil, &eps)
	var cards struct {
		RateCards []struct {
			ID, Name, Currency string
			CarrierID          string `json:"carrier_id"`
			Revision           int
		} `json:"ratecards"`
	}
	s.call(r, sess, "GET", "/api/v1/ratecards", nil, &cards)
	mine := cards.RateCards[:0]
	for _, c := range cards.RateCards {
		if c.CarrierID == k.ID {
			mine = append(mine, c)
		}
	}
	s.render(w, code, "carrier.html", s.page(r, sess, map[string]any{"K": k, "Endpoints": eps.Endpoints, "Cards": mine,
		"Problem": problem, "Form": r.PostForm}))
}
