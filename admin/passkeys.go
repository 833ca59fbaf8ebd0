package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

// Passkey limits.
const (
	maxPasskeys    = 20 // per user
	maxPasskeyName = 64
	maxCredential  = 64 << 10 // an attestation or assertion, as JSON
	passkeyTimeout = 5 * time.Minute
	CodeNoPasskey  = "no_passkey"
	CodeBadPasskey = "bad_passkey"
	CodeBadOrigin  = "bad_origin"
	passkeyRPName  = "Trunkline"
	ceremonyEnrol  = "enrol"
	ceremonyLogin  = "login"
	localhostRPID  = "localhost"
)

// passkeyView is a passkey as the API shows it: no key material.
type passkeyView struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	RPID     string `json:"rp_id"`
	Created  int64  `json:"created"`
	LastUsed int64  `json:"last_used,omitempty"`
}

func viewPasskeys(ps []store.Passkey) []passkeyView {
	out := make([]passkeyView, len(ps))
	for i, p := range ps {
		out[i] = passkeyView{ID: p.ID, Name: p.Name, RPID: p.RPID, Created: p.Created, LastUsed: p.LastUsed}
	}
	return out
}

// relyingParty is the WebAuthn relying party of a request: its Origin's
// host, when that is a configured domain served over HTTPS, or localhost
// (a browser's secure context over plain HTTP too). WebAuthn refuses
// addresses, so a panel reached by IP has no passkeys.
func (s *Server) relyingParty(r *http.Request) (*webauthn.WebAuthn, string, error) {
	origin := r.Header.Get("Origin")
	u, err := url.Parse(origin)
	bad := errStatus(http.StatusBadRequest, CodeBadOrigin,
		"passkeys work on a configured domain over https (or on localhost); this request comes from %q", origin)
	if origin == "" || err != nil || u.Host == "" || u.Path != "" || (u.Scheme != "https" && u.Scheme != "http") {
		return nil, "", bad
	}
	host := u.Hostname()
	name := passkeyRPName
	if host != localhostRPID {
		ds, err := s.Domains(r.Context())
		if err != nil {
			return nil, "", err
		}
		d, ok := ds[host]
		if !ok || u.Scheme != "https" {
			return nil, "", bad
		}
		if d.Brand != "" {
			name = d.Brand
		}
	}
	wa, err := webauthn.New(&webauthn.Config{RPID: host, RPDisplayName: name, RPOrigins: []string{u.Scheme + "://" + u.Host},
		Timeouts: webauthn.TimeoutsConfig{
			Login:        webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyTimeout},
			Registration: webauthn.TimeoutConfig{Enforce: true, Timeout: passkeyTimeout},
		}})
	if err != nil {
		return nil, "", bad
	}
	return wa, host, nil
}

// waUser is a user as go-webauthn sees it: its passkeys on one relying
// party.
type waUser struct {
	u    *store.User
	rpID string
}

func (w waUser) WebAuthnID() []byte {
	b, _ := base64.RawURLEncoding.DecodeString(w.u.WebAuthnHandle)
	return b
}
func (w waUser) WebAuthnName() string        { return w.u.Username }
func (w waUser) WebAuthnDisplayName() string { return w.u.Username }
func (w waUser) WebAuthnCredentials() []webauthn.Credential {
	var cs []webauthn.Credential
	for _, p := range w.u.Passkeys {
		var c webauthn.Credential
		if p.RPID == w.rpID && json.Unmarshal(p.Credential, &c) == nil {
			cs = append(cs, c)
		}
	}
	return cs
}

