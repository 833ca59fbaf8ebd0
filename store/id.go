package store

import (
	"crypto/rand"
	"encoding/hex"
)

// NewID returns a short random document id: 12 lowercase hex characters
// (48 bits) from crypto/rand, enough that ids of one collection never collide
// in practice.
func NewID() string {
	var b [6]byte
	rand.Read(b[:]) // never fails since Go 1.24; it crashes the program instead
	return hex.EncodeToString(b[:])
}
