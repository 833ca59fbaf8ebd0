package admin

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"net/http"
	"time"

	"github.com/trunkline/trunkline/store"
)

const maxTokenTTL = 10 * 365 * 24 * 3600 // seconds

// tokenView is a token as the API shows it: never its hash.
type tokenView struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	UserID     string `json:"user_id,omitempty"`
	Role       string `json:"role,omitempty"`
	CustomerID string `json:"customer_id,omitempty"`
	Created    int64  `json:"created"`
	Expires    int64  `json:"expires,omitempty"`
	Token      string `json:"token,omitempty"` // the secret, only when issued
}

func viewToken(t store.Token) tokenView {
	return tokenView{ID: t.ID, Name: t.Name, UserID: t.UserID, Role: t.Role, CustomerID: t.CustomerID, Created: t.Created, Expires: t.Expires}
}

// newToken makes a token for u (nil: a bootstrap-style admin token) that
// expires after ttl seconds (0: never); it returns the secret, shown once.
func newToken(name string, u *store.User, ttl int64) (string, store.Token) {
	var b [32]byte
	rand.Read(b[:])
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	now := time.Now().Unix()
	t := store.Token{ID: store.NewID(), Name: name, SHA256: hashToken(secret), Created: now}
	if u != nil {
		t.UserID, t.Role, t.CustomerID = u.ID, u.Role, u.CustomerID
	}
	if ttl > 0 {
		t.Expires = now + ttl
	}
	return secret, t
}

func validTTL(ttl int64) error {
	if ttl < 0 || ttl > maxTokenTTL {
		return errInvalid("ttl_seconds", "must be between 0 (no expiry) and %d", maxTokenTTL)
	}
	return nil
}

// listTokens lists every token for an admin, the caller's own otherwise.
func (s *Server) listTokens(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	toks, err := listWhere(r.Context(), s.st, store.Tokens, func(t store.Token) bool {
		return p.role == RoleAdmin || (p.userID != "" && t.UserID == p.userID)
	})
	if err != nil {
		return err
	}
	out := make([]tokenView, 0, len(toks))
	for _, t := range toks {
		out = append(out, viewToken(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"tokens": out})
	return nil
}

// createToken issues a token for the caller, or for user_id when an admin
// asks.
func (s *Server) createToken(w http.ResponseWriter, r *http.Request) error {
	p := principalOf(r)
	var in struct {
		Name   string `json:"name"`
		UserID string `json:"user_id,omitempty"`
		TTL    int64  `json:"ttl_seconds,omitempty"`
	}
	if err := decodeBody(w, r, maxJSONBody, &in); err != nil {
		return err
	}
	if err := validName("name", in.Name); err != nil {
		return err
	}
	if err := validTTL(in.TTL); err != nil {
		return err
	}
	uid := p.userID
	if in.UserID != "" {
		if p.role != RoleAdmin && in.UserID != p.userID {
			return errStatus(http.StatusForbidden, CodeForbidden, "only an admin may issue tokens for another user")
		}
		uid = in.UserID
	}
	var secret string
	var tok store.Token
	err := s.write(r, func(ctx context.Context) error {
		var u *store.User
		if uid != "" {
			got, err := load[store.User](ctx, s.st, store.Users, "user", uid)
			if err != nil {
				return err
			}
			u = &got
		}
		secret, tok = newToken(in.Name, u, in.TTL)
		return store.PutJSON(ctx, s.st, store.Tokens, tok.ID, tok)
	})
	if err != nil {
		return err
	}
	v := viewToken(tok)
	v.Token = secret
	w.Header().Set("Location", "/api/v1/tokens/"+tok.ID)
	writeJSON(w, http.StatusCreated, v)
	return nil
}

// deleteToken revokes a token: at once, since every request reads the
// token table. Non-admins may revoke only their own.
func (s *Server) deleteToken(w http.ResponseWriter, r *http.Request) error {
	p, id := principalOf(r), r.PathValue("id")
	err := s.write(r, func(ctx context.Context) error {
		t, err := load[store.Token](ctx, s.st, store.Tokens, "token", id)
		if err != nil {
			return err
		}
		if p.role != RoleAdmin && (p.userID == "" || t.UserID != p.userID) {
			return errNotFound("token", id)
		}
		return remove(ctx, s.st, store.Tokens, "token", id)
	})
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