// passkeyOptions starts enrolling a passkey for the caller, who gives the
// password again (a stolen token alone must not add a way in). It answers
// the ceremony's id and the options for navigator.credentials.create.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	wa, rpID, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	if _, err := s.checkOwnPassword(w, r, p, "password", in.Password); err != nil {
		return err
	}
	var u store.User
	err = s.write(r, func(ctx context.Context) error {
		if u, err = load[store.User](ctx, s.st, store.Users, "user", p.userID); err != nil {
			return err
		}
		if len(u.Passkeys) >= maxPasskeys {
			return errConflict("passkeys", "a user has at most %d passkeys: remove one first", maxPasskeys)
		}
		if u.WebAuthnHandle != "" {
			return nil
		}
		var h [32]byte
		rand.Read(h[:])
		u.WebAuthnHandle = base64.RawURLEncoding.EncodeToString(h[:])
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	wu := waUser{u: &u, rpID: rpID}
	var exclude []protocol.CredentialDescriptor
	for _, c := range wu.WebAuthnCredentials() {
		exclude = append(exclude, c.Descriptor())
	}
	creation, data, err := wa.BeginRegistration(wu,
		webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired),
		webauthn.WithExclusions(exclude))
	if err != nil {
		return err
	}
	id, err := s.ceremonies.add(ceremony{kind: ceremonyEnrol, userID: u.ID, rpID: rpID, source: throttleSource(r), data: *data})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "publicKey": creation.Response})
	return nil
}

// passkeyInput finishes a ceremony: its id and the browser's credential
// (PublicKeyCredential as JSON).
type passkeyInput struct {
	Ceremony   string          `json:"ceremony"`
	Name       string          `json:"name,omitempty"`
	Credential json.RawMessage `json:"credential"`
	TokenName  string          `json:"token_name,omitempty"`
	TTL        int64           `json:"ttl_seconds,omitempty"`
}

func decodePasskeyInput(w http.ResponseWriter, r *http.Request) (passkeyInput, error) {
	var in passkeyInput
	if err := decodeBody(w, r, maxCredential, &in); err != nil {
		return in, err
	}
	if in.Ceremony == "" || len(in.Credential) == 0 {
		return in, errInvalid("credential", "ceremony and credential are required")
	}
	return in, nil
}

