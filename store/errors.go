package store

import "errors"

// ErrClosed is returned by a store's runtime state (Credit, Limits) once the store
// that holds it was closed.
var ErrClosed = errors.New("store closed")

// ErrReservedName is returned for a document collection whose name the
// embedded store keeps for its own buckets (those starting with "credit.").
var ErrReservedName = errors.New("reserved collection name")
