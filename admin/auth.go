package admin

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/trunkline/trunkline/store"
)

// TokenPrefix starts every API token secret, so a leaked one is easy to
// recognise and to scan for.
const TokenPrefix = "tl_"

// EnsureToken makes sure an API token exists. If the tokens collection is
// empty it creates one from 32 random bytes, stores only its SHA-256 and
// returns the secret with created true: the caller shows it once, since it
// cannot be recovered. Otherwise it returns "", false.
func EnsureToken(ctx context.Context, st store.Store) (secret string, created bool, err error) {
	docs, err := st.List(ctx, store.Tokens)
	if err != nil {
		return "", false, fmt.Errorf("listing api tokens: %w", err)
	}
	if len(docs) > 0 {
		return "", false, nil
	}
	secret, err = CreateToken(ctx, st, "initial")
	return secret, err == nil, err
}

// CreateToken stores a new admin token named name, of no user (like the
// initial one), and returns its secret: only its SHA-256 is kept. It is
// how an operator who lost every token gets one back (trunkline token
// create, with the switch stopped or on a shared store).
func CreateToken(ctx context.Context, st store.Store, name string) (string, error) {
	var b [32]byte
	rand.Read(b[:])
	secret := TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	tok := store.Token{ID: store.NewID(), Name: name, SHA256: hashToken(secret), Created: time.Now().Unix()}
	if err := store.PutJSON(ctx, st, store.Tokens, tok.ID, tok); err != nil {
		return "", fmt.Errorf("storing the api token: %w", err)
	}
	host, _ := os.Hostname()
	if err := RecordAudit(ctx, st, AuditEntry{Role: RoleAdmin, TokenID: tok.ID, Client: "local: " + host,
		Method: "CREATE", Path: "token " + name, Route: "trunkline token create", Status: http.StatusCreated,
		After: auditJSON(mustJSON(viewToken(tok)))}); err != nil {
		return "", fmt.Errorf("recording the api token in the audit log: %w", err)
	}
	return secret, nil
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// authenticate lets a request for the route pattern through only with a
// bearer token whose SHA-256 matches a stored, unexpired token, and only if
// the token's identity may use the route (see authorize). Every stored hash
// is compared in constant time, so timing tells nothing about which (or how
// much of one) matched. Public routes (login) need no token.
func (s *Server) authenticate(pattern string, next http.Handler) http.Handler {
	if publicRoutes[pattern] {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, ok, err := s.principalFor(r.Context(), bearer(r))
		if err != nil {
			s.log.Error("checking api token", "err", err)
			writeError(w, errStatus(http.StatusInternalServerError, CodeInternal, "checking the api token failed"))
			return
		}
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="trunkline"`)
			writeError(w, errStatus(http.StatusUnauthorized, CodeUnauthorized, "a valid bearer token is required"))
			return
		}
		if err := authorize(p, pattern, r); err != nil {
			writeError(w, asError(err))
			return
		}
		if p.role == RoleCustomer {
			w = &customerWriter{w}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), principalKey{}, p)))
	})
}

// principalFor finds the token whose secret is given and the identity it
// acts for: the token's user, with the user's current role, or the
// bootstrap admin for a token without a user. An expired token, or one
// whose user is gone, is no token.
func (s *Server) principalFor(ctx context.Context, secret string) (principal, bool, error) {
	if secret == "" {
		return principal{}, false, nil
	}
	toks, err := store.ListJSON[store.Token](ctx, s.st, store.Tokens)
	if err != nil {
		return principal{}, false, err
	}
	sum := sha256.Sum256([]byte(secret))
	found := -1
	for i, t := range toks {
		want, err := hex.DecodeString(t.SHA256)
		if err != nil || len(want) != sha256.Size {
			continue
		}
		if subtle.ConstantTimeCompare(sum[:], want) == 1 {
			found = i
		}
	}
	if found < 0 {
		return principal{}, false, nil
	}
	t := toks[found]
	if t.Expires != 0 && time.Now().Unix() >= t.Expires {
		return principal{}, false, nil
	}
	p := principal{tokenID: t.ID, role: RoleAdmin}
	if t.UserID == "" {
		return p, true, nil
	}
	u, err := store.GetJSON[store.User](ctx, s.st, store.Users, t.UserID)
	if isNotFound(err) {
		return principal{}, false, nil
	}
	if err != nil {
		return principal{}, false, err
	}
	p.userID, p.username, p.role, p.customerID = u.ID, u.Username, u.Role, u.CustomerID
	return p, true, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
