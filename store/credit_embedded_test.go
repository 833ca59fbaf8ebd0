package store_test

import (
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

func TestEmbeddedCredit(t *testing.T) {
	var mu sync.Mutex
	dirs := map[store.Credit]string{} // each Credit's data directory, for Reopen
	embeddeds := map[store.Credit]*store.Embedded{}
	openDir := func(t *testing.T, dir string) store.Credit {
		e, err := store.OpenEmbedded(dir, store.WithCreditCommitDelay(2*time.Millisecond))
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

// TestEmbeddedCreditBesideDocuments checks that ledgers and documents share
// the file without meeting: the ledger's bucket names are refused as
// collections, and collections list only their documents.
func TestEmbeddedCreditBesideDocuments(t *testing.T) {
	e, err := store.OpenEmbedded(t.TempDir(), store.WithCreditCommitDelay(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	ctx := t.Context()
	if err := e.Put(ctx, store.Customers, "c1", []byte(`{}`)); err != nil {
		t.Fatal(err)
	}
	for _, acct := range []string{"c1", store.Customers} {
		if _, err := e.Credit().Post(ctx, acct, "", store.Entry{Kind: "payment", Key: "p", Amount: 5}); err != nil {
			t.Fatal(err)
		}
	}
	if docs, err := e.List(ctx, store.Customers); err != nil || len(docs) != 1 || docs[0].ID != "c1" {
		t.Errorf("List(customers) = %v, %v; want c1 only", docs, err)
	}
	for _, coll := range []string{"credit.entries", "credit.posted", "credit.other"} {
		if err := e.Put(ctx, coll, "c1", []byte(`{}`)); !errors.Is(err, store.ErrReservedName) {
			t.Errorf("Put(%s): err = %v, want ErrReservedName", coll, err)
		}
		if _, err := e.List(ctx, coll); !errors.Is(err, store.ErrReservedName) {
			t.Errorf("List(%s): err = %v, want ErrReservedName", coll, err)
		}
	}
	if a, err := e.Credit().Account(ctx, "c1"); err != nil || a.Balance != 5 {
		t.Errorf("Account(c1) = %+v, %v; want balance 5", a, err)
	}
}
