package admin_test

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestEnsureToken(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	st, err := store.OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	secret, created, err := admin.EnsureToken(t.Context(), st)
	if err != nil || !created {
		t.Fatalf("first EnsureToken = %v, %v", created, err)
	}
	if !strings.HasPrefix(secret, admin.TokenPrefix) || len(secret) < len(admin.TokenPrefix)+43 {
		t.Errorf("secret %q: want tl_ and 32 random bytes", secret)
	}
	toks, err := store.ListJSON[store.Token](t.Context(), st, store.Tokens)
	if err != nil || len(toks) != 1 {
		t.Fatalf("tokens = %+v, %v", toks, err)
	}
	sum := sha256.Sum256([]byte(secret))
	if toks[0].SHA256 != hex.EncodeToString(sum[:]) {
		t.Errorf("stored hash %q is not the SHA-256 of the secret", toks[0].SHA256)
	}
	docs, _ := st.List(t.Context(), store.Tokens)
	if strings.Contains(string(docs[0].Data), secret) {
		t.Error("the secret itself was stored")
	}
	st.Close()

	st, err = store.OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	again, created, err := admin.EnsureToken(t.Context(), st)
	if err != nil || created || again != "" {
		t.Errorf("second EnsureToken = %q, %v, %v; want nothing new", again, created, err)
	}
}

func TestAuth(t *testing.T) {
	e := newEnv(t)
	tests := []struct {
		name string
		auth string
		want int
	}{
		{"valid", "Bearer " + e.token, 200},
		{"scheme case", "bearer " + e.token, 200},
		{"missing", "", 401},
		{"wrong token", "Bearer tl_wrong", 401},
		{"token prefix only", "Bearer " + e.token[:10], 401},
		{"token with more", "Bearer " + e.token + "x", 401},
		{"basic", "Basic " + e.token, 401},
		{"no scheme", e.token, 401},
		{"empty bearer", "Bearer ", 401},
	}
	paths := []string{"/api/v1/customers", "/api/v1/carriers", "/api/v1/ratecards", "/api/v1/openapi.json"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, p := range paths {
				w := e.send("GET", p, nil, tt.auth, "")
				if tt.want == 200 {
					wantStatus(t, w, 200)
					continue
				}
				wantError(t, w, 401, admin.CodeUnauthorized, "")
				if w.Header().Get("WWW-Authenticate") == "" {
					t.Errorf("GET %s: 401 without WWW-Authenticate", p)
				}
			}
		})
	}
	// Writes are refused too, and change nothing.
	w := e.send("POST", "/api/v1/customers", `{"name":"A","currency":"EUR"}`, "Bearer nope", "application/json")
	wantError(t, w, 401, admin.CodeUnauthorized, "")
	if n := e.changes.Load(); n != 0 {
		t.Errorf("OnChange called %d times for a refused write", n)
	}
}

func TestOpenEndpoints(t *testing.T) {
	reg := prometheus.NewRegistry()
	ready := error(nil)
	e := newEnv(t, admin.WithRegistry(reg), admin.WithReady(func() error { return ready }))

	wantStatus(t, e.send("GET", "/healthz", nil, "", ""), 200)
	wantStatus(t, e.send("GET", "/readyz", nil, "", ""), 200)
	ready = errTest("store unreachable")
	w := e.send("GET", "/readyz", nil, "", "")
	if er := wantError(t, w, http.StatusServiceUnavailable, admin.CodeUnavailable, ""); !strings.Contains(er.Message, "store unreachable") {
		t.Errorf("readyz message %q", er.Message)
	}

	e.req("GET", "/api/v1/customers", nil)
	e.send("GET", "/api/v1/customers", nil, "", "")
	w = e.send("GET", "/metrics", nil, "", "")
	wantStatus(t, w, 200)
	for _, want := range []string{
		`trunkline_admin_requests_total{code="200",route="GET /api/v1/customers"} 1`,
		`trunkline_admin_requests_total{code="401",route="GET /api/v1/customers"} 1`,
		`trunkline_admin_requests_total{code="503",route="GET /readyz"} 1`,
		`trunkline_admin_request_duration_seconds_bucket{route="GET /api/v1/customers",le="+Inf"} 2`,
	} {
		if !strings.Contains(w.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

func TestNoMetricsWithoutRegistry(t *testing.T) {
	e := newEnv(t)
	wantError(t, e.send("GET", "/metrics", nil, "", ""), 404, admin.CodeNotFound, "")
	wantStatus(t, e.send("GET", "/readyz", nil, "", ""), 200)
}

type errTest string

func (e errTest) Error() string { return string(e) }
