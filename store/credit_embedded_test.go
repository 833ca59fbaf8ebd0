package store_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

func TestEmbeddedCredit(t *testing.T) {
	var mu sync.Mutex
	dirs := map[store.Credit]string{} // each Credit's data directory, for Reopen
	embeddeds := map[store.Credit]*store.Embedded{}
	openDir := func(t *testing.T, dir string) store.Credit {
		e, err := store.OpenEmbedded(dir)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		c := e.Credit()
		mu.Lock()
		dirs[c], embeddeds[c] = dir, e
		mu.Unlock()
		return c
	}
	storetest.RunCredit(t, func(t *testing.T) store.Credit {
		return openDir(t, filepath.Join(t.TempDir(), "data"))
	}, storetest.CreditRestart{
		Reopen: func(t *testing.T, c store.Credit) store.Credit {
			mu.Lock()
			dir, e := dirs[c], embeddeds[c]
			mu.Unlock()
			if err := e.Close(); err != nil {
				t.Fatal(err)
			}
			return openDir(t, dir)
		},
	})
}
