package web

import (
	"bytes"
	"encoding/base64"
	"html/template"
	"image/png"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/pquerna/otp"

	"github.com/trunkline/trunkline/cdr"
)

// carriers lists the carriers with their warnings.
func (s *Server) carriers(w http.ResponseWriter, r *http.Request, sess *session) {
	s.carriersView(w, r, sess, http.StatusOK, "")
}

func (s *Server) carriersView(w http.ResponseWriter, r *http.Request, sess *session, code int, problem string) {
	var ks struct {
		Carriers []struct {
			ID, Name, Currency, Status string
			Warnings                   []struct{ Code, Message string }
		}
	}
	if status, err := s.call(r, sess, "GET", "/api/v1/carriers", nil, &ks); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	s.render(w, code, "carriers.html", s.page(r, sess, map[string]any{"Carriers": ks.Carriers, "Problem": problem, "Form": r.PostForm}))
}

// calls lists the calls in progress, each with a hang-up button.
func (s *Server) calls(w http.ResponseWriter, r *http.Request, sess *session) {
	var cs struct {
		Calls []struct {
			ID, Caller, Callee, State string
			CarrierID                 string `json:"carrier_id"`
			Customer                  string `json:"customer_id"`
			Duration                  int    `json:"duration_s"`
			Node                      string
		}
		NodesMissing int `json:"nodes_missing"`
	}
	if status, err := s.call(r, sess, "GET", "/api/v1/calls?limit=1000", nil, &cs); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	s.render(w, http.StatusOK, "calls.html", s.page(r, sess, map[string]any{"Calls": cs.Calls, "Missing": cs.NodesMissing}))
}

// hangup ends a call through DELETE /api/v1/calls/{id}.
func (s *Server) hangup(w http.ResponseWriter, r *http.Request, sess *session) {
	status, _ := s.call(r, sess, "DELETE", "/api/v1/calls/"+url.PathEscape(r.PathValue("id")), nil, nil)
	if status != http.StatusNoContent && status != http.StatusNotFound {
		s.failed(w, status)
		return
	}
	http.Redirect(w, r, "/calls", http.StatusSeeOther)
}

// cdrFilters are the CDR page's filters, passed to GET /api/v1/cdrs.
var cdrFilters = []string{"customer", "carrier", "number", "from", "to", "sip_code", "answered", "limit"}

// cdrQuery is the API query of the CDR page's filters.
func cdrQuery(r *http.Request) url.Values {
	q := url.Values{}
	for _, k := range cdrFilters {
		if v := strings.TrimSpace(r.URL.Query().Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	return q
}

// cdrs lists CDRs by the page's filters.
func (s *Server) cdrs(w http.ResponseWriter, r *http.Request, sess *session) {
	q := cdrQuery(r)
	if q.Get("limit") == "" {
		q.Set("limit", "100")
	}
	var list struct {
		CDRs []map[string]any `json:"cdrs"`
	}
	status, err := s.call(r, sess, "GET", "/api/v1/cdrs?"+q.Encode(), nil, &list)
	problem := ""
	if err != nil || status != http.StatusOK {
		problem = "the filters were refused: check the times (RFC 3339) and numbers"
	}
	columns := []string{"setup_ms", "customer_id", "callee", "sip_code", "duration", "billed", "sell_cost", "carrier_id", "buy_cost", "margin"}
	var choosable, chosen []string
	if sess.getRole() == "customer" {
		// The customer's own choice of columns (the API gives a
		// customer's only), times as the JSON has them.
		var f struct{ Fields []string }
		s.call(r, sess, "GET", customerPath(sess, "/cdr-fields"), nil, &f)
		chosen, columns = f.Fields, nil
		for _, c := range f.Fields {
			if strings.HasSuffix(c, "_time") {
				c = strings.TrimSuffix(c, "_time") + "_ms"
			}
			if !slices.Contains(columns, c) {
				columns = append(columns, c)
			}
		}
		choosable = cdr.CustomerDefaultFields()
	}
	csv := cdrQuery(r)
	if csv.Get("limit") == "" {
		csv.Set("limit", "10000") // a download is a page, not the whole history
	}
	s.render(w, http.StatusOK, "cdrs.html", s.page(r, sess, map[string]any{"CDRs": list.CDRs, "Columns": columns,
		"Choosable": choosable, "Chosen": chosen,
		"Filters": r.URL.Query(), "CSV": template.URL("/cdrs.csv?" + csv.Encode()), "Problem": problem}))
}

// cdrsCSV downloads the CDRs of the page's filters as CSV.
func (s *Server) cdrsCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	q := cdrQuery(r)
	if q.Get("limit") == "" {
		q.Set("limit", "10000") // the most the API answers at once
	}
	s.download(w, r, sess, "/api/v1/cdrs?"+q.Encode(), map[string]string{"Accept": "text/csv"})
}

// audit lists the newest changes.
func (s *Server) audit(w http.ResponseWriter, r *http.Request, sess *session) {
	var list struct {
		Entries []struct {
			AtMs                                 int64 `json:"at_ms"`
			Username, Role, Method, Path, Client string
			Status                               int
		}
	}
	q := url.Values{"limit": {"200"}}
	if u := r.URL.Query().Get("user"); u != "" {
		q.Set("user", u)
	}
	if status, err := s.call(r, sess, "GET", "/api/v1/audit?"+q.Encode(), nil, &list); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	s.render(w, http.StatusOK, "audit.html", s.page(r, sess, map[string]any{"Entries": list.Entries}))
}

// account shows the caller's account: password change and two-factor.
func (s *Server) account(w http.ResponseWriter, r *http.Request, sess *session) {
	s.accountPage(w, r, sess, http.StatusOK, nil)
}

func (s *Server) accountPage(w http.ResponseWriter, r *http.Request, sess *session, status int, extra map[string]any) {
	var me struct {
		Username, Role, Timezone, Email, Mobile string
		TOTPEnabled                             bool `json:"totp_enabled"`
	}
	s.call(r, sess, "GET", "/api/v1/me", nil, &me)
	var keys struct {
		Passkeys []struct {
			ID, Name string
			RPID     string `json:"rp_id"`
			Created  int64
			LastUsed int64 `json:"last_used"`
		}
	}
	s.call(r, sess, "GET", "/api/v1/me/passkeys", nil, &keys)
	data := map[string]any{"Me": me, "Passkeys": keys.Passkeys}
	for k, v := range extra {
		data[k] = v
	}
	s.render(w, status, "account.html", s.page(r, sess, data))
}

// changePassword changes the caller's password (PUT /api/v1/me/password:
// the caller's other tokens are revoked, this session's stays).
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]string{"old_password": r.PostFormValue("old_password"), "new_password": r.PostFormValue("new_password")}
	var e struct{ Error struct{ Message string } }
	status, _ := s.call(r, sess, "PUT", "/api/v1/me/password", body, &e)
	if status != http.StatusNoContent {
		s.accountPage(w, r, sess, http.StatusBadRequest, map[string]any{"Problem": e.Error.Message})
		return
	}
	s.accountPage(w, r, sess, http.StatusOK, map[string]any{"Done": "Password changed; your other sessions and tokens are signed out."})
}

