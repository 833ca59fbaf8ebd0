package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
)

// Export secrets an earlier version stored in clear are sealed at start;
// sealed ones that do not open with the key are named.
func TestSealStoredSecrets(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	old := store.Export{ID: "x1", CustomerID: "c", Protocol: "ftp", Host: "h", Username: "u", Password: "clear pw"}
	if err := store.PutJSON(ctx, st, store.Exports, old.ID, old); err != nil {
		t.Fatal(err)
	}
	sealer, _ := auth.NewSealer(bytes.Repeat([]byte{1}, auth.SealKeySize))
	if err := sealStoredSecrets(ctx, st, sealer); err != nil {
		t.Fatal(err)
	}
	x, _ := store.GetJSON[store.Export](ctx, st, store.Exports, "x1")
	if pw, err := sealer.Open(x.Password, cdr.SecretContext(&x, "password")); !auth.IsSealed(x.Password) || pw != "clear pw" || err != nil {
		t.Fatalf("after start: %+v (%q, %v)", x, pw, err)
	}
	other, _ := auth.NewSealer(bytes.Repeat([]byte{2}, auth.SealKeySize))
	if err := sealStoredSecrets(ctx, st, other); err == nil || !strings.Contains(err.Error(), "export x1 password") {
		t.Fatalf("another key: %v", err)
	}
}
