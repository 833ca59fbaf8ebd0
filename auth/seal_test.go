package auth

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestSealer(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "keys", "secret.key")
	key, err := LoadSealKeyFile(path, true)
	if err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file %v %v", fi, err)
	}
	again, err := LoadSealKeyFile(path, true)
	if err != nil || string(again) != string(key) {
		t.Fatalf("the key file read back: %v", err)
	}
	s, err := NewSealer(key)
	if err != nil {
		t.Fatal(err)
	}
	sealed := s.Seal("hunter2 pass", "export/x1/password")
	if !IsSealed(sealed) || strings.Contains(sealed, "hunter2") || sealed == s.Seal("hunter2 pass", "export/x1/password") {
		t.Fatalf("sealed %q", sealed)
	}
	if v, err := s.Open(sealed, "export/x1/password"); err != nil || v != "hunter2 pass" {
		t.Fatalf("open: %q %v", v, err)
	}
	if _, err := s.Open(sealed, "export/x2/password"); !errors.Is(err, ErrUnseal) {
		t.Fatalf("opened for another record: %v", err)
	}
	other, _ := NewSealer(make([]byte, SealKeySize))
	if _, err := other.Open(sealed, "export/x1/password"); !errors.Is(err, ErrUnseal) {
		t.Fatalf("opened with another key: %v", err)
	}
	if v, err := s.Open("legacy plain", "x"); err != nil || v != "legacy plain" {
		t.Fatalf("a value stored before sealing: %q %v", v, err)
	}
	if s.Seal("", "x") != "" {
		t.Fatal("empty sealed")
	}
	for _, bad := range []string{"short", strings.Repeat("z", 64), ""} {
		if _, err := ParseSealKey(bad); err == nil {
			t.Errorf("key %q accepted", bad)
		}
	}
	if _, err := LoadSealKeyFile(filepath.Join(dir, "none"), false); err == nil {
		t.Fatal("a missing key file without create")
	}
}
