package store_test

import (
	"context"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// A primary demoted to a replica answers READONLY to a write until the
// client finds the new primary: what a Sentinel failover looks like from
// a node. OpenRedis's client sends a refused write again a moment later
// (so the failover costs a wait, not a failed call) and runs it once;
// a client without the resend fails.
func TestRedisResendsRefusedWrites(t *testing.T) {
	addr := ownRedis(t)
	ctx := t.Context()
	r, err := store.OpenRedis(ctx, "redis://"+addr+"/0", "t:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	plain := redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1})
	t.Cleanup(func() { plain.Close() })
	ctl := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { ctl.Close() })
	if _, err := r.Credit().Post(ctx, "a", "", store.Entry{Kind: "payment", Key: "p1", Amount: 1000}); err != nil {
		t.Fatal(err)
	}

	demote := func() {
		t.Helper()
		// A primary nobody answers for: the server stays a replica that
		// refuses writes.
		if err := ctl.SlaveOf(ctx, "127.0.0.1", strconv.Itoa(deadPort(t))).Err(); err != nil {
			t.Fatal(err)
		}
	}
	demote()
	_, err = store.NewRedisCredit(plain, "t:").Reserve(ctx, "a", "h0", 10, 0, time.Minute)
	if err == nil || !strings.Contains(err.Error(), "READONLY") {
		t.Fatalf("a write on a replica without resends: %v, want READONLY", err)
	}

	go func() {
		time.Sleep(30 * time.Millisecond)
		ctl.SlaveOf(context.Background(), "NO", "ONE")
	}()
	ok, err := r.Credit().Reserve(ctx, "a", "h1", 10, 0, time.Minute)
	if err != nil || !ok {
		t.Fatalf("Reserve across a 30 ms demotion: %v %v", ok, err)
	}
	if a, err := r.Credit().Account(ctx, "a"); err != nil || a.Reserved != 10 || a.Balance != 1000 {
		t.Fatalf("account after the resend: %+v %v, want 10 reserved once of 1000", a, err)
	}

	// The resends end by the caller's deadline.
	demote()
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, err := r.Credit().Reserve(short, "a", "h2", 10, 0, time.Minute); err == nil {
		t.Fatal("Reserve on a replica succeeded")
	}
	if d := time.Since(start); d > 200*time.Millisecond {
		t.Errorf("Reserve with a 20 ms deadline took %v", d)
	}
	ctl.SlaveOf(ctx, "NO", "ONE")
}

// ownRedis starts a redis-server of the test's own (it is made a replica
// and back) and returns its address.
func ownRedis(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		storetest.Missing(t, "no redis-server: scripts/services.sh installs it")
	}
	port := deadPort(t)
	cmd := exec.Command("redis-server", "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "",
		"--appendonly", "no", "--protected-mode", "no", "--dir", t.TempDir(), "--logfile", "")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	addr := "127.0.0.1:" + strconv.Itoa(port)
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	for deadline := time.Now().Add(10 * time.Second); c.Ping(context.Background()).Err() != nil; {
		if time.Now().After(deadline) {
			t.Fatal("redis-server did not answer within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	return addr
}

// deadPort returns a loopback TCP port nobody listened on a moment ago.
func deadPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
