package auth

import (
	"errors"
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
	if err := CheckPassword("correct horse", h); err != nil {
		t.Error(err)
	}
	if err := CheckPassword("correct horsf", h); !errors.Is(err, ErrBadPassword) {
		t.Errorf("wrong password: %v", err)
	}
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=1024,t=1,p=1$AAAA$AAAA",
		"$argon2id$v=19$m=99999999,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=1024,t=1,p=1$!!$AAAA"} {
		if err := CheckPassword("x", bad); err == nil || errors.Is(err, ErrBadPassword) {
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
	for range 2 {
		th.Fail("alice")
	}
	if _, locked := th.Locked("alice"); locked {
		t.Fatal("locked early")
	}
	th.Fail("alice")
	if _, locked := th.Locked("alice"); !locked {
		t.Fatal("not locked")
	}
	clk.add(time.Minute)
	if _, locked := th.Locked("alice"); locked {
		t.Fatal("still locked")
	}
}
