package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// The panel's create forms: each posts one API request as the signed-in
// user and goes back to the page it came from, or shows the API's reason
// with what was typed.

// form reads a trimmed field of the posted form.
func form(r *http.Request, k string) string { return strings.TrimSpace(r.PostFormValue(k)) }

// submit sends body to the API; on success it redirects to next, else it
// calls back with the API's reason.
func (s *Server) submit(w http.ResponseWriter, r *http.Request, sess *session, method, path string, body any, next string, failed func(problem string)) {
	var out struct {
		ID    string
		Error struct{ Message string }
	}
	status, _ := s.call(r, sess, method, path, body, &out)
	if status >= 300 {
		msg := out.Error.Message
		if msg == "" {
			msg = "the switch refused it (" + strconv.Itoa(status) + ")"
		}
		failed(msg)
		return
	}
	http.Redirect(w, r, strings.ReplaceAll(next, "{id}", url.PathEscape(out.ID)), http.StatusSeeOther)
}

// optional puts k's value into body as a whole number when given.
func optional(body map[string]any, k, v string) {
	if v == "" {
		return
	}
	if n, err := strconv.Atoi(v); err == nil {
		body[k] = n
	} else {
		body[k] = v // the API names the field and why
	}
}

func (s *Server) addCustomer(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]any{"name": form(r, "name"), "currency": strings.ToUpper(form(r, "currency"))}
	for _, k := range []string{"credit_limit", "tax_percent"} {
		if v := form(r, k); v != "" {
			body[k] = v
		}
	}
	s.submit(w, r, sess, "POST", "/api/v1/customers", body, "/customers/{id}", func(p string) {
		s.customersView(w, r, sess, http.StatusBadRequest, p)
	})
}

func (s *Server) addCarrier(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]any{"name": form(r, "name"), "currency": strings.ToUpper(form(r, "currency"))}
	s.submit(w, r, sess, "POST", "/api/v1/carriers", body, "/carriers/{id}", func(p string) {
		s.carriersView(w, r, sess, http.StatusBadRequest, p)
	})
}

func (s *Server) addEndpoint(w http.ResponseWriter, r *http.Request, sess *session) {
	id := url.PathEscape(r.PathValue("id"))
	body := map[string]any{"host": form(r, "host"), "transport": form(r, "transport")}
	optional(body, "port", form(r, "port"))
	s.submit(w, r, sess, "POST", "/api/v1/carriers/"+id+"/endpoints", body, "/carriers/"+id, func(p string) {
		s.carrierView(w, r, sess, http.StatusBadRequest, p)
	})
}

func (s *Server) addRateCard(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]any{"name": form(r, "name"), "kind": form(r, "kind")}
	if body["kind"] == "provider" {
		body["carrier_id"] = form(r, "carrier_id")
	} else {
		body["currency"] = strings.ToUpper(form(r, "currency"))
		body["provider_cards"] = r.PostForm["provider_cards"]
		if v := form(r, "markup"); v != "" {
			body["markup"] = map[string]string{"kind": "percent", "value": v}
		}
	}
	s.submit(w, r, sess, "POST", "/api/v1/ratecards", body, "/ratecards/{id}/rates", func(p string) {
		s.rateCardsView(w, r, sess, http.StatusBadRequest, p)
	})
}

// customerForm posts one of the customer page's forms (an address, a SIP
// user, a route) to the API path under the customer.
func (s *Server) customerForm(sub string, body func(r *http.Request) map[string]any) func(http.ResponseWriter, *http.Request, *session) {
	return func(w http.ResponseWriter, r *http.Request, sess *session) {
		id := url.PathEscape(r.PathValue("id"))
		s.submit(w, r, sess, "POST", "/api/v1/customers/"+id+"/"+sub, body(r), "/customers/"+id, func(p string) {
			s.customerView(w, r, sess, http.StatusBadRequest, p, "")
		})
	}
}

func ipForm(r *http.Request) map[string]any {
	return map[string]any{"cidr": form(r, "cidr"), "tech_prefix": form(r, "tech_prefix")}
}

func sipUserForm(r *http.Request) map[string]any {
	return map[string]any{"username": form(r, "username"), "password": r.PostFormValue("password")}
}

func routeForm(r *http.Request) map[string]any {
	return map[string]any{"prefix": form(r, "prefix"), "card_id": form(r, "card_id")}
}
