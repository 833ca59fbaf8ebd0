package admin

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"time"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

// hashWait is how long a password check waits for its turn to hash.
const hashWait = 5 * time.Second

// dummyHash is checked when the username is unknown, so that a login
// takes as long whether or not the user exists.
var dummyHash = auth.HashPassword("trunkline-no-such-user", auth.DefaultArgon2)

type loginInput struct {
	Username     string `json:"username"`
	Password     string `json:"password"`
	TOTP         string `json:"totp,omitempty"`
	RecoveryCode string `json:"recovery_code,omitempty"`
	TokenName    string `json:"token_name,omitempty"`
	TTL          int64  `json:"ttl_seconds,omitempty"`
}

// clientIP is the address the request came from (the admin API is not
// meant to sit behind a proxy, so X-Forwarded-For is not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// throttleSource is the source a login counts against: the client's
// address, or its /64 for IPv6 (one host has a whole /64 to choose from).
func throttleSource(r *http.Request) string {
	ip, err := netip.ParseAddr(clientIP(r))
	if err != nil || ip.Unmap().Is4() {
		return clientIP(r)
	}
	p, _ := ip.Prefix(64)
	return p.String()
}

// login checks a username, password and, once enabled, a TOTP or recovery
// code, and issues an API token for the user. Failures are throttled per
// username and per client address; a locked key answers 429.
func (s *Server) login(w http.ResponseWriter, r *http.Request) error {
	var in loginInput
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if in.Username == "" || in.Password == "" {
		return errInvalid("username", "username and password are required")
	}
	if len(in.Username) > maxNameLen || len(in.Password) > 1024 {
		return errInvalid("username", "username or password too long")
	}
	if err := validTTL(in.TTL); err != nil {
		return err
	}
	u, attempt, err := s.checkLogin(w, r, in.Username, in.Password)
	if err != nil {
		return err
	}
	outcome := auth.Aborted
	defer func() { attempt.End(outcome) }()
	fail := func(code, msg string) error {
		outcome = auth.Failed
		s.log.Info("login failed", "username", in.Username, "client", clientIP(r), "reason", code)
		return errStatus(http.StatusUnauthorized, code, "%s", msg)
	}
	var secret string
	var tok store.Token
	err = s.locked(r, func(ctx context.Context) error {
		// Re-read under the write lock, so a TOTP step or recovery code
		// is used once even by concurrent logins.
		u, err := load[store.User](ctx, s.st, store.Users, "user", u.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled {
			if err := useSecondFactor(&u, in.TOTP, in.RecoveryCode); err != nil {
				if e, ok := err.(*Error); ok && e.Code == CodeLoginRequired {
					return fail(e.Code, e.Message)
				}
				return err
			}
			if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil {
				return err
			}
		}
		secret, tok, err = s.loginToken(ctx, &u, in.TokenName, in.TTL)
		return err
	})
	if err != nil {
		return err
	}
	outcome = auth.Succeeded
	s.log.Info("login", "username", u.Username, "user", u.ID, "token", tok.ID, "client", clientIP(r))
	writeIssued(w, tok, secret)
	return nil
}

// writeIssued answers a token just issued, its secret shown this once.
func writeIssued(w http.ResponseWriter, tok store.Token, secret string) {
	v := viewToken(tok)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
}

// checkLogin checks username and password through the login throttle (the
// attempt counts before the password is checked, so guesses sent at once
// are throttled as if each had failed until it has not). On success it
// returns the user and the attempt, which the caller ends; on failure the
// attempt is ended and counted.
func (s *Server) checkLogin(w http.ResponseWriter, r *http.Request, username, password string) (store.User, *auth.Attempt, error) {
	attempt, wait, ok := s.loginThrottle().Begin(username, throttleSource(r))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return store.User{}, nil, errStatus(http.StatusTooManyRequests, CodeTooMany, "too many failed logins; try again later")
	}
	u, found, err := userByName(r.Context(), s.st, username)
	if err != nil {
		attempt.End(auth.Aborted)
		return store.User{}, nil, err
	}
	hash := dummyHash
	if found {
		hash = u.PasswordHash
	}
	ctx, cancel := context.WithTimeout(r.Context(), hashWait)
	err = auth.CheckPassword(ctx, password, hash)
	cancel()
	if errors.Is(err, auth.ErrBusy) {
		attempt.End(auth.Aborted)
		w.Header().Set("Retry-After", "1")
		return store.User{}, nil, errStatus(http.StatusServiceUnavailable, CodeUnavailable, "too many logins at once; try again")
	}
	if err != nil || !found {
		if err != nil && !errors.Is(err, auth.ErrBadPassword) {
			s.log.Error("checking a password hash", "user", u.ID, "err", err)
		}
		attempt.End(auth.Failed)
		s.log.Info("login failed", "username", username, "client", clientIP(r), "reason", CodeLoginRequired)
		return store.User{}, nil, errStatus(http.StatusUnauthorized, CodeLoginRequired, "wrong username or password")
	}
	return u, attempt, nil
}

// loginToken stores a new token for u named name (or after the time) with
// ttl, as a login issues it.
func (s *Server) loginToken(ctx context.Context, u *store.User, name string, ttl int64) (string, store.Token, error) {
	if name == "" {
		name = "login " + time.Now().UTC().Format(time.RFC3339)
	}
	secret, tok := newToken(name, u, ttl)
	return secret, tok, store.PutJSON(ctx, s.st, store.Tokens, tok.ID, tok)
}

// useSecondFactor checks u's TOTP code or, without one, a recovery code,
// and uses it up (u is to be stored); u has two-factor on. Neither given
// is CodeTOTPRequired; a wrong one CodeLoginRequired.
func useSecondFactor(u *store.User, totp, recovery string) error {
	switch {
	case totp != "":
		step, ok := auth.CheckTOTP(u.TOTPSecret, totp, time.Now(), u.TOTPLastStep)
		if !ok {
			return errStatus(http.StatusUnauthorized, CodeLoginRequired, "wrong or reused two-factor code")
		}
		u.TOTPLastStep = step
	case recovery != "":
		rest, ok := auth.UseRecoveryCode(u.RecoveryCodes, recovery)
		if !ok {
			return errStatus(http.StatusUnauthorized, CodeLoginRequired, "wrong or used recovery code")
		}
		u.RecoveryCodes = rest
	default:
		return errStatus(http.StatusUnauthorized, CodeTOTPRequired, "a two-factor code (totp) or a recovery code is required")
	}
	return nil
}
