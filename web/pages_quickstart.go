package web

import (
	"net/http"
	"strconv"
	"strings"
)

// The quickstart is a wizard of four steps: the carrier, its rates and the
// markup, the customer, the first payment and a review. Each step is a
// form that carries the other steps' fields hidden (never a password: it
// is typed on the last step, and never sent back); "Make it" sends them
// all as one POST /api/v1/quickstart (idempotent on the wizard's key).

// qsField is one field of the wizard.
type qsField struct {
	Name, Label, Type, Pattern, Mode string
	Step                             int
	Required, Textarea               bool
}

var qsFields = []qsField{
	{Name: "carrier_name", Label: "Carrier name", Step: 1, Required: true},
	{Name: "carrier_host", Label: "Its SIP host or address", Step: 1, Required: true},
	{Name: "carrier_port", Label: "Its SIP port", Step: 1, Mode: "numeric"},
	{Name: "currency", Label: "Currency (of the carrier and the customer)", Step: 1, Pattern: "[A-Za-z]{3}", Required: true},
	{Name: "rates", Label: "The carrier's rates (CSV: prefix, rate per minute, description)", Step: 2, Textarea: true, Required: true},
	{Name: "markup", Label: "The customer pays the carrier's rate plus this percent", Step: 2, Mode: "decimal"},
	{Name: "customer_name", Label: "Customer name", Step: 3, Required: true},
	{Name: "tax", Label: "Tax percent on its payments", Step: 3, Mode: "decimal"},
	{Name: "credit_limit", Label: "Credit limit (0: prepaid; empty: none)", Step: 3},
	{Name: "ip", Label: "Its calls come from (IP or CIDR)", Step: 3},
	{Name: "sip_user", Label: "or a SIP user (its password on the last step)", Step: 3},
	{Name: "payment", Label: "First payment (tax included; empty: none)", Step: 4, Mode: "decimal"},
	// Asked on the last step only, so that no page carries it.
	{Name: "sip_password", Label: "The SIP user's password", Step: 4, Type: "password"},
}

var qsSteps = []string{"", "The carrier", "Its rates and your markup", "The customer", "First payment, and make it"}

// quickstartPage serves the wizard's first step.
func (s *Server) quickstartPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.wizard(w, r, sess, http.StatusOK, 1, map[string]string{"currency": "USD", "carrier_port": "5060", "markup": "20",
		"rates": "prefix,rate,description\n44,0.0100,United Kingdom\n"}, randomToken(), nil)
}

// wizard renders step of the quickstart with the values typed so far.
func (s *Server) wizard(w http.ResponseWriter, r *http.Request, sess *session, status, step int, values map[string]string, key string, extra map[string]any) {
	data := map[string]any{"Step": step, "Steps": qsSteps[1:], "Title": qsSteps[step], "Fields": qsFields, "Values": values,
		"Key": key, "Last": step == len(qsSteps)-1, "Prev": step - 1, "Next": step + 1}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, status, "quickstart.html", s.page(r, sess, data))
}

// quickstart moves the wizard a step (the "step" button), or with "make"
// makes the set through POST /api/v1/quickstart and shows what it made,
// or the piece that failed.
func (s *Server) quickstart(w http.ResponseWriter, r *http.Request, sess *session) {
	values := map[string]string{}
	for _, f := range qsFields {
		values[f.Name] = r.PostFormValue(f.Name)
	}
	key := r.PostFormValue("request_key")
	if key == "" {
		key = randomToken()
	}
	if r.PostFormValue("make") == "" {
		step, _ := strconv.Atoi(r.PostFormValue("step"))
		s.wizard(w, r, sess, http.StatusOK, min(max(step, 1), len(qsSteps)-1), values, key, nil)
		return
	}
	f := func(k string) string { return strings.TrimSpace(values[k]) }
	port, _ := strconv.Atoi(f("carrier_port"))
	customer := map[string]any{"name": f("customer_name"), "tax_percent": f("tax"), "credit_limit": f("credit_limit")}
	if ip := f("ip"); ip != "" {
		customer["ip"] = ip
	}
	if u := f("sip_user"); u != "" {
		customer["sip_user"] = map[string]string{"username": u, "password": values["sip_password"]}
	}
	body := map[string]any{
		"currency":  strings.ToUpper(f("currency")),
		"carrier":   map[string]any{"name": f("carrier_name"), "host": f("carrier_host"), "port": port},
		"rates_csv": values["rates"],
		"markup":    map[string]string{"kind": "percent", "value": f("markup")},
		"customer":  customer,
	}
	if p := f("payment"); p != "" {
		body["payment"] = p
	}
	var out map[string]any
	status, _ := s.callKeyed(r, sess, "POST", "/api/v1/quickstart", body, &out, key)
	delete(values, "sip_password") // never sent back in a page
	if status != http.StatusCreated && status != http.StatusOK {
		problem := "the switch refused it"
		if e, ok := out["error"].(map[string]any); ok {
			problem, _ = e["message"].(string)
		}
		s.wizard(w, r, sess, http.StatusBadRequest, len(qsSteps)-1, values, randomToken(), map[string]any{"Problem": problem})
		return
	}
	s.wizard(w, r, sess, http.StatusOK, len(qsSteps)-1, values, key, map[string]any{"Made": out})
}
