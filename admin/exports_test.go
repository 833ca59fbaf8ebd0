package admin_test

import (
	"bytes"
	"net"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
)

func TestExportsCRUDAndRuns(t *testing.T) {
	j, err := cdr.OpenJournal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	sealer, err := auth.NewSealer(bytes.Repeat([]byte{7}, auth.SealKeySize))
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, admin.WithCDRs(j), admin.WithSealer(sealer))
	cust := e.create("/api/v1/customers", map[string]any{"name": "Berlin", "currency": "EUR", "timezone": "Europe/Berlin"})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	good := func() map[string]any {
		return map[string]any{"customer_id": cust, "protocol": "ftp", "host": "127.0.0.1", "port": closed,
			"username": "u", "password": "secret", "remote_dir": "out/cdrs", "fields": []string{"call_id", "sell_cost"},
			"frequency": "weekly"}
	}
	for _, bad := range []struct {
		key   string
		value any
	}{
		{"customer_id", "nobody"}, {"protocol", "scp"}, {"host", ""}, {"port", 70000}, {"username", ""},
		{"password", ""}, {"remote_dir", "../etc"}, {"fields", []string{"nope"}}, {"format", "xlsx"},
		{"frequency", "hourly"}, {"host_key", "not a key"}, {"private_key", "junk"},
	} {
		body := good()
		body[bad.key] = bad.value
		wantError(t, e.req("POST", "/api/v1/exports", body), 400, admin.CodeInvalid, bad.key)
	}
	id := e.create("/api/v1/exports", good())
	var x map[string]any
	w := e.req("GET", "/api/v1/exports/"+id, nil)
	wantStatus(t, w, 200)
	decode(t, w, &x)
	if x["password"] != nil || x["has_password"] != true || x["format"] != "csv" || x["port"] != float64(closed) {
		t.Errorf("export as shown: %v", x)
	}
	// PUT without the password keeps it.
	body := good()
	delete(body, "password")
	body["format"] = "csv.gz"
	wantStatus(t, e.req("PUT", "/api/v1/exports/"+id, body), 200)
	stored, _ := store.GetJSON[store.Export](t.Context(), e.st, store.Exports, id)
	if pw, err := sealer.Open(stored.Password, cdr.SecretContext(&stored, "password")); err != nil || pw != "secret" || stored.Format != "csv.gz" {
		t.Errorf("stored after PUT: %+v (password %q, %v)", stored, pw, err)
	}
	// Pointed at another server, the export needs its password again: a
	// stored secret goes only where it was given for.
	moved := good()
	delete(moved, "password")
	moved["host"] = "127.0.0.9"
	wantError(t, e.req("PUT", "/api/v1/exports/"+id, moved), 400, admin.CodeInvalid, "password")
	// A sealed secret copied to another server's context does not open.
	other := stored
	other.Host = "203.0.113.1"
	if _, err := sealer.Open(stored.Password, cdr.SecretContext(&other, "password")); err == nil {
		t.Error("a sealed password opened for another host")
	}
	// At rest the password is sealed: the store holds no clear secret.
	docs, _ := e.st.List(t.Context(), store.Exports)
	for _, d := range docs {
		if bytes.Contains(d.Data, []byte("secret")) || !bytes.Contains(d.Data, []byte("sealed:v1:")) {
			t.Errorf("export stored as %s", d.Data)
		}
	}
	// A client cannot hand in a sealed value; a switch without a key
	// refuses secrets rather than keep them in clear.
	body = good()
	body["password"] = stored.Password
	wantError(t, e.req("POST", "/api/v1/exports", body), 400, admin.CodeInvalid, "password")
	bare := newEnv(t, admin.WithCDRs(j))
	body = good()
	body["customer_id"] = bare.create("/api/v1/customers", map[string]any{"name": "Berlin", "currency": "EUR"})
	wantError(t, bare.req("POST", "/api/v1/exports", body), 400, admin.CodeInvalid, "password")
	// A run against a server that is down fails, and is logged.
	wantError(t, e.req("POST", "/api/v1/exports/"+id+"/run?period=2026-W99", nil), 400, admin.CodeInvalid, "period")
	apiErr := wantError(t, e.req("POST", "/api/v1/exports/"+id+"/run?period=2026-W10", nil), 502, admin.CodeExportFailed, "")
	if !strings.Contains(apiErr.Message, "connection refused") {
		t.Errorf("run error: %s", apiErr.Message)
	}
	var runs struct{ Runs []store.ExportRun }
	w = e.req("GET", "/api/v1/exports/"+id+"/runs", nil)
	wantStatus(t, w, 200)
	decode(t, w, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].Status != "failed" || runs.Runs[0].Period != "2026-W10" ||
		runs.Runs[0].File != "cdrs_"+cust+"_2026-W10.csv.gz" {
		t.Errorf("runs %+v", runs.Runs)
	}
	var list struct{ Exports []map[string]any }
	w = e.req("GET", "/api/v1/exports?customer="+cust, nil)
	wantStatus(t, w, 200)
	decode(t, w, &list)
	if len(list.Exports) != 1 || list.Exports[0]["password"] != nil {
		t.Errorf("list %v", list.Exports)
	}
	wantStatus(t, e.req("DELETE", "/api/v1/exports/"+id, nil), 204)
	wantError(t, e.req("GET", "/api/v1/exports/"+id, nil), 404, admin.CodeNotFound, "")
}
