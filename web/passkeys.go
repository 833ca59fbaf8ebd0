package web

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// The passkey endpoints answer passkey.js in JSON: the API's answer as it
// is, or {"error":{"message"}}. The browser's Origin goes with each call:
// the API takes the relying party from it.

// jsonError answers the script with a message it shows.
func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"message": msg}})
}

// relay sends body (JSON) to the API as sess's user (nil: none) and
// copies the answer to the browser; it returns the answer's status and
// body.
func (s *Server) relay(w http.ResponseWriter, r *http.Request, sess *session, method, path string, body any) (int, []byte) {
	b, err := json.Marshal(body)
	if err != nil {
		jsonError(w, http.StatusBadRequest, "the credential is not JSON")
		return http.StatusBadRequest, nil
	}
	rec, err := s.raw(r, sess, method, path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json"})
	if err != nil {
		jsonError(w, http.StatusBadGateway, "the switch could not answer")
		return http.StatusBadGateway, nil
	}
	if rec.Code < 300 && method == http.MethodPost && strings.HasPrefix(path, "/api/v1/login/passkey") && !strings.HasSuffix(path, "/options") {
		return rec.Code, rec.Body.Bytes() // a token: the caller keeps it, the browser never sees it
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(rec.Code)
	w.Write(rec.Body.Bytes())
	return rec.Code, rec.Body.Bytes()
}

// credential is the browser's PublicKeyCredential, as passkey.js sends it.
func credential(r *http.Request) json.RawMessage {
	c := strings.TrimSpace(r.PostFormValue("credential"))
	if !json.Valid([]byte(c)) {
		return nil
	}
	return json.RawMessage(c)
}

// passkeyLoginOptions starts a passkey sign-in (with the username and
// password typed, as their second factor).
func (s *Server) passkeyLoginOptions(w http.ResponseWriter, r *http.Request) {
	if !preCSRF(r) {
		jsonError(w, http.StatusForbidden, "the page's CSRF token does not match: reload the page")
		return
	}
	body := map[string]string{}
	if u, pw := r.PostFormValue("username"), r.PostFormValue("password"); u != "" && pw != "" {
		body["username"], body["password"] = u, pw // the passkey as second factor
	}
	s.relay(w, r, nil, http.MethodPost, "/api/v1/login/passkey/options", body)
}

// passkeyLogin finishes a passkey sign-in and starts a session with the
// token it issues.
func (s *Server) passkeyLogin(w http.ResponseWriter, r *http.Request) {
	if !preCSRF(r) {
		jsonError(w, http.StatusForbidden, "the page's CSRF token does not match: reload the page")
		return
	}
	cred := credential(r)
	if cred == nil {
		jsonError(w, http.StatusBadRequest, "the credential is not JSON")
		return
	}
	status, out := s.relay(w, r, nil, http.MethodPost, "/api/v1/login/passkey", map[string]any{
		"ceremony": r.PostFormValue("ceremony"), "credential": cred, "token_name": "panel", "ttl_seconds": int(sessionIdle.Seconds())})
	if status != http.StatusCreated {
		return // relayed
	}
	var tok struct{ ID, Token string }
	if json.Unmarshal(out, &tok) != nil || tok.Token == "" {
		jsonError(w, http.StatusBadGateway, "the switch issued no token")
		return
	}
	if problem := s.startSession(w, r, tok.Token, tok.ID); problem != "" {
		jsonError(w, http.StatusForbidden, problem)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Write([]byte(`{"next":"/"}`))
}

// passkeyOptions starts enrolling a passkey; the password is asked again.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request, sess *session) {
	body := map[string]string{"password": r.PostFormValue("password")}
	if code := strings.TrimSpace(r.PostFormValue("totp")); code != "" {
		body["totp"] = code
	}
	s.relay(w, r, sess, http.MethodPost, "/api/v1/me/passkeys/options", body)
}

// addPasskey finishes enrolling a passkey under the name typed.
func (s *Server) addPasskey(w http.ResponseWriter, r *http.Request, sess *session) {
	cred := credential(r)
	if cred == nil {
		jsonError(w, http.StatusBadRequest, "the credential is not JSON")
		return
	}
	s.relay(w, r, sess, http.MethodPost, "/api/v1/me/passkeys", map[string]any{
		"ceremony": r.PostFormValue("ceremony"), "name": strings.TrimSpace(r.PostFormValue("name")), "credential": cred})
}

// removePasskey removes one of the user's passkeys (a form).
func (s *Server) removePasskey(w http.ResponseWriter, r *http.Request, sess *session) {
	status, _ := s.call(r, sess, http.MethodDelete, "/api/v1/me/passkeys/"+url.PathEscape(r.PathValue("id")), nil, nil)
	if status != http.StatusNoContent {
		s.accountPage(w, r, sess, http.StatusBadRequest, map[string]any{"Problem": "the passkey could not be removed"})
		return
	}
	s.accountPage(w, r, sess, http.StatusOK, map[string]any{"Done": "Passkey removed."})
}

// noScript answers the passkey form sent without its script.
func (s *Server) noScript(w http.ResponseWriter, r *http.Request, sess *session) {
	s.accountPage(w, r, sess, http.StatusBadRequest, map[string]any{"Problem": "adding a passkey needs JavaScript in the browser"})
}
