package admin

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/trunkline/trunkline/store"
)

// AuditEntry is one admin change: who made it, when, through which
// request, and the resource before and after it (as GET shows it, secrets
// hidden).
type AuditEntry struct {
	ID       string          `json:"id"`
	At       int64           `json:"at_ms"` // unix milliseconds
	UserID   string          `json:"user_id,omitempty"`
	Username string          `json:"username,omitempty"` // "" for a token of no user (the initial one)
	Role     string          `json:"role"`
	TokenID  string          `json:"token_id"`
	Client   string          `json:"client"` // the request's source address
	Method   string          `json:"method"`
	Path     string          `json:"path"`
	Route    string          `json:"route"` // the API route, such as PUT /api/v1/customers/{id}
	Status   int             `json:"status"`
	Before   json.RawMessage `json:"before,omitempty"`
	After    json.RawMessage `json:"after,omitempty"`
}

// Audit limits.
const (
	maxAuditSnapshot = 16 << 10 // bytes of one before or after; more is cut to a note
	maxAuditEntries  = 20_000   // kept; the oldest go first (the store reads a collection whole)
	auditPruneEvery  = 200      // changes between prunes
	defaultAuditList = 100
	maxAuditList     = 1000
)

// secretKeys are never copied into the audit log, wherever they are.
var secretKeys = map[string]bool{
	"password": true, "new_password": true, "old_password": true, "private_key": true, "token": true,
	"password_hash": true, "totp_secret": true, "secret": true, "recovery_codes": true, "ha1_md5": true, "ha1_sha256": true,
	"uri": true, // an otpauth:// URI carries the TOTP secret
}

// audited records a successful change made through route (a write) in the
// audit log: the resource as GET shows it before and after, or the answer
// when there is no such GET. A deck of rates is recorded by its answer
// only (its rows could be a million).
func (s *Server) audited(route string, next http.Handler) http.Handler {
	method, pathPattern, _ := strings.Cut(route, " ")
	if method == http.MethodGet || publicRoutes[route] || route == "PUT /api/v1/me/timezone" || route == "POST /api/v1/me/passkeys/options" {
		return next // reads, logins (logged; their tokens are), a user's own display preference, a ceremony begun
	}
	// A deck is recorded by its answer (its rows could be a million); the
	// caller's own credentials (/me/…) by the request alone.
	snapshots := !strings.HasSuffix(pathPattern, "/rates")
	bodies := !strings.HasPrefix(pathPattern, "/api/v1/me/")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.URL.Query().Get("dry_run"); !snapshots && (v == "true" || v == "1") {
			next.ServeHTTP(w, r) // a deck checked, not stored: nothing changed
			return
		}
		var before []byte
		if snapshots && method != http.MethodPost {
			before = s.snapshot(r, r.URL.Path)
		}
		rec := &teeWriter{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		// A change saved whose application failed answers 500 (on_change):
		// it is made, so it is recorded.
		if rec.code() >= 300 && !bytes.Contains(rec.body.Bytes(), []byte(`"code":"`+CodeOnChange+`"`)) {
			return
		}
		if !bodies {
			s.audit(r, route, rec.code(), nil, nil)
			return
		}
		var after []byte
		switch {
		case !snapshots || method == http.MethodDelete:
		case method == http.MethodPost && rec.Header().Get("Location") != "":
			after = s.snapshot(r, rec.Header().Get("Location"))
		case method == http.MethodPost:
			after = rec.body.Bytes()
		default:
			after = s.snapshot(r, r.URL.Path)
		}
		if !snapshots {
			after = rec.body.Bytes()
		}
		s.audit(r, route, rec.code(), before, after)
	})
}

// snapshot returns what GET path answers the request's caller, or nil.
func (s *Server) snapshot(r *http.Request, path string) []byte {
	get, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), http.MethodGet, path, nil)
	if err != nil {
		return nil
	}
	if _, pattern := s.mux.Handler(get); !strings.HasPrefix(pattern, "GET ") {
		return nil
	}
	get.Header.Set("Authorization", r.Header.Get("Authorization"))
	rec := httptest.NewRecorder()
	s.mux.ServeHTTP(rec, get)
	if rec.Code != http.StatusOK {
		return nil
	}
	return rec.Body.Bytes()
}

