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
	var b [32]byte
	rand.Read(b[:])
	secret = TokenPrefix + base64.RawURLEncoding.EncodeToString(b[:])
	tok := store.Token{ID: store.NewID(), Name: "initial", SHA256: hashToken(secret), Created: time.Now().Unix()}
	if err := store.PutJSON(ctx, st, store.Tokens, tok.ID, tok); err != nil {
		return "", false, fmt.Errorf("storing the initial api token: %w", err)
	}
	return secret, true, nil
}

func hashToken(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// authenticate lets a request through only with a bearer token whose SHA-256
// matches a stored token. Every stored hash is compared in constant time, so
// timing tells nothing about which (or how much of one) matched.
func (s *Server) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok, err := s.validToken(r.Context(), bearer(r))
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
		next.ServeHTTP(w, r)
	})
}

func (s *Server) validToken(ctx context.Context, secret string) (bool, error) {
	if secret == "" {
		return false, nil
	}
	toks, err := store.ListJSON[store.Token](ctx, s.st, store.Tokens)
	if err != nil {
		return false, err
	}
	sum := sha256.Sum256([]byte(secret))
	found := 0
	for _, t := range toks {
		want, err := hex.DecodeString(t.SHA256)
		if err != nil || len(want) != sha256.Size {
			continue
		}
		found |= subtle.ConstantTimeCompare(sum[:], want)
	}
	return found == 1, nil
}

// bearer returns the token of an "Authorization: Bearer <token>" header.
func bearer(r *http.Request) string {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(tok)
}
