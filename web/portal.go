package web

import (
	"net/http"
	"net/url"
	"strings"
)

// The customer portal: a customer's user, on a portal domain, sees its
// balance, payments and ledger, the rates it pays, its calls and CDRs and
// how its trunks sign in. Every page reads the API with the user's token,
// which the API holds to that one customer and scrubs of what the
// operator buys.

// customerPath is the API path of the session's customer, plus rest.
func customerPath(sess *session, rest string) string {
	return "/api/v1/customers/" + url.PathEscape(sess.getCustomer()) + rest
}

// portalHome shows the balance, the payments and the latest ledger
// entries.
func (s *Server) portalHome(w http.ResponseWriter, r *http.Request, sess *session) {
	var c struct {
		Name, Currency, Balance, Available string
		CreditLimit                        string `json:"credit_limit"`
	}
	if status, err := s.call(r, sess, "GET", customerPath(sess, ""), nil, &c); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	var pays struct {
		Payments []struct {
			ID, Total, Tax, Net, Currency, Description, Status string
			Created                                            int64 `json:"created_ms"`
		}
	}
	s.call(r, sess, "GET", customerPath(sess, "/payments"), nil, &pays)
	var ledger struct {
		Entries []struct {
			Seq                           uint64
			AtMs                          int64 `json:"at_ms"`
			Kind, Amount, Balance, Reason string
		}
	}
	s.call(r, sess, "GET", customerPath(sess, "/ledger?limit=50"), nil, &ledger)
	s.render(w, http.StatusOK, "portal_home.html", s.page(r, sess, map[string]any{"C": c, "Payments": pays.Payments, "Ledger": ledger.Entries}))
}

// rateQuery is the API query of the rates page's search.
func rateQuery(r *http.Request) url.Values {
	q := url.Values{}
	for _, k := range []string{"card", "prefix"} {
		if v := strings.TrimSpace(r.URL.Query().Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// portalRates lists the rates the customer pays, searched by prefix.
func (s *Server) portalRates(w http.ResponseWriter, r *http.Request, sess *session) {
	q := rateQuery(r)
	q.Set("limit", "500")
	var rates struct {
		Card      struct{ ID, Name, Currency string }
		Cards     []struct{ ID, Name, Currency string }
		Rates     []map[string]any
		Total     int
		Truncated bool
		Error     struct{ Message string }
	}
	status, err := s.call(r, sess, "GET", customerPath(sess, "/rates?"+q.Encode()), nil, &rates)
	problem := ""
	switch {
	case err != nil || status >= 500 || status == http.StatusForbidden:
		s.failed(w, status)
		return
	case status != http.StatusOK:
		problem = rates.Error.Message
	}
	q.Del("limit")
	s.render(w, http.StatusOK, "portal_rates.html", s.page(r, sess, map[string]any{"Rates": rates, "Query": q.Encode(),
		"Prefix": q.Get("prefix"), "Problem": problem}))
}

// portalRatesCSV downloads the rates (all matching rows) as CSV.
func (s *Server) portalRatesCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	q := rateQuery(r)
	q.Set("format", "csv")
	s.download(w, r, sess, customerPath(sess, "/rates?"+q.Encode()), nil)
}

// access is how a customer's trunks sign in: addresses, host names and
// SIP users.
type access struct {
	IPs []struct {
		CIDR       string
		TechPrefix string `json:"tech_prefix"`
	}
	Hosts []struct {
		Host       string
		TechPrefix string `json:"tech_prefix"`
	}
	SIPUsers []struct{ Username, Realm string } `json:"sip_users"`
}

// readAccess reads the access of the customer at the API path base
// ("/api/v1/customers/ID"); the status is the addresses' answer.
func (s *Server) readAccess(r *http.Request, sess *session, base string) (access, int) {
	var a access
	status, err := s.call(r, sess, "GET", base+"/ips", nil, &a)
	if err != nil {
		status = http.StatusBadGateway
	}
	s.call(r, sess, "GET", base+"/hosts", nil, &a)
	s.call(r, sess, "GET", base+"/sip-users", nil, &a)
	return a, status
}

// portalAccess lists how the customer's trunks sign in.
func (s *Server) portalAccess(w http.ResponseWriter, r *http.Request, sess *session) {
	a, status := s.readAccess(r, sess, customerPath(sess, ""))
	if status != http.StatusOK {
		s.failed(w, status)
		return
	}
	s.render(w, http.StatusOK, "portal_access.html", s.page(r, sess, map[string]any{"IPs": a.IPs, "Hosts": a.Hosts, "SIPUsers": a.SIPUsers}))
}