// addPasskey finishes enrolling: it checks the attestation against the
// ceremony and stores the passkey under its name.
func (s *Server) addPasskey(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	in, err := decodePasskeyInput(w, r)
	if err != nil {
		return err
	}
	if err := validText("name", in.Name, maxPasskeyName, true); err != nil {
		return err
	}
	wa, rpID, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	c, ok := s.ceremonies.take(in.Ceremony, ceremonyEnrol, rpID)
	if !ok || c.userID != p.userID {
		return errStatus(http.StatusBadRequest, CodeBadPasskey, "no such ceremony (each is used once, within %v): start again", passkeyTimeout)
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	if err != nil {
		return errStatus(http.StatusBadRequest, CodeBadPasskey, "the credential does not parse: %v", err)
	}
	var view passkeyView
	err = s.write(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		if len(u.Passkeys) >= maxPasskeys {
			return errConflict("passkeys", "a user has at most %d passkeys: remove one first", maxPasskeys)
		}
		cred, err := wa.CreateCredential(waUser{u: &u, rpID: rpID}, c.data, parsed)
		if err != nil {
			s.log.Info("passkey refused", "user", u.ID, "err", err)
			return errStatus(http.StatusBadRequest, CodeBadPasskey, "the passkey was refused: %v", err)
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		pk := store.Passkey{ID: base64.RawURLEncoding.EncodeToString(cred.ID), Name: in.Name, RPID: rpID, Credential: raw, Created: time.Now().Unix()}
		if slices.ContainsFunc(u.Passkeys, func(o store.Passkey) bool { return o.ID == pk.ID }) {
			return errConflict("credential", "this passkey is enrolled already")
		}
		u.Passkeys = append(u.Passkeys, pk)
		view = viewPasskeys([]store.Passkey{pk})[0]
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	s.log.Info("passkey enrolled", "user", p.userID, "passkey", view.ID, "rp", rpID)
	writeJSON(w, http.StatusCreated, view)
	return nil
}

func (s *Server) listPasskeys(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	u, err := load[store.User](r.Context(), s.st, store.Users, "user", p.userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"passkeys": viewPasskeys(u.Passkeys)})
	return nil
}

// editPasskey renames (PUT, {"name"}) or removes (DELETE) one of the
// caller's passkeys.
func (s *Server) editPasskey(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Name string `json:"name"`
	}
	if r.Method == http.MethodPut {
		if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
			return err
		}
		if err := validText("name", in.Name, maxPasskeyName, true); err != nil {
			return err
		}
	}
	id := r.PathValue("id")
	var view passkeyView
	err := s.write(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		i := slices.IndexFunc(u.Passkeys, func(o store.Passkey) bool { return o.ID == id })
		if i < 0 {
			return errNotFound("passkey", id)
		}
		if r.Method == http.MethodDelete {
			u.Passkeys = slices.Delete(u.Passkeys, i, i+1)
		} else {
			u.Passkeys[i].Name = in.Name
			view = viewPasskeys(u.Passkeys[i : i+1])[0]
		}
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	if r.Method == http.MethodDelete {
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	writeJSON(w, http.StatusOK, view)
	return nil
}

// loginPasskeyOptions starts a passkey sign-in: with a username and
// password, the passkey is the second factor (its options list that
// user's passkeys on this site); with neither, the browser offers the
// passkeys it holds for this site (discoverable) and the user is verified
// on the authenticator.
func (s *Server) loginPasskeyOptions(w http.ResponseWriter, r *http.Request) error {
	var in struct {
		Username string `json:"username"`
		Password string `json:"password"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if len(in.Username) > maxNameLen || len(in.Password) > 1024 {
		return errInvalid("username", "username or password too long")
	}
	wa, rpID, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	c := ceremony{kind: ceremonyLogin, rpID: rpID, source: throttleSource(r)}
	var assertion *protocol.CredentialAssertion
	var data *webauthn.SessionData
	if in.Username == "" && in.Password == "" {
		assertion, data, err = wa.BeginDiscoverableLogin(webauthn.WithUserVerification(protocol.VerificationRequired))
	} else {
		u, attempt, err := s.checkLogin(w, r, in.Username, in.Password)
		if err != nil {
			return err
		}
		attempt.End(auth.Aborted) // the password was right; the passkey decides
		wu := waUser{u: &u, rpID: rpID}
		if len(wu.WebAuthnCredentials()) == 0 {
			return errStatus(http.StatusBadRequest, CodeNoPasskey, "%s has no passkey for %s", u.Username, rpID)
		}
		c.userID = u.ID
		assertion, data, err = wa.BeginLogin(wu)
	}
	if err != nil {
		return err
	}
	c.data = *data
	id, err := s.ceremonies.add(c)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": id, "publicKey": assertion.Response})
	return nil
}

// loginPasskey finishes a passkey sign-in and issues a token, as a login
// does. Failures count towards the login throttle of the client.
func (s *Server) loginPasskey(w http.ResponseWriter, r *http.Request) error {
	in, err := decodePasskeyInput(w, r)
	if err != nil {
		return err
	}
	if err := validTTL(in.TTL); err != nil {
		return err
	}
	wa, rpID, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	// Counted per client: no username is known yet, and a key shared by
	// every client would let anyone lock passkeys out for all (names
	// cannot hold \x01).
	attempt, wait, ok := s.loginThrottle().Begin("\x01passkey "+throttleSource(r), throttleSource(r))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return errStatus(http.StatusTooManyRequests, CodeTooMany, "too many failed logins; try again later")
	}
	outcome := auth.Aborted
	defer func() { attempt.End(outcome) }()
	refuse := func(why string, args ...any) error {
		outcome = auth.Failed
		s.log.Info("passkey login failed", "client", clientIP(r), "reason", why)
		return errStatus(http.StatusUnauthorized, CodeLoginRequired, why, args...)
	}
	c, ok := s.ceremonies.take(in.Ceremony, ceremonyLogin, rpID)
	if !ok {
		return refuse("no such ceremony (each is used once, within %v): start again", passkeyTimeout)
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return refuse("the credential does not parse")
	}
	var secret string
	var tok store.Token
	var user store.User
	err = s.write(r, func(ctx context.Context) error {
		var cred *webauthn.Credential
		if c.userID != "" {
			u, err := load[store.User](ctx, s.st, store.Users, "user", c.userID)
			if err != nil {
				return err
			}
			user = u
			cred, err = wa.ValidateLogin(waUser{u: &user, rpID: rpID}, c.data, parsed)
			if err != nil {
				return refuse("the passkey was refused")
			}
		} else {
			found := func(_, handle []byte) (webauthn.User, error) {
				h := base64.RawURLEncoding.EncodeToString(handle)
				us, err := listWhere(ctx, s.st, store.Users, func(u store.User) bool { return h != "" && u.WebAuthnHandle == h })
				if err != nil || len(us) != 1 {
					return nil, errNotFound("user", "")
				}
				user = us[0]
				return waUser{u: &user, rpID: rpID}, nil
			}
			if _, cred, err = wa.ValidatePasskeyLogin(found, c.data, parsed); err != nil {
				return refuse("the passkey was refused")
			}
		}
		if cred.Authenticator.CloneWarning {
			return refuse("the passkey's counter went back: it may have been copied")
		}
		id := base64.RawURLEncoding.EncodeToString(cred.ID)
		i := slices.IndexFunc(user.Passkeys, func(p store.Passkey) bool { return p.ID == id && p.RPID == rpID })
		if i < 0 {
			return refuse("the passkey was refused")
		}
		raw, err := json.Marshal(cred)
		if err != nil {
			return err
		}
		user.Passkeys[i].Credential, user.Passkeys[i].LastUsed = raw, time.Now().Unix()
		if err := store.PutJSON(ctx, s.st, store.Users, user.ID, user); err != nil {
			return err
		}
		name := in.TokenName
		if name == "" {
			name = "passkey " + user.Passkeys[i].Name
		}
		secret, tok, err = s.loginToken(ctx, &user, name, in.TTL)
		return err
	})
	if err != nil {
		return err
	}
	outcome = auth.Succeeded
	s.log.Info("login with a passkey", "username", user.Username, "user", user.ID, "token", tok.ID, "client", clientIP(r))
	v := viewToken(tok)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// ceremony is a passkey enrolment or sign-in between its options and its
// answer. Ceremonies live in the node's memory, as the panel's sessions
// do: a cluster's panel is served with sticky sessions.
type ceremony struct {
	kind, userID, rpID, source string
	data                       webauthn.SessionData
	expires                    time.Time
}

// Ceremony limits: in all, and per client (a sign-in's options need no
// token).
const (
	maxCeremonies          = 10_000
	maxCeremoniesPerSource = 20
)

type ceremonies struct {
	mu sync.Mutex
	m  map[string]ceremony
}

var errCeremonies = errStatus(http.StatusTooManyRequests, CodeTooMany, "too many passkey ceremonies under way; finish one or wait")

// add keeps c for passkeyTimeout and returns its id.
func (cs *ceremonies) add(c ceremony) (string, error) {
	var b [24]byte
	rand.Read(b[:])
	id := base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now()
	c.expires = now.Add(passkeyTimeout)
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.m == nil {
		cs.m = map[string]ceremony{}
	}
	mine := 0
	for k, o := range cs.m {
		switch {
		case now.After(o.expires):
			delete(cs.m, k)
		case o.source == c.source:
			mine++
		}
	}
	if mine >= maxCeremoniesPerSource || len(cs.m) >= maxCeremonies {
		return "", errCeremonies
	}
	cs.m[id] = c
	return id, nil
}

// take returns the ceremony id of kind on rpID and forgets it: each is
// answered once.
func (cs *ceremonies) take(id, kind, rpID string) (ceremony, bool) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	c, ok := cs.m[id]
	if !ok {
		return ceremony{}, false
	}
	delete(cs.m, id)
	return c, c.kind == kind && c.rpID == rpID && time.Now().Before(c.expires)
}
