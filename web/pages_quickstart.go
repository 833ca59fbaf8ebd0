package web

import (
	"net/http"
	"strconv"
	"strings"
)

// quickstartPage serves the getting-started form.
func (s *Server) quickstartPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.render(w, http.StatusOK, "quickstart.html", s.page(r, sess, map[string]any{"Key": randomToken(), "Form": map[string]string{
		"currency": "USD", "carrier_port": "5060", "markup": "20", "rates": "prefix,rate,description\n44,0.0100,United Kingdom\n"}}))
}

// quickstart makes the set through POST /api/v1/quickstart and shows
// what it made, or the piece that failed.
func (s *Server) quickstart(w http.ResponseWriter, r *http.Request, sess *session) {
	f := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	port, _ := strconv.Atoi(f("carrier_port"))
	customer := map[string]any{"name": f("customer_name"), "tax_percent": f("tax"), "credit_limit": f("credit_limit")}
	if ip := f("ip"); ip != "" {
		customer["ip"] = ip
	}
	if u := f("sip_user"); u != "" {
		customer["sip_user"] = map[string]string{"username": u, "password": r.PostFormValue("sip_password")}
	}
	body := map[string]any{
		"currency":  f("currency"),
		"carrier":   map[string]any{"name": f("carrier_name"), "host": f("carrier_host"), "port": port},
		"rates_csv": r.PostFormValue("rates"),
		"markup":    map[string]string{"kind": "percent", "value": f("markup")},
		"customer":  customer,
	}
	if p := f("payment"); p != "" {
		body["payment"] = p
	}
	var out map[string]any
	status, _ := s.callKeyed(r, sess, "POST", "/api/v1/quickstart", body, &out, r.PostFormValue("request_key"))
	form := map[string]string{}
	for k := range r.PostForm {
		if k != "csrf" && k != "sip_password" && k != "request_key" {
			form[k] = r.PostFormValue(k)
		}
	}
	if status != http.StatusCreated && status != http.StatusOK {
		problem := "the switch refused it"
		if e, ok := out["error"].(map[string]any); ok {
			problem, _ = e["message"].(string)
		}
		s.render(w, http.StatusBadRequest, "quickstart.html", s.page(r, sess, map[string]any{"Form": form, "Problem": problem, "Key": randomToken()}))
		return
	}
	s.render(w, http.StatusOK, "quickstart.html", s.page(r, sess, map[string]any{"Form": form, "Made": out, "Key": r.PostFormValue("request_key")}))
}
