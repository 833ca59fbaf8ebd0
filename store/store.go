package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
)

// ErrNotFound is returned when a document does not exist.
var ErrNotFound = errors.New("not found")

// ErrEmptyKey is returned for an empty collection name or document id.
var ErrEmptyKey = errors.New("empty collection or id")

// Doc is one stored document.
type Doc struct {
	ID   string
	Data []byte
}

// Store keeps JSON documents by collection and id. Implementations are safe
// for concurrent use; every write is durable when the call returns. Errors
// other than ErrNotFound mean the backend failed and nothing is promised
// about the write.
type Store interface {
	// Get returns the document coll/id or ErrNotFound.
	Get(ctx context.Context, coll, id string) ([]byte, error)
	// Put creates or replaces the document coll/id.
	Put(ctx context.Context, coll, id string, data []byte) error
	// Delete removes coll/id; it returns ErrNotFound when it was absent.
	Delete(ctx context.Context, coll, id string) error
	// List returns every document of coll, sorted by id.
	List(ctx context.Context, coll string) ([]Doc, error)
	// Close releases the backend.
	Close() error
}

// GetJSON reads coll/id into a value of type T.
func GetJSON[T any](ctx context.Context, s Store, coll, id string) (T, error) {
	var v T
	b, err := s.Get(ctx, coll, id)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return v, fmt.Errorf("decoding %s/%s: %w", coll, id, err)
	}
	return v, nil
}

// PutJSON stores v as coll/id.
func PutJSON(ctx context.Context, s Store, coll, id string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encoding %s/%s: %w", coll, id, err)
	}
	return s.Put(ctx, coll, id, b)
}

// ListJSON reads every document of coll as values of type T, sorted by id.
func ListJSON[T any](ctx context.Context, s Store, coll string) ([]T, error) {
	docs, err := s.List(ctx, coll)
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(docs))
	for _, d := range docs {
		var v T
		if err := json.Unmarshal(d.Data, &v); err != nil {
			return nil, fmt.Errorf("decoding %s/%s: %w", coll, d.ID, err)
		}
		out = append(out, v)
	}
	return out, nil
}
