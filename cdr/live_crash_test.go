package cdr

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestLiveSIGKILL runs this test binary again as a child (LIVE_CHILD=1) that
// puts 100 calls up, takes every other one down, keeps its heartbeat going
// and is killed with SIGKILL. The register it leaves must hold exactly the
// 50 calls still up, with a last sign of life within two heartbeats of the
// kill.
func TestLiveSIGKILL(t *testing.T) {
	const heartbeat = 100 * time.Millisecond
	if os.Getenv("LIVE_CHILD") == "1" {
		liveChild(t, os.Getenv("LIVE_DIR"), heartbeat)
		return
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestLiveSIGKILL$", "-test.timeout=60s")
	cmd.Env = append(os.Environ(), "LIVE_CHILD=1", "LIVE_DIR="+dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	waited := false
	t.Cleanup(func() {
		if !waited {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	ready := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if sc.Text() == "ready" {
				ready <- sc.Text()
				return
			}
		}
		ready <- ""
	}()
	select {
	case s := <-ready:
		if s == "" {
			cmd.Wait()
			waited = true
			t.Fatalf("child exited before it was ready: %s", stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("child not ready after 30 s: %s", stderr.String())
	}
	readyAt := time.Now()
	time.Sleep(8 * heartbeat)
	killAt := time.Now()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	err = cmd.Wait()
	waited = true
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not SIGKILL: %s", err, stderr.String())
	}
	killed := time.Now()

	l := openTestLive(t, dir)
	var up []string
	for i := 1; i < 100; i += 2 {
		up = append(up, fmt.Sprintf("call-%03d", i))
	}
	lastAlive := checkRecovered(t, l, up...)
	if lastAlive.Before(killAt.Add(-2*heartbeat)) || lastAlive.After(killed) || lastAlive.Before(readyAt) {
		t.Fatalf("last alive %v; child ready at %v, killed at %v (heartbeat %v)",
			lastAlive.Format(time.StampMilli), readyAt.Format(time.StampMilli), killAt.Format(time.StampMilli), heartbeat)
	}
}

// liveChild is the child of TestLiveSIGKILL: ten writers put 100 calls up
// and take the even ones down, then it prints "ready" and waits to be
// killed with the heartbeat running.
func liveChild(t *testing.T, dir string, heartbeat time.Duration) {
	l, err := OpenLive(dir, WithLiveHeartbeat(heartbeat))
	if err != nil {
		t.Fatal(err)
	}
	go l.Run(context.Background())
	ctx := context.Background()
	var wg sync.WaitGroup
	for w := range 10 {
		wg.Go(func() {
			for i := w; i < 100; i += 10 {
				k := fmt.Sprintf("call-%03d", i)
				if err := l.Up(ctx, k, liveData(k)); err != nil {
					t.Error(err)
				}
			}
			for i := w; i < 100; i += 10 {
				if i%2 == 0 {
					if err := l.Down(ctx, fmt.Sprintf("call-%03d", i)); err != nil {
						t.Error(err)
					}
				}
			}
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	fmt.Println("ready")
	time.Sleep(time.Minute)
	t.Fatal("not killed within a minute")
}
