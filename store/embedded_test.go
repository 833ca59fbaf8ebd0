package store_test

import (
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

func TestEmbedded(t *testing.T) {
	var mu sync.Mutex
	dirs := map[*testing.T]string{} // one data directory per subtest, reused on reopen
	storetest.Run(t, func(t *testing.T) store.Store {
		mu.Lock()
		dir, ok := dirs[t]
		if !ok {
			dir = filepath.Join(t.TempDir(), "data")
			dirs[t] = dir
		}
		mu.Unlock()
		s, err := store.OpenEmbedded(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	})
}

func TestOpenEmbeddedCreatesPrivateDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	s, err := store.OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		t.Errorf("data directory mode = %v, want no group/other access", perm)
	}
	if s.Path() != filepath.Join(dir, store.EmbeddedFile) {
		t.Errorf("Path() = %q", s.Path())
	}
	if _, err := os.Stat(filepath.Join(dir, store.EmbeddedFile)); err != nil {
		t.Errorf("database file: %v", err)
	}
}

func TestOpenEmbeddedLocked(t *testing.T) {
	dir := t.TempDir()
	s, err := store.OpenEmbedded(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if s2, err := store.OpenEmbedded(dir); err == nil {
		s2.Close()
		t.Fatal("second OpenEmbedded of the same directory succeeded")
	}
}

func TestOpenEmbeddedBadDir(t *testing.T) {
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := store.OpenEmbedded(filepath.Join(file, "sub")); err == nil {
		t.Fatal("OpenEmbedded under a regular file succeeded")
	}
}

func TestNewID(t *testing.T) {
	re := regexp.MustCompile(`^[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := store.NewID()
		if !re.MatchString(id) {
			t.Fatalf("NewID() = %q, want 12 hex characters", id)
		}
		if seen[id] {
			t.Fatalf("NewID() repeated %q", id)
		}
		seen[id] = true
	}
}
