package admin

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"maps"
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
	maxPasskeys     = 20 // per user
	maxPasskeyName  = 64
	maxCredential   = 16 << 10 // an attestation or assertion, as JSON
	maxCredentialID = 1023     // bytes, as WebAuthn allows
	passkeyTimeout  = 5 * time.Minute
	CodeNoPasskey   = "no_passkey"
	CodeBadPasskey  = "bad_passkey"
	CodeBadOrigin   = "bad_origin"
	passkeyRPName   = "Trunkline"
	ceremonyEnrol   = "enrol"
	ceremonyLogin   = "login"
	localhostRPID   = "localhost"
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
		var c storedCredential
		if p.RPID == w.rpID && json.Unmarshal(p.Credential, &c) == nil {
			cs = append(cs, webauthn.Credential{ID: c.ID, PublicKey: c.PublicKey, AttestationType: c.AttestationType,
				Transport: c.Transport, Flags: c.Flags, Authenticator: c.Authenticator})
		}
	}
	return cs
}

// storedCredential is what a passkey keeps of go-webauthn's credential:
// not the attestation (the client's data and the authenticator's
// statement, large and never read again).
type storedCredential struct {
	ID              []byte                            `json:"id"`
	PublicKey       []byte                            `json:"public_key"`
	AttestationType string                            `json:"attestation_type,omitempty"`
	Transport       []protocol.AuthenticatorTransport `json:"transport,omitempty"`
	Flags           webauthn.CredentialFlags          `json:"flags"`
	Authenticator   webauthn.Authenticator            `json:"authenticator"`
}

func storeCredential(c *webauthn.Credential) (json.RawMessage, error) {
	return json.Marshal(storedCredential{ID: c.ID, PublicKey: c.PublicKey, AttestationType: c.AttestationType,
		Transport: c.Transport, Flags: c.Flags, Authenticator: c.Authenticator})
}

