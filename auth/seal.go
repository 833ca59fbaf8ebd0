package auth

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// Sealer encrypts the secrets the switch must keep to use them later (an
// export server's password or private key) with AES-256-GCM under a key
// kept outside the store (a key file, or an environment variable): a copy
// of the store, or read access to Redis, does not give them away. Each
// value is sealed for a context (the record and field it belongs to), so a
// sealed value copied into another record does not open. Safe for
// concurrent use.
type Sealer struct{ aead cipher.AEAD }

// SealKeySize is the key's length in bytes.
const SealKeySize = 32

// sealedPrefix marks a sealed value: "sealed:v1:" then base64 of the
// nonce and the ciphertext.
const sealedPrefix = "sealed:v1:"

// ErrUnseal reports a sealed value that does not open: the wrong key, or
// another record's value.
var ErrUnseal = errors.New("a sealed secret does not open with this key: was the secret key changed?")

// NewSealer returns the sealer with key (SealKeySize bytes).
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SealKeySize {
		return nil, fmt.Errorf("the secret key is %d bytes, want %d", len(key), SealKeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns plain sealed for context; "" stays "".
func (s *Sealer) Seal(plain, context string) string {
	if plain == "" {
		return ""
	}
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	rand.Read(nonce)
	return sealedPrefix + base64.RawStdEncoding.EncodeToString(s.aead.Seal(nonce, nonce, []byte(plain), []byte(context)))
}

// IsSealed tells whether v is a sealed value.
func IsSealed(v string) bool { return strings.HasPrefix(v, sealedPrefix) }

// Open returns the plain value of v sealed for context. A value that is
// not sealed (stored before sealing existed) is returned as it is.
func (s *Sealer) Open(v, context string) (string, error) {
	if !IsSealed(v) {
		return v, nil
	}
	b, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(v, sealedPrefix))
	if err != nil || len(b) < s.aead.NonceSize() {
		return "", ErrUnseal
	}
	plain, err := s.aead.Open(nil, b[:s.aead.NonceSize()], b[s.aead.NonceSize():], []byte(context))
	if err != nil {
		return "", ErrUnseal
	}
	return string(plain), nil
}

// ParseSealKey reads a key written as 64 hex digits or as base64 (what
// `openssl rand -hex 32` or `-base64 32` print).
func ParseSealKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == SealKeySize {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == SealKeySize {
			return b, nil
		}
	}
	return nil, fmt.Errorf("a secret key is %d random bytes as 64 hex digits or base64 (openssl rand -hex 32)", SealKeySize)
}

// LoadSealKeyFile reads the key in path; with create, a missing file is
// made with a new random key (mode 0600).
func LoadSealKeyFile(path string, create bool) ([]byte, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) && create {
		key := make([]byte, SealKeySize)
		rand.Read(key)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, err
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return nil, fmt.Errorf("creating the secret key file: %w", err)
		}
		_, err = f.WriteString(hex.EncodeToString(key) + "\n")
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("writing the secret key file: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the secret key file: %w", err)
	}
	key, err := ParseSealKey(string(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return key, nil
}
