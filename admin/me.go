package admin

import (
	"context"
	"errors"
	"net/http"
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

// changePassword sets a new password for the caller, given the old one.
// Wrong old passwords count towards the login throttle.
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
	key := "user:" + p.username
	if _, locked := s.loginThrottle().Locked(key); locked {
		return errStatus(http.StatusTooManyRequests, CodeTooMany, "too many failed attempts; try again later")
	}
	hash := auth.HashPassword(in.New, s.argon())
	err := s.write(r, func(ctx context.Context) error {
		u, err := load[store.User](ctx, s.st, store.Users, "user", p.userID)
		if err != nil {
			return err
		}
		if err := auth.CheckPassword(in.Old, u.PasswordHash); err != nil {
			if errors.Is(err, auth.ErrBadPassword) {
				s.loginThrottle().Fail(key)
				e := errStatus(http.StatusForbidden, CodeForbidden, "old_password is wrong")
				e.Field = "old_password"
				return e
			}
			return err
		}
		u.PasswordHash = hash
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
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
		return store.PutJSON(ctx, s.st, store.Users, u.ID, u)
	})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"totp_enabled": true, "recovery_codes": codes})
	return nil
}