// passkeyOptions starts enrolling a passkey for the caller, who gives the
// password again and, with two-factor on, a code (a stolen token or
// password alone must not add a way in). It answers the ceremony and the
// options for navigator.credentials.create.
func (s *Server) passkeyOptions(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Password     string `json:"password"`
		TOTP         string `json:"totp,omitempty"`
		RecoveryCode string `json:"recovery_code,omitempty"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	wa, rpID, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	_, attempt, err := s.checkOwnPassword(w, r, p, "password", in.Password)
	if err != nil {
		return err
	}
	outcome := auth.Aborted
	defer func() { attempt.End(outcome) }()
	var u store.User
	err = s.locked(r, func(ctx context.Context) error {
		if u, err = load[store.User](ctx, s.st, store.Users, "user", p.userID); err != nil {
			return err
		}
		if len(u.Passkeys) >= maxPasskeys {
			return errConflict("passkeys", "a user has at most %d passkeys: remove one first", maxPasskeys)
		}
		changed := false
		if u.TOTPEnabled {
			if err := useSecondFactor(&u, in.TOTP, in.RecoveryCode); err != nil {
				e, _ := err.(*Error)
				if e == nil || e.Code != CodeLoginRequired {
					return err
				}
				outcome = auth.Failed // guessing codes here is throttled as at /login
				f := errStatus(http.StatusForbidden, CodeForbidden, "%s", e.Message)
				f.Field = "totp"
				return f
			}
			changed = true
		}
		if u.WebAuthnHandle == "" {
			var h [32]byte
			rand.Read(h[:])
			u.WebAuthnHandle, changed = base64.RawURLEncoding.EncodeToString(h[:]), true
		}
		if !changed {
			return nil
		}
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
	outcome = auth.Succeeded
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": s.sealCeremony(ceremony{Kind: ceremonyEnrol, UserID: u.ID, RPID: rpID, Data: *data}),
		"publicKey": creation.Response})
	return nil
}

// passkeyInput finishes a ceremony: its token and the browser's
// credential (PublicKeyCredential as JSON).
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

var errNoCeremony = errStatus(http.StatusBadRequest, CodeBadPasskey, "no such ceremony (each is answered once, within %v): start again", passkeyTimeout)

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
	c, ok := s.openCeremony(in.Ceremony, ceremonyEnrol, rpID)
	if !ok || c.UserID != p.userID {
		return errNoCeremony
	}
	parsed, err := protocol.ParseCredentialCreationResponseBytes(in.Credential)
	if err != nil {
		return errStatus(http.StatusBadRequest, CodeBadPasskey, "the credential does not parse: %v", err)
	}
	var view passkeyView
	err = s.locked(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		if len(u.Passkeys) >= maxPasskeys {
			return errConflict("passkeys", "a user has at most %d passkeys: remove one first", maxPasskeys)
		}
		cred, err := wa.CreateCredential(waUser{u: &u, rpID: rpID}, c.Data, parsed)
		if err != nil {
			s.log.Info("passkey refused", "user", u.ID, "err", err)
			return errStatus(http.StatusBadRequest, CodeBadPasskey, "the passkey was refused: %v", err)
		}
		if len(cred.ID) > maxCredentialID {
			return errStatus(http.StatusBadRequest, CodeBadPasskey, "the passkey's id is longer than %d bytes", maxCredentialID)
		}
		if fresh, err := s.useChallenge(ctx, c.Data); err != nil || !fresh {
			return cmp.Or(err, error(errNoCeremony))
		}
		raw, err := storeCredential(cred)
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
	err := s.locked(r, func(ctx context.Context) error {
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
		if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil || r.Method != http.MethodDelete {
			return err
		}
		// A passkey removed (lost, or not one's own): the other sessions,
		// which it may have signed in, end.
		_, err = s.revokeTokens(ctx, u.ID, p.tokenID)
		return err
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

// removeUserPasskeys removes every passkey of a user (an admin's, for a
// lost device or an account taken over).
func (s *Server) removeUserPasskeys(w http.ResponseWriter, r *http.Request) error {
	err := s.locked(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", r.PathValue("id"))
		if err != nil {
			return err
		}
		u.Passkeys, u.WebAuthnHandle = nil, ""
		if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil {
			return err
		}
		_, err = s.revokeTokens(ctx, u.ID, principalOf(r).tokenID) // the sessions they signed in too
		return err
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// loginPasskeyOptions starts a passkey sign-in: with a username and
// password, the passkey is the second factor (its options list that
// user's passkeys on this site); with neither, the browser offers the
// passkeys it holds for this site (discoverable) and the user is verified
// on the authenticator. The ceremony is sealed and held by the client:
// nothing is kept here until it is answered.
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
	if (in.Username == "") != (in.Password == "") {
		return errInvalid("password", "both username and password (the passkey as second factor), or neither")
	}
	wa, rpID, err := s.relyingParty(r)
	if err != nil {
		return err
	}
	c := ceremony{Kind: ceremonyLogin, RPID: rpID}
	var assertion *protocol.CredentialAssertion
	var data *webauthn.SessionData
	if in.Username == "" {
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
		c.UserID = u.ID
		assertion, data, err = wa.BeginLogin(wu)
	}
	if err != nil {
		return err
	}
	c.Data = *data
	writeJSON(w, http.StatusOK, map[string]any{"ceremony": s.sealCeremony(c), "publicKey": assertion.Response})
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
	refuse := func(why string) error {
		outcome = auth.Failed
		s.log.Info("passkey login failed", "client", clientIP(r), "reason", why)
		return errStatus(http.StatusUnauthorized, CodeLoginRequired, "the passkey sign-in was refused: %s", why)
	}
	c, ok := s.openCeremony(in.Ceremony, ceremonyLogin, rpID)
	if !ok {
		return refuse("no such ceremony: start again")
	}
	parsed, err := protocol.ParseCredentialRequestResponseBytes(in.Credential)
	if err != nil {
		return refuse("the credential does not parse")
	}
	// The user, read outside the lock (a discoverable sign-in looks it up
	// by the handle the authenticator gave).
	var user store.User
	if c.UserID != "" {
		user, err = load[store.User](r.Context(), s.st, store.Users, "user", c.UserID)
		if isNotFoundErr(err) {
			return refuse("no such user")
		}
	} else {
		h := base64.RawURLEncoding.EncodeToString(parsed.Response.UserHandle)
		var us []store.User
		us, err = listWhere(r.Context(), s.st, store.Users, func(u store.User) bool { return h != "" && u.WebAuthnHandle == h })
		if err == nil && len(us) != 1 {
			return refuse("no user has this passkey")
		}
		if err == nil {
			user = us[0]
		}
	}
	if err != nil {
		return err // the store: not the client's failure
	}
	var cred *webauthn.Credential
	wu := waUser{u: &user, rpID: rpID}
	if c.UserID != "" {
		cred, err = wa.ValidateLogin(wu, c.Data, parsed)
	} else {
		_, cred, err = wa.ValidatePasskeyLogin(func(_, _ []byte) (webauthn.User, error) { return wu, nil }, c.Data, parsed)
	}
	switch {
	case err != nil:
		return refuse("the passkey does not match")
	case cred.Authenticator.CloneWarning:
		return refuse("the passkey's counter went back: it may have been copied")
	}
	if fresh, err := s.useChallenge(r.Context(), c.Data); err != nil {
		return err
	} else if !fresh {
		return refuse("the ceremony was answered already")
	}
	var secret string
	var tok store.Token
	err = s.locked(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", user.ID)
		if err != nil {
			return err
		}
		id := base64.RawURLEncoding.EncodeToString(cred.ID)
		i := slices.IndexFunc(u.Passkeys, func(p store.Passkey) bool { return p.ID == id && p.RPID == rpID })
		if i < 0 {
			return refuse("the passkey was removed")
		}
		raw, err := storeCredential(cred)
		if err != nil {
			return err
		}
		u.Passkeys[i].Credential, u.Passkeys[i].LastUsed = raw, time.Now().Unix()
		if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil {
			return err
		}
		name := in.TokenName
		if name == "" {
			name = "passkey " + u.Passkeys[i].Name
		}
		user = u
		secret, tok, err = s.loginToken(ctx, &u, name, in.TTL)
		return err
	})
	if err != nil {
		return err
	}
	outcome = auth.Succeeded
	s.log.Info("login with a passkey", "username", user.Username, "user", user.ID, "token", tok.ID, "client", clientIP(r))
	writeIssued(w, tok, secret)
	return nil
}

// ceremony is a passkey enrolment or sign-in between its options and its
// answer. The client holds it, sealed (see sealCeremony), so that no
// number of unanswered ceremonies costs the switch anything and any node
// takes the answer; a challenge answered is remembered (usedChallenges)
// until it would have expired, so it is answered once per node.
type ceremony struct {
	Kind   string               `json:"kind"`
	UserID string               `json:"user_id,omitempty"`
	RPID   string               `json:"rp_id"`
	Data   webauthn.SessionData `json:"data"`
}

// ceremonySealer seals ceremonies: with the switch's secret key when it
// has one (shared by a cluster's nodes), else a key of this process's.
func (s *Server) ceremonySealer() *auth.Sealer {
	s.sealOnce.Do(func() {
		if s.exports.sealer != nil {
			s.ceremonyKey = s.exports.sealer
			return
		}
		key := make([]byte, auth.SealKeySize)
		rand.Read(key)
		s.ceremonyKey, _ = auth.NewSealer(key)
	})
	return s.ceremonyKey
}

func ceremonyContext(kind, rpID string) string { return "passkey " + kind + " " + rpID }

func (s *Server) sealCeremony(c ceremony) string {
	b, _ := json.Marshal(c)
	return s.ceremonySealer().Seal(string(b), ceremonyContext(c.Kind, c.RPID))
}

// openCeremony returns the ceremony sealed in token for kind on rpID, if
// it is one and has not expired.
func (s *Server) openCeremony(token, kind, rpID string) (ceremony, bool) {
	if !auth.IsSealed(token) || len(token) > maxJSONBody {
		return ceremony{}, false
	}
	plain, err := s.ceremonySealer().Open(token, ceremonyContext(kind, rpID))
	var c ceremony
	if err != nil || json.Unmarshal([]byte(plain), &c) != nil || c.Kind != kind || c.RPID != rpID || !time.Now().Before(c.Data.Expires) {
		return ceremony{}, false
	}
	return c, true
}

// useChallenge marks a ceremony's challenge answered and reports whether
// it was not already: across the cluster on a store that lends locks
// (Redis), in this process otherwise. Only a ceremony answered with a
// valid passkey gets here.
func (s *Server) useChallenge(ctx context.Context, d webauthn.SessionData) (bool, error) {
	if lk, ok := s.st.(store.Locker); ok {
		ttl := time.Until(d.Expires) + time.Second
		_, fresh, err := lk.TryLock(ctx, "passkey-challenge:"+d.Challenge, ttl) // never released: it expires with the ceremony
		return fresh, err
	}
	return s.used.use(d.Challenge, d.Expires), nil
}

// usedChallenges are the challenges answered in this process, until they
// expire.
type usedChallenges struct {
	mu sync.Mutex
	m  map[string]time.Time
}

// use marks challenge answered and reports whether it was not already.
func (u *usedChallenges) use(challenge string, expires time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if u.m == nil {
		u.m = map[string]time.Time{}
	}
	if len(u.m) > 1000 {
		maps.DeleteFunc(u.m, func(_ string, exp time.Time) bool { return now.After(exp) })
	}
	if _, seen := u.m[challenge]; seen {
		return false
	}
	u.m[challenge] = expires
	return true
}