// enableTOTP starts two-factor set-up and shows its QR code (an image
// made here: the secret goes to no other site).
func (s *Server) enableTOTP(w http.ResponseWriter, r *http.Request, sess *session) {
	var setup struct{ Secret, URI string }
	status, _ := s.call(r, sess, "POST", "/api/v1/me/totp", nil, &setup)
	if status != http.StatusOK {
		s.accountPage(w, r, sess, http.StatusConflict, map[string]any{"Problem": "two-factor is already enabled"})
		return
	}
	var qr template.URL // a data: URL made here, not from input
	if key, err := otp.NewKeyFromURL(setup.URI); err == nil {
		if img, err := key.Image(240, 240); err == nil {
			var buf bytes.Buffer
			if png.Encode(&buf, img) == nil {
				qr = template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes()))
			}
		}
	}
	s.accountPage(w, r, sess, http.StatusOK, map[string]any{"QR": qr, "Secret": setup.Secret})
}

// confirmTOTP turns two-factor on with a code from the app and shows the
// recovery codes, once.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request, sess *session) {
	var out struct {
		Codes []string `json:"recovery_codes"`
	}
	status, _ := s.call(r, sess, "POST", "/api/v1/me/totp/confirm", map[string]string{"code": r.PostFormValue("code")}, &out)
	if status != http.StatusOK {
		s.accountPage(w, r, sess, http.StatusBadRequest, map[string]any{"Problem": "that code is not the app's current one: try again"})
		return
	}
	s.accountPage(w, r, sess, http.StatusOK, map[string]any{"Done": "Two-factor is on. Keep these recovery codes: they are shown once.", "Codes": out.Codes})
}

// failed answers a page whose API call failed.
func (s *Server) failed(w http.ResponseWriter, status int) {
	switch status {
	case http.StatusForbidden:
		http.Error(w, "your role may not see this page", http.StatusForbidden)
	default:
		http.Error(w, "the switch could not answer this page", http.StatusBadGateway)
	}
}

// page is the data every signed-in page gets, with data's.
func (s *Server) page(r *http.Request, sess *session, data map[string]any) map[string]any {
	data["Username"], data["CSRF"], data["Role"] = sess.username, sess.csrf, sess.getRole()
	data["Portal"], data["Brand"] = portal(r), brand(r)
	return data
}

// brand is the name the pages carry on r's domain.
func brand(r *http.Request) string {
	if b := domainFrom(r).Brand; b != "" {
		return b
	}
	return "Trunkline"
}

// chooseColumns sets a customer's CDR columns (its CSV downloads and
// exports too) from the page's checkboxes.
func (s *Server) chooseColumns(w http.ResponseWriter, r *http.Request, sess *session) {
	fields := r.PostForm["field"]
	if len(fields) == 0 {
		fields = []string{}
	}
	if status, _ := s.call(r, sess, "PUT", customerPath(sess, "/cdr-fields"), map[string]any{"fields": fields}, nil); status != http.StatusOK {
		s.failed(w, status)
		return
	}
	http.Redirect(w, r, "/cdrs", http.StatusSeeOther)
}

// saveProfile sets the caller's email, mobile number and timezone.
func (s *Server) saveProfile(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]string{"email": strings.TrimSpace(r.PostFormValue("email")), "mobile": strings.TrimSpace(r.PostFormValue("mobile"))}
	var e struct{ Error struct{ Message string } }
	if status, _ := s.call(r, sess, "PUT", "/api/v1/me/profile", body, &e); status != http.StatusOK {
		s.accountPage(w, r, sess, http.StatusBadRequest, map[string]any{"Problem": e.Error.Message})
		return
	}
	if status, _ := s.call(r, sess, "PUT", "/api/v1/me/timezone", map[string]string{"timezone": strings.TrimSpace(r.PostFormValue("timezone"))}, &e); status != http.StatusOK {
		s.accountPage(w, r, sess, http.StatusBadRequest, map[string]any{"Problem": e.Error.Message})
		return
	}
	s.accountPage(w, r, sess, http.StatusOK, map[string]any{"Done": "Profile saved."})
}
