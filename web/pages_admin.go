package web

import (
	"net/http"
	"net/url"
	"strings"
)

// The operator's remaining pages: the simulate box, exports with their
// delivery log, bans, and users with their tokens. Each shows what the
// API answers the signed-in user; the API refuses what the role may not.

// simulate asks what would happen to a call: the customer, number and
// caller typed go to GET /api/v1/simulate.
func (s *Server) simulate(w http.ResponseWriter, r *http.Request, sess *session) {
	q := url.Values{}
	for _, k := range []string{"customer", "number", "caller"} {
		if v := strings.TrimSpace(r.URL.Query().Get(k)); v != "" {
			q.Set(k, v)
		}
	}
	data := map[string]any{"Q": q}
	if q.Get("customer") != "" && q.Get("number") != "" {
		var sim map[string]any
		if status, _ := s.call(r, sess, "GET", "/api/v1/simulate?"+q.Encode(), nil, &sim); status == http.StatusOK {
			data["Sim"] = sim
		} else {
			data["Problem"] = "the switch could not simulate this call"
			if e, ok := sim["error"].(map[string]any); ok {
				data["Problem"] = e["message"]
			}
		}
	}
	s.render(w, http.StatusOK, "simulate.html", s.page(r, sess, data))
}

// list renders tmpl with what GET path answers under key.
func (s *Server) list(w http.ResponseWriter, r *http.Request, sess *session, path, key, tmpl string, extra map[string]any) {
	var v map[string]any
	if status, err := s.call(r, sess, "GET", path, nil, &v); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	data := map[string]any{"Rows": v[key]}
	for k, x := range extra {
		data[k] = x
	}
	s.render(w, http.StatusOK, tmpl, s.page(r, sess, data))
}

func (s *Server) exports(w http.ResponseWriter, r *http.Request, sess *session) {
	s.list(w, r, sess, "/api/v1/exports", "exports", "exports.html", nil)
}

// exportRuns is an export's delivery log.
func (s *Server) exportRuns(w http.ResponseWriter, r *http.Request, sess *session) {
	id := url.PathEscape(r.PathValue("id"))
	s.list(w, r, sess, "/api/v1/exports/"+id+"/runs", "runs", "export_runs.html", map[string]any{"ID": r.PathValue("id")})
}

func (s *Server) bans(w http.ResponseWriter, r *http.Request, sess *session) {
	s.list(w, r, sess, "/api/v1/bans", "bans", "bans.html", nil)
}

// remove sends DELETE path to the API, then shows next (a thing already
// gone is no failure).
func (s *Server) remove(w http.ResponseWriter, r *http.Request, sess *session, path, next string) {
	status, _ := s.call(r, sess, "DELETE", path, nil, nil)
	if status >= 300 && status != http.StatusNotFound {
		s.failed(w, status)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// liftBan lifts the ban of an address (DELETE /api/v1/bans/{ip}).
func (s *Server) liftBan(w http.ResponseWriter, r *http.Request, sess *session) {
	s.remove(w, r, sess, "/api/v1/bans/"+url.PathEscape(r.PathValue("ip")), "/bans")
}

// users lists the users and the tokens the signed-in user may see.
func (s *Server) users(w http.ResponseWriter, r *http.Request, sess *session) {
	s.usersPage(w, r, sess, http.StatusOK, "", "")
}

func (s *Server) usersPage(w http.ResponseWriter, r *http.Request, sess *session, status int, problem, done string) {
	var us, ts map[string]any
	if code, err := s.call(r, sess, "GET", "/api/v1/users", nil, &us); err != nil || code != http.StatusOK {
		s.failed(w, code)
		return
	}
	s.call(r, sess, "GET", "/api/v1/tokens", nil, &ts)
	s.render(w, status, "users.html", s.page(r, sess, map[string]any{"Users": us["users"], "Tokens": ts["tokens"],
		"Problem": problem, "Done": done}))
}

// addUser creates a user (POST /api/v1/users).
func (s *Server) addUser(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]string{"username": strings.TrimSpace(r.PostFormValue("username")), "password": r.PostFormValue("password"),
		"role": r.PostFormValue("role"), "customer_id": strings.TrimSpace(r.PostFormValue("customer_id"))}
	var e struct{ Error struct{ Message string } }
	if status, _ := s.call(r, sess, "POST", "/api/v1/users", body, &e); status != http.StatusCreated {
		s.usersPage(w, r, sess, http.StatusBadRequest, e.Error.Message, "")
		return
	}
	s.usersPage(w, r, sess, http.StatusOK, "", "User "+body["username"]+" added.")
}

// revokeToken revokes an API token (DELETE /api/v1/tokens/{id}).
func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, sess *session) {
	s.remove(w, r, sess, "/api/v1/tokens/"+url.PathEscape(r.PathValue("id")), "/users")
}

// domains lists the custom domains with the CNAME each needs, and adds one.
func (s *Server) domainsPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.domainsView(w, r, sess, http.StatusOK, "")
}

func (s *Server) domainsView(w http.ResponseWriter, r *http.Request, sess *session, code int, problem string) {
	var v map[string]any
	if status, err := s.call(r, sess, "GET", "/api/v1/domains", nil, &v); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	s.render(w, code, "domains.html", s.page(r, sess, map[string]any{"Rows": v["domains"], "Problem": problem, "Form": r.PostForm}))
}

func (s *Server) addDomain(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]any{"host": form(r, "host"), "area": form(r, "area"), "brand": form(r, "brand")}
	if c := form(r, "colour"); c != "" {
		body["colour"] = c
	}
	s.submit(w, r, sess, "POST", "/api/v1/domains", body, "/domains", func(p string) {
		s.domainsView(w, r, sess, http.StatusBadRequest, p)
	})
}

// removeDomain deletes a custom domain.
func (s *Server) removeDomain(w http.ResponseWriter, r *http.Request, sess *session) {
	s.remove(w, r, sess, "/api/v1/domains/"+url.PathEscape(r.PathValue("id")), "/domains")
}
