package auth

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestPassword(t *testing.T) {
	p := Argon2Params{Memory: 1024, Time: 1, Threads: 1}
	h := HashPassword("correct horse", p)
	if !strings.HasPrefix(h, "$argon2id$v=19$m=1024,t=1,p=1$") {
		t.Fatalf("hash %q", h)
	}
	if h == HashPassword("correct horse", p) {
		t.Error("no salt")
	}
	if err := CheckPassword(context.Background(), "correct horse", h); err != nil {
		t.Error(err)
	}
	if err := CheckPassword(context.Background(), "correct horsf", h); !errors.Is(err, ErrBadPassword) {
		t.Errorf("wrong password: %v", err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$AAAA"} {
		if err := CheckPassword(context.Background(), "x", bad); err == nil || errors.Is(err, ErrBadPassword) {
			t.Errorf("hash %q: %v", bad, err)
		}
	}
}

func TestTOTP(t *testing.T) {
	secret, uri, err := NewTOTP("Trunkline", "alice")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(uri, "otpauth://totp/Trunkline:alice?") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("uri %q", uri)
	}
	now := time.Unix(1_700_000_000, 0)
	code, _ := TOTPCode(secret, now)
	step, ok := CheckTOTP(secret, code, now, 0)
	if !ok {
		t.Fatal("current code refused")
	}
	if _, ok := CheckTOTP(secret, code, now, step); ok {
		t.Fatal("code reused")
	}
	prev, _ := TOTPCode(secret, now.Add(-30*time.Second))
	if _, ok := CheckTOTP(secret, prev, now, 0); !ok {
		t.Fatal("one step of skew refused")
	}
	old, _ := TOTPCode(secret, now.Add(-5*time.Minute))
	if _, ok := CheckTOTP(secret, old, now, 0); ok && old != code {
		t.Fatal("old code accepted")
	}
	if _, ok := CheckTOTP(secret, "12345", now, 0); ok {
		t.Fatal("short code accepted")
	}
}

func TestRecoveryCodes(t *testing.T) {
	codes, hashes := NewRecoveryCodes(8)
	if len(codes) != 8 || len(hashes) != 8 || codes[0] == codes[1] {
		t.Fatalf("codes %v", codes)
	}
	rest, ok := UseRecoveryCode(hashes, strings.ToUpper(codes[3]))
	if !ok || len(rest) != 7 {
		t.Fatal("code refused")
	}
	if _, ok := UseRecoveryCode(rest, codes[3]); ok {
		t.Fatal("code used twice")
	}
	if _, ok := UseRecoveryCode(rest, "aaaaa-aaaaa"); ok {
		t.Fatal("made-up code accepted")
	}
}

func TestThrottle(t *testing.T) {
	clk := newClock()
	th := NewThrottle(3, time.Minute, time.Minute, time.Hour, clk.now)
	try := func(user, src string, o Outcome) bool {
		t.Helper()
		a, _, ok := th.Begin(user, src)
		if ok {
			a.End(o)
		}
		return ok
	}
	for range 3 {
		if !try("alice", "10.0.0.1", Failed) {
			t.Fatal("locked early")
		}
	}
	if wait, locked := th.Locked("alice", "10.0.0.1"); !locked || wait != time.Minute {
		t.Fatalf("alice on 10.0.0.1 after 3 failures: locked %v for %v", locked, wait)
	}
	if try("alice", "10.0.0.1", Succeeded) {
		t.Fatal("a locked pair may try")
	}
	// One address's guesses do not lock the user out elsewhere.
	if !try("alice", "10.0.0.2", Succeeded) {
		t.Fatal("alice locked out from another address")
	}
	clk.add(time.Minute)
	if _, locked := th.Locked("alice", "10.0.0.1"); locked {
		t.Fatal("still locked")
	}

	// An address guessing many users is locked (4 × 3 failures).
	for i := range 12 {
		if !try(fmt.Sprint("user", i), "10.0.0.9", Failed) {
			t.Fatalf("source locked after %d failures", i)
		}
	}
	if try("someone", "10.0.0.9", Succeeded) {
		t.Fatal("an address that failed 12 times over users is not locked")
	}
	// A user guessed at from many addresses is locked (10 × 3 failures).
	for i := range 30 {
		if !try("bob", fmt.Sprint("192.0.2.", i), Failed) {
			t.Fatalf("bob locked after %d failures", i)
		}
	}
	if try("bob", "192.0.2.200", Succeeded) {
		t.Fatal("a user that failed 30 times over addresses is not locked")
	}

	// Attempts in progress count: 3 at once, the 4th waits; an aborted
	// attempt counts nothing.
	var open []*Attempt
	for range 3 {
		a, _, ok := th.Begin("carol", "10.0.0.3")
		if !ok {
			t.Fatal("refused below the threshold")
		}
		open = append(open, a)
	}
	if _, wait, ok := th.Begin("carol", "10.0.0.3"); ok || wait <= 0 {
		t.Fatalf("4th attempt in progress: ok %v, wait %v", ok, wait)
	}
	for _, a := range open {
		a.End(Aborted)
	}
	if !try("carol", "10.0.0.3", Failed) || !try("carol", "10.0.0.3", Failed) || !try("carol", "10.0.0.3", Succeeded) {
		t.Fatal("aborted attempts counted")
	}
	// The success forgot the failures: 2 more do not lock.
	if !try("carol", "10.0.0.3", Failed) || !try("carol", "10.0.0.3", Failed) || !try("carol", "10.0.0.3", Failed) {
		t.Fatal("a success did not forget the failures before it")
	}
	if _, locked := th.Locked("carol", "10.0.0.3"); !locked {
		t.Fatal("3 failures after the success did not lock")
	}
}
