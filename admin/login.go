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
	// The attempt counts before its password is checked: guesses sent at
	// once are throttled as if each had failed until it has not.
	attempt, wait, ok := s.loginThrottle().Begin(in.Username, throttleSource(r))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return errStatus(http.StatusTooManyRequests, CodeTooMany, "too many failed logins; try again later")
	}
	outcome := auth.Aborted
	defer func() { attempt.End(outcome) }()
	fail := func(code, msg string) error {
		outcome = auth.Failed
		s.log.Info("login failed", "username", in.Username, "client", clientIP(r), "reason", code)
		return errStatus(http.StatusUnauthorized, code, "%s", msg)
	}

	u, found, err := userByName(r.Context(), s.st, in.Username)
	if err != nil {
		return err
	}
	hash := dummyHash
	if found {
		hash = u.PasswordHash
	}
	ctx, cancel := context.WithTimeout(r.Context(), hashWait)
	err = auth.CheckPassword(ctx, in.Password, hash)
	cancel()
	if errors.Is(err, auth.ErrBusy) {
		w.Header().Set("Retry-After", "1")
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "too many logins at once; try again")
	}
	if err != nil || !found {
		if err != nil && !errors.Is(err, auth.ErrBadPassword) {
			s.log.Error("checking a password hash", "user", u.ID, "err", err)
		}
		return fail(CodeLoginRequired, "wrong username or password")
	}
	var secret string
	var tok store.Token
	err = s.write(r, func(ctx context.Context) error {
		// Re-read under the write lock, so a TOTP step or recovery code
		// is used once even by concurrent logins.
		u, err := load[store.User](ctx, s.st, store.Users, "user", u.ID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled {
			switch {
			case in.TOTP != "":
				step, ok := auth.CheckTOTP(u.TOTPSecret, in.TOTP, time.Now(), u.TOTPLastStep)
				if !ok {
					return fail(CodeLoginRequired, "wrong or reused two-factor code")
				}
				u.TOTPLastStep = step
			case in.RecoveryCode != "":
				rest, ok := auth.UseRecoveryCode(u.RecoveryCodes, in.RecoveryCode)
				if !ok {
					return fail(CodeLoginRequired, "wrong or used recovery code")
				}
				u.RecoveryCodes = rest
			default:
				return errStatus(http.StatusUnauthorized, CodeTOTPRequired, "a two-factor code (totp) or a recovery code is required")
			}
			if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil {
				return err
			}
		}
		name := in.TokenName
		if name == "" {
			name = "login " + time.Now().UTC().Format(time.RFC3339)
		}
		secret, tok = newToken(name, &u, in.TTL)
		return store.PutJSON(ctx, s.st, store.Tokens, tok.ID, tok)
	})
	if err != nil {
		return err
	}
	outcome = auth.Succeeded
	s.log.Info("login", "username", u.Username, "user", u.ID, "token", tok.ID, "client", clientIP(r))
	v := viewToken(tok)
	v.Token = secret
	writeJSON(w, http.StatusCreated, v)
	return nil
}
