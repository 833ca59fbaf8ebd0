package web

import (
	"net/http"

	"github.com/trunkline/trunkline/rating"
)

// lowBalance is the available balance under which a prepaid customer is
// listed among the alerts (in its currency's units).
const lowBalance = 5 * rating.Scale

// alerts lists what is outstanding: customers and carriers with warnings,
// carrier endpoints down, users without two-factor, prepaid customers
// running low.
func (s *Server) alerts(w http.ResponseWriter, r *http.Request, sess *session) {
	var cs struct {
		Customers []struct {
			customerRow
			CreditLimit string `json:"credit_limit"`
			Available   string
		}
	}
	if status, err := s.call(r, sess, "GET", "/api/v1/customers", nil, &cs); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	var warned, low []customerRow
	for _, c := range cs.Customers {
		if len(c.Warnings) > 0 {
			warned = append(warned, c.customerRow)
		}
		if a, err := rating.ParseMoney(c.Available); err == nil && c.CreditLimit != "" && a < lowBalance {
			if cl, err := rating.ParseMoney(c.CreditLimit); err == nil && cl == 0 {
				row := c.customerRow
				row.Balance = c.Available
				low = append(low, row)
			}
		}
	}
	var ks struct {
		Carriers []struct {
			ID, Name string
			Warnings []struct{ Code, Message string }
		}
	}
	s.call(r, sess, "GET", "/api/v1/carriers", nil, &ks)
	type down struct{ Carrier, CarrierID, Addr, State string }
	names := map[string]string{}
	for _, k := range ks.Carriers {
		names[k.ID] = k.Name
	}
	var eps struct {
		Endpoints []struct {
			CarrierID string `json:"carrier_id"`
			Host      string
			Port      int
			Health    *struct{ State string }
		}
	}
	s.call(r, sess, "GET", "/api/v1/endpoints", nil, &eps) // one read for every carrier
	var downs []down
	for _, e := range eps.Endpoints {
		if e.Health != nil && e.Health.State == "down" {
			downs = append(downs, down{names[e.CarrierID], e.CarrierID, e.Host, e.Health.State})
		}
	}
	var us struct {
		Users []struct {
			Username    string
			TOTPEnabled bool `json:"totp_enabled"`
			Passkeys    int
		}
	}
	s.call(r, sess, "GET", "/api/v1/users", nil, &us)
	var no2fa []string
	for _, u := range us.Users {
		if !u.TOTPEnabled && u.Passkeys == 0 {
			no2fa = append(no2fa, u.Username)
		}
	}
	carriers := ks.Carriers[:0]
	for _, k := range ks.Carriers {
		if len(k.Warnings) > 0 {
			carriers = append(carriers, k)
		}
	}
	s.render(w, http.StatusOK, "alerts.html", s.page(r, sess, map[string]any{"Customers": warned, "Carriers": carriers,
		"Down": downs, "No2FA": no2fa, "Low": low, "LowBalance": rating.Money(lowBalance).Compact()}))
}

// help is the panel's help: a section per page, linked from each.
func (s *Server) help(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, http.StatusOK, "help.html", s.page(r, sess, map[string]any{}))
}
