package web

import (
	"net/http"
	"net/url"
	"strings"
)

// customerPage shows one customer: its warnings, its money (balance,
// ledger, a payment form) and what it is made of.
func (s *Server) customerPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.customerView(w, r, sess, http.StatusOK, "", "")
}

func (s *Server) customerView(w http.ResponseWriter, r *http.Request, sess *session, status int, problem, done string) {
	id := url.PathEscape(r.PathValue("id"))
	var c struct {
		ID, Name, Currency, Status, Balance, Available string
		CreditLimit                                    string `json:"credit_limit"`
		TaxPercent                                     string `json:"tax_percent"`
		ChannelLimit                                   int    `json:"channel_limit"`
		CPSLimit                                       int    `json:"cps_limit"`
		MediaRelay                                     string `json:"media_relay"`
		Warnings                                       []struct{ Code, Message string }
	}
	if code, err := s.call(r, sess, "GET", "/api/v1/customers/"+id, nil, &c); err != nil || code != http.StatusOK {
		s.failed(w, code)
		return
	}
	var ledger struct {
		Entries []struct {
			Seq                           uint64
			AtMs                          int64 `json:"at_ms"`
			Kind, Amount, Balance, Reason string
		}
		Consistent bool
	}
	s.call(r, sess, "GET", "/api/v1/customers/"+id+"/ledger?limit=100", nil, &ledger)
	acc, _ := s.readAccess(r, sess, "/api/v1/customers/"+id)
	var routes struct {
		Routes []struct {
			Prefix, Strategy string
			CardID           string `json:"card_id"`
		}
	}
	s.call(r, sess, "GET", "/api/v1/customers/"+id+"/routes", nil, &routes)
	var pays struct {
		Payments []struct{ Total, Tax, Net, Currency, Status, Description string }
	}
	s.call(r, sess, "GET", "/api/v1/customers/"+id+"/payments", nil, &pays)
	var cards struct {
		RateCards []struct{ ID, Name, Kind, Currency string } `json:"ratecards"`
	}
	if sess.getRole() != "customer" {
		s.call(r, sess, "GET", "/api/v1/ratecards", nil, &cards)
	}
	sellCards := cards.RateCards[:0]
	for _, k := range cards.RateCards {
		if k.Kind == "customer" {
			sellCards = append(sellCards, k)
		}
	}
	s.render(w, status, "customer.html", s.page(r, sess, map[string]any{"C": c, "Ledger": ledger.Entries,
		"Consistent": ledger.Consistent, "PaymentKey": randomToken(), "Problem": problem, "Done": done,
		"IPs": acc.IPs, "Hosts": acc.Hosts, "SIPUsers": acc.SIPUsers, "Routes": routes.Routes, "Payments": pays.Payments,
		"SellCards": sellCards, "Form": r.PostForm}))
}

// addPayment records a completed payment (POST …/payments, with the
// form's own key: a resubmitted form pays once).
func (s *Server) addPayment(w http.ResponseWriter, r *http.Request, sess *session) {
	id := url.PathEscape(r.PathValue("id"))
	body := map[string]string{"total": strings.TrimSpace(r.PostFormValue("total")), "status": "completed",
		"description": strings.TrimSpace(r.PostFormValue("description"))}
	var out struct {
		Error struct{ Message string }
		Net   string
	}
	code, _ := s.callKeyed(r, sess, "POST", "/api/v1/customers/"+id+"/payments", body, &out, r.PostFormValue("payment_key"))
	if code != http.StatusCreated && code != http.StatusOK {
		s.customerView(w, r, sess, http.StatusBadRequest, out.Error.Message, "")
		return
	}
	s.customerView(w, r, sess, http.StatusOK, "", "Payment recorded: "+out.Net+" net of tax credited.")
}
