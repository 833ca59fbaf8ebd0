package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"
)

// EmbeddedFile is the name of the database file OpenEmbedded keeps in its
// data directory.
const EmbeddedFile = "trunkline.db"

// embeddedLockTimeout bounds the wait for the database file lock, which
// another process holding the same data directory keeps.
const embeddedLockTimeout = time.Second

// Embedded is the single-machine Store: one bbolt file in the data
// directory, a bucket per collection, keys sorted by id. Every write is a
// transaction synced to disk before Put or Delete returns. It is safe for
// concurrent use; bbolt serialises writers and lets readers run in parallel.
// The same file holds the Credit ledger (see Credit); Limits lives in
// memory only.
type Embedded struct {
	db     *bolt.DB
	credit *EmbeddedCredit
	limits *EmbeddedLimits
}

var _ Store = (*Embedded)(nil)

// EmbeddedOption configures OpenEmbedded.
type EmbeddedOption func(*embeddedConfig)

type embeddedConfig struct{ creditDelay time.Duration }

// WithCreditCommitDelay sets how long a credit Post waits for others to
// share its commit (default DefaultCreditCommitDelay).
func WithCreditCommitDelay(d time.Duration) EmbeddedOption {
	return func(c *embeddedConfig) { c.creditDelay = d }
}

// OpenEmbedded opens (or creates) the store in dir, creating dir with mode
// 0700 when it does not exist. Only one process may hold a data directory:
// a second OpenEmbedded on the same dir fails after a short wait.
func OpenEmbedded(dir string, opts ...EmbeddedOption) (*Embedded, error) {
	cfg := embeddedConfig{creditDelay: DefaultCreditCommitDelay}
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating data directory %q: %w", dir, err)
	}
	path := filepath.Join(dir, EmbeddedFile)
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: embeddedLockTimeout})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("opening embedded store %q: in use by another process: %w", path, err)
		}
		return nil, fmt.Errorf("opening embedded store %q: %w", path, err)
	}
	return &Embedded{db: db, credit: newEmbeddedCredit(db, cfg.creditDelay), limits: newEmbeddedLimits()}, nil
}

// Credit returns the store's Credit: its ledgers live in the same file, its
// holds in this process's memory. Every call returns the same instance.
func (e *Embedded) Credit() *EmbeddedCredit { return e.credit }

// Limits returns the store's Limits, whose leases and events live in this
// process's memory only. Every call returns the same instance.
func (e *Embedded) Limits() *EmbeddedLimits { return e.limits }

// Path returns the database file's path.
func (e *Embedded) Path() string { return e.db.Path() }

// Get returns a copy of the document coll/id or ErrNotFound.
func (e *Embedded) Get(ctx context.Context, coll, id string) ([]byte, error) {
	if err := check(ctx, coll, id); err != nil {
		return nil, err
	}
	var out []byte
	err := e.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(coll))
		if b == nil {
			return ErrNotFound
		}
		v := b.Get([]byte(id))
		if v == nil {
			return ErrNotFound
		}
		out = append([]byte(nil), v...) // v is only valid inside the transaction
		return nil
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("getting %s/%s: %w", coll, id, err)
	}
	return out, err
}

// Put creates or replaces coll/id, creating the collection's bucket on first
// use. The data is copied; the caller may reuse it.
func (e *Embedded) Put(ctx context.Context, coll, id string, data []byte) error {
	if err := check(ctx, coll, id); err != nil {
		return err
	}
	err := e.db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte(coll))
		if err != nil {
			return err
		}
		if data == nil {
			data = []byte{} // bbolt treats a nil value as absent
		}
		return b.Put([]byte(id), data)
	})
	if err != nil {
		return fmt.Errorf("putting %s/%s: %w", coll, id, err)
	}
	return nil
}

// Delete removes coll/id or returns ErrNotFound when it was absent.
func (e *Embedded) Delete(ctx context.Context, coll, id string) error {
	if err := check(ctx, coll, id); err != nil {
		return err
	}
	err := e.db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(coll))
		if b == nil || b.Get([]byte(id)) == nil {
			return ErrNotFound
		}
		return b.Delete([]byte(id))
	})
	if err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("deleting %s/%s: %w", coll, id, err)
	}
	return err
}

// List returns copies of every document of coll, sorted by id (bytewise,
// as Go compares strings). A collection never written is empty, not an error.
func (e *Embedded) List(ctx context.Context, coll string) ([]Doc, error) {
	if err := check(ctx, coll, "-"); err != nil {
		return nil, err
	}
	var out []Doc
	err := e.db.View(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte(coll))
		if b == nil {
			return nil
		}
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				return nil // a nested bucket; this store never makes one
			}
			out = append(out, Doc{ID: string(k), Data: append([]byte(nil), v...)})
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("listing %s: %w", coll, err)
	}
	return out, nil
}

// Close releases the database file and its lock, and closes Credit (its
// holds are lost) and Limits (its leases and events are lost). Calling it
// again is a no-op.
func (e *Embedded) Close() error {
	e.credit.close()
	e.limits.close()
	if err := e.db.Close(); err != nil {
		return fmt.Errorf("closing embedded store: %w", err)
	}
	return nil
}

func check(ctx context.Context, coll, id string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if coll == "" || id == "" {
		return ErrEmptyKey
	}
	if strings.HasPrefix(coll, creditBucketPrefix) {
		return fmt.Errorf("collection %q: %w", coll, ErrReservedName)
	}
	return nil
}
