package admin_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// env is an admin server over a real embedded store in a temp dir.
type env struct {
	t       *testing.T
	st      store.Store
	credit  store.Credit // the store's, whether or not the server has it
	h       http.Handler
	token   string
	changes atomic.Int32
	failing atomic.Bool // when set, OnChange fails
}

func newEnv(t *testing.T, opts ...admin.Option) *env {
	t.Helper()
	return newEnvWith(t, func(*store.Embedded) []admin.Option { return opts })
}

// newCreditEnv is newEnv with the embedded store's Credit behind the
// money endpoints, and more options.
func newCreditEnv(t *testing.T, opts ...admin.Option) *env {
	t.Helper()
	return newEnvWith(t, func(st *store.Embedded) []admin.Option {
		return append([]admin.Option{admin.WithCredit(st.Credit())}, opts...)
	})
}

// newEnvWith is newEnv with options that need the store.
func newEnvWith(t *testing.T, optsFor func(*store.Embedded) []admin.Option) *env {
	t.Helper()
	st, err := store.OpenEmbedded(filepath.Join(t.TempDir(), "data"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	secret, created, err := admin.EnsureToken(t.Context(), st)
	if err != nil || !created {
		t.Fatalf("EnsureToken = %q, %v, %v", secret, created, err)
	}
	e := &env{t: t, st: st, credit: st.Credit(), token: secret}
	opts := append([]admin.Option{admin.WithOnChange(func(ctx context.Context) error {
		e.changes.Add(1)
		if e.failing.Load() {
			return errors.New("trie rebuild exploded")
		}
		return nil
	})}, optsFor(st)...)
	e.h = admin.New(st, opts...).Handler()
	return e
}

// req sends a request with the env's token. body is sent as is when it is
// a string, else encoded as JSON.
func (e *env) req(method, path string, body any) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.send(method, path, body, "Bearer "+e.token, "application/json")
}

// reqWith is req with more headers.
func (e *env) reqWith(method, path string, body any, headers map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	return e.send(method, path, body, "Bearer "+e.token, "application/json", headers)
}

func (e *env) send(method, path string, body any, auth, ctype string, headers ...map[string]string) *httptest.ResponseRecorder {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	default:
		j, err := json.Marshal(b)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = strings.NewReader(string(j))
	}
	r := httptest.NewRequest(method, path, rd)
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	if rd != nil && ctype != "" {
		r.Header.Set("Content-Type", ctype)
	}
	for _, h := range headers {
		for k, v := range h {
			r.Header.Set(k, v)
		}
	}
	w := httptest.NewRecorder()
	e.h.ServeHTTP(w, r)
	return w
}

// create POSTs body to path, expects 201 and returns the new id.
func (e *env) create(path string, body any) string {
	e.t.Helper()
	w := e.req("POST", path, body)
	if w.Code != http.StatusCreated {
		e.t.Fatalf("POST %s = %d %s", path, w.Code, w.Body)
	}
	var v struct{ ID string }
	decode(e.t, w, &v)
	if v.ID == "" {
		e.t.Fatalf("POST %s: no id in %s", path, w.Body)
	}
	if loc := w.Header().Get("Location"); !strings.HasSuffix(loc, "/"+v.ID) {
		e.t.Errorf("POST %s: Location = %q", path, loc)
	}
	return v.ID
}

func decode(t *testing.T, w *httptest.ResponseRecorder, v any) {
	t.Helper()
	if ct := w.Header().Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type = %q, want application/json", ct)
	}
	if err := json.Unmarshal(w.Body.Bytes(), v); err != nil {
		t.Fatalf("decoding %s: %v", w.Body, err)
	}
}

type apiError struct {
	Code    string           `json:"code"`
	Message string           `json:"message"`
	Field   string           `json:"field"`
	Rows    []admin.RowError `json:"rows"`
}

// wantError checks an error response's status, code and (if not "") field.
func wantError(t *testing.T, w *httptest.ResponseRecorder, status int, code, field string) apiError {
	t.Helper()
	var body struct{ Error apiError }
	decode(t, w, &body)
	if w.Code != status || body.Error.Code != code || (field != "" && body.Error.Field != field) {
		t.Errorf("got %d %s field %q (%s), want %d %s field %q",
			w.Code, body.Error.Code, body.Error.Field, body.Error.Message, status, code, field)
	}
	if body.Error.Message == "" {
		t.Errorf("error without message: %s", w.Body)
	}
	return body.Error
}

func wantStatus(t *testing.T, w *httptest.ResponseRecorder, status int) {
	t.Helper()
	if w.Code != status {
		t.Fatalf("status = %d, want %d; body %s", w.Code, status, w.Body)
	}
}

func TestUnmatched(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.req("GET", "/api/v1/nope", nil), 404, admin.CodeNotFound, "")
	w := e.req("PATCH", "/api/v1/customers", nil)
	wantError(t, w, 405, admin.CodeMethodNotAllowed, "")
	if allow := w.Header().Get("Allow"); !strings.Contains(allow, "POST") || !strings.Contains(allow, "GET") {
		t.Errorf("Allow = %q", allow)
	}
}

func TestOnChange(t *testing.T) {
	e := newEnv(t)
	id := e.create("/api/v1/customers", map[string]any{"name": "Acme", "currency": "EUR"})
	e.req("GET", "/api/v1/customers/"+id, nil)
	e.req("GET", "/api/v1/customers", nil)
	if n := e.changes.Load(); n != 1 {
		t.Fatalf("OnChange called %d times after one write and two reads", n)
	}
	wantError(t, e.req("POST", "/api/v1/customers", map[string]any{"name": ""}), 400, admin.CodeInvalid, "name")
	if n := e.changes.Load(); n != 1 {
		t.Fatalf("OnChange called after a refused write (%d calls)", n)
	}
	e.failing.Store(true)
	w := e.req("PUT", "/api/v1/customers/"+id, map[string]any{"name": "Acme 2"})
	er := wantError(t, w, 500, admin.CodeOnChange, "")
	if !strings.Contains(er.Message, "trie rebuild exploded") {
		t.Errorf("message %q does not carry the hook's error", er.Message)
	}
	e.failing.Store(false)
	var c store.Customer
	decode(t, e.req("GET", "/api/v1/customers/"+id, nil), &c)
	if c.Name != "Acme 2" {
		t.Errorf("write was not kept after OnChange failed: %+v", c)
	}
	wantStatus(t, e.req("DELETE", "/api/v1/customers/"+id, nil), 204)
	if n := e.changes.Load(); n != 3 {
		t.Errorf("OnChange calls = %d, want 3", n)
	}
}
