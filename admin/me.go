package admin

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store"
)

const recoveryCodeCount = 10

// TOTPIssuer names the switch in authenticator apps.
const TOTPIssuer = "Trunkline"

// me describes the caller: its user, or the bootstrap admin.
func (s *Server) me(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if p.userID == "" {
		writeJSON(w, http.StatusOK, map[string]any{"role": p.role, "bootstrap": true})
		return nil
	}
	u, err := load[store.User](r.Context(), s.st, store.Users, "user", p.userID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewUser(u))
	return nil
}

func needUser(p principal) error {
	if p.userID == "" {
		return errStatus(http.StatusBadRequest, CodeInvalid, "this token belongs to no user; log in as one")
	}
	return nil
}

// changePassword sets a new password for the caller, given the old one,
// and revokes the caller's other tokens (a password change is what one
// does when a token or the password may have leaked). Wrong old passwords
// count towards the login throttle.
func (s *Server) changePassword(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Old string `json:"old_password"`
		New string `json:"new_password"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := validPassword("new_password", in.New); err != nil {
		return err
	}
	u, attempt, err := s.checkOwnPassword(w, r, p, "old_password", in.Old)
	if err != nil {
		return err
	}
	attempt.End(auth.Succeeded)
	hash := auth.HashPassword(in.New, s.argon())
	revoked := 0
	err = s.write(r, func(ctx context.Context) error {
		cur, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		if cur.PasswordHash != u.PasswordHash {
			return errConflict("old_password", "the password changed meanwhile; try again")
		}
		cur.PasswordHash = hash
		if err := store.PutJSON(ctx, s.st, store.Users, cur.ID, cur); err != nil {
			return err
		}
		revoked, err = s.revokeTokens(ctx, cur.ID, p.tokenID)
		return err
	})
	if err != nil {
		return err
	}
	s.log.Info("password changed; the user's other tokens revoked", "user", p.userID, "tokens", revoked)
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// checkOwnPassword checks the caller's password pw (named field in the
// request) before a change of credentials, and returns the caller's user
// and the throttle's attempt, which the caller ends (a wrong password ends
// it, counted, and is an error).
func (s *Server) checkOwnPassword(w http.ResponseWriter, r *http.Request, p principal, field, pw string) (store.User, *auth.Attempt, error) {
	attempt, wait, ok := s.loginThrottle().Begin(p.username, throttleSource(r))
	if !ok {
		w.Header().Set("Retry-After", strconv.Itoa(int(wait.Seconds())+1))
		return store.User{}, nil, errStatus(http.StatusTooManyRequests, CodeTooMany, "too many failed attempts; try again later")
	}
	fail := func(o auth.Outcome, err error) (store.User, *auth.Attempt, error) {
		attempt.End(o)
		return store.User{}, nil, err
	}
	u, err := load[store.User](r.Context(), s.st, store.Users, "user", p.userID)
	if err != nil {
		return fail(auth.Aborted, err)
	}
	ctx, cancel := context.WithTimeout(r.Context(), hashWait)
	err = auth.CheckPassword(ctx, pw, u.PasswordHash)
	cancel()
	switch {
	case errors.Is(err, auth.ErrBadPassword):
		e := errStatus(http.StatusForbidden, CodeForbidden, "%s is wrong", field)
		e.Field = field
		return fail(auth.Failed, e)
	case errors.Is(err, auth.ErrBusy):
		w.Header().Set("Retry-After", "1")
		return fail(auth.Aborted, errStatus(http.StatusServiceUnavailable, CodeUnavailable, "too many password checks at once; try again"))
	case err != nil:
		return fail(auth.Aborted, err)
	}
	return u, attempt, nil
}

// enableTOTP starts two-factor set-up: it stores a new secret, pending
// until confirmed, and returns it with its otpauth:// URI (for a QR code).
func (s *Server) enableTOTP(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var secret, uri string
	err := s.write(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled {
			return errConflict("totp", "two-factor is already enabled; an admin can reset it")
		}
		if secret, uri, err = auth.NewTOTP(TOTPIssuer, u.Username); err != nil {
			return err
		}
		u.TOTPSecret = secret
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret, "uri": uri})
	return nil
}

// confirmTOTP enables two-factor once the caller proves, with a code, that
// its app holds the pending secret; it returns the recovery codes, shown
// only this once.
func (s *Server) confirmTOTP(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	if err := needUser(p); err != nil {
		return err
	}
	var in struct {
		Code string `json:"code"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	var codes []string
	err := s.write(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		if u.TOTPEnabled {
			return errConflict("totp", "two-factor is already enabled")
		}
		if u.TOTPSecret == "" {
			return errConflict("totp", "start with POST /api/v1/me/totp")
		}
		step, ok := auth.CheckTOTP(u.TOTPSecret, in.Code, time.Now(), 0)
		if !ok {
			return errInvalid("code", "wrong code")
		}
		var hashes []string
		codes, hashes = auth.NewRecoveryCodes(recoveryCodeCount)
		u.TOTPEnabled, u.TOTPLastStep, u.RecoveryCodes = true, step, hashes
		if err := store.PutJSON(ctx, s.st, store.Users, u.ID, u); err != nil {
			return err
		}
		// Tokens issued on the password alone are not two-factor ones.
		_, err = s.revokeTokens(ctx, u.ID, p.tokenID)
		return err
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"totp_enabled": true, "recovery_codes": codes})
	return nil
}
