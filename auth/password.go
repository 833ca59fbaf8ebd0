package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"golang.org/x/crypto/argon2"
)

// Argon2Params are the argon2id cost parameters of a password hash.
type Argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultArgon2 follows the OWASP minimum for argon2id: 19 MiB, 2
// iterations, 1 lane.
var DefaultArgon2 = Argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1}

// ErrBadPassword reports a password that does not match its hash.
var ErrBadPassword = errors.New("wrong password")

// Each argon2id hash takes its Memory for its whole run: a flood of logins
// hashed at once would take the process's memory with it (60 at once took
// 1.1 GiB). At most hashSlots run at once; the others wait their turn.
var hashSlots = make(chan struct{}, max(2, min(runtime.GOMAXPROCS(0), 4)))

// ErrBusy reports a password check that gave up waiting for its turn.
var ErrBusy = errors.New("too many password checks at once")

// takeSlot waits for a hashing slot, or until ctx ends (ErrBusy).
func takeSlot(ctx context.Context) (release func(), err error) {
	select {
	case hashSlots <- struct{}{}:
		return func() { <-hashSlots }, nil
	case <-ctx.Done():
		return nil, ErrBusy
	}
}

// HashPassword returns the argon2id hash of password as a PHC string:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (unpadded base64). It
// waits for a hashing slot.
func HashPassword(password string, p Argon2Params) string {
	release, _ := takeSlot(context.Background())
	defer release()
	salt := make([]byte, 16)
	rand.Read(salt)
	sum := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, 32)
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(sum))
}

// Bounds on the parameters a stored hash may ask for, so a corrupt or
// hostile record cannot make a check allocate gigabytes.
const (
	maxArgonMemory = 1 << 20 // 1 GiB
	maxArgonTime   = 16
)

// CheckPassword verifies password against a PHC hash from HashPassword. It
// returns ErrBadPassword on a mismatch, ErrBusy when ctx ended while it
// waited for a hashing slot, and another error for a hash it cannot read.
func CheckPassword(ctx context.Context, password, phc string) error {
	parts := strings.Split(phc, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return errors.New("password hash: not an argon2id PHC string")
	}
	var v int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return fmt.Errorf("password hash: version %q not supported", parts[2])
	}
	var p Argon2Params
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil {
		return fmt.Errorf("password hash: parameters %q: %w", parts[3], err)
	}
	if p.Memory == 0 || p.Memory > maxArgonMemory || p.Time == 0 || p.Time > maxArgonTime || p.Threads == 0 {
		return fmt.Errorf("password hash: parameters %q out of range", parts[3])
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return fmt.Errorf("password hash: salt: %w", err)
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(want) > 64 {
		return errors.New("password hash: bad hash")
	}
	release, err := takeSlot(ctx)
	if err != nil {
		return err
	}
	defer release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrBadPassword
	}
	return nil
}