// audit stores one entry (a failure to is logged: the change is made).
func (s *Server) audit(r *http.Request, route string, status int, before, after []byte) {
	p := principalOf(r)
	now := time.Now()
	e := AuditEntry{ID: fmt.Sprintf("%016x%s", now.UnixNano(), store.NewID()), At: now.UnixMilli(),
		UserID: p.userID, Username: p.username, Role: p.role, TokenID: p.tokenID, Client: clientIP(r),
		Method: r.Method, Path: r.URL.RequestURI(), Route: route, Status: status,
		Before: auditJSON(before), After: auditJSON(after)}
	s.log.Info("admin change", "user", p.username, "user_id", p.userID, "token", p.tokenID, "client", e.Client,
		"method", r.Method, "path", r.URL.Path, "status", status)
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), 5*time.Second)
	defer cancel()
	s.storeAudit(ctx, e)
}

// storeAudit stores e (a failure is logged: the change is made).
func (s *Server) storeAudit(ctx context.Context, e AuditEntry) {
	if err := RecordAudit(ctx, s.st, e); err != nil {
		s.log.Error("audit entry not stored", "path", e.Path, "error", err)
		return
	}
	if s.auditWrites.Add(1)%auditPruneEvery == 0 {
		s.pruneAudit(ctx)
	}
}

// RecordAudit stores e in the audit log of st, its id and time set now:
// for changes made outside the API (trunkline token create).
func RecordAudit(ctx context.Context, st store.Store, e AuditEntry) error {
	now := time.Now()
	e.ID, e.At = fmt.Sprintf("%016x%s", now.UnixNano(), store.NewID()), now.UnixMilli()
	return store.PutJSON(ctx, st, store.Audit, e.ID, e)
}

// auditJSON returns b, a JSON answer, without secrets and at most
// maxAuditSnapshot bytes (else a note of its size); nil for no JSON.
func auditJSON(b []byte) json.RawMessage {
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	if len(b) > maxAuditSnapshot {
		return json.RawMessage(fmt.Sprintf(`{"truncated":true,"bytes":%d}`, len(b)))
	}
	var v any
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if d.Decode(&v) != nil {
		return nil
	}
	scrub(v, secretKeys, func(m map[string]any, k string) { m[k] = "(hidden)" })
	out, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	return out
}

// pruneAudit drops the oldest entries beyond maxAuditEntries.
func (s *Server) pruneAudit(ctx context.Context) {
	docs, err := s.st.List(ctx, store.Audit)
	if err != nil || len(docs) <= maxAuditEntries {
		return
	}
	ids := make([]string, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	slices.Sort(ids) // ids begin with the time
	for _, id := range ids[:len(ids)-maxAuditEntries] {
		if err := s.st.Delete(ctx, store.Audit, id); err != nil && !isNotFound(err) {
			s.log.Warn("pruning the audit log", "error", err)
			return
		}
	}
}

// listAudit serves GET /api/v1/audit?user=&path=&method=&from=&to=&limit=:
// the changes, newest first. user is a username or user id, path a prefix
// of the request path, from and to times as for CDRs.
func (s *Server) listAudit(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := parseTimeParam("from", q.Get("from"))
	if err != nil {
		return err
	}
	to, err := parseTimeParam("to", q.Get("to"))
	if err != nil {
		return err
	}
	limit := defaultAuditList
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > maxAuditList {
			return errInvalid("limit", "must be a whole number from 1 to %d, got %q", maxAuditList, v)
		}
	}
	user, path, method := q.Get("user"), q.Get("path"), strings.ToUpper(q.Get("method"))
	entries, err := listWhere(r.Context(), s.st, store.Audit, func(e AuditEntry) bool {
		return (user == "" || e.Username == user || e.UserID == user) && strings.HasPrefix(e.Path, path) &&
			(method == "" || e.Method == method) && (from == 0 || e.At >= from) && (to == 0 || e.At < to)
	})
	if err != nil {
		return err
	}
	slices.SortFunc(entries, func(a, b AuditEntry) int { return strings.Compare(b.ID, a.ID) })
	if len(entries) > limit {
		entries = entries[:limit]
	}
	if entries == nil {
		entries = []AuditEntry{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entries})
	return nil
}

// teeWriter passes a response through and keeps its status and (up to
// maxAuditSnapshot+1 bytes of) its body.
type teeWriter struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (w *teeWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *teeWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	if room := maxAuditSnapshot + 1 - w.body.Len(); room > 0 {
		w.body.Write(b[:min(len(b), room)])
	}
	return w.ResponseWriter.Write(b)
}

func (w *teeWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *teeWriter) code() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// mustJSON is v as JSON (nil when it does not encode).
func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
