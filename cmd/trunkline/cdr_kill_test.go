package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/sip/siptest"
)

// proc is a trunkline serve subprocess and the addresses it logged.
type proc struct {
	cmd    *exec.Cmd
	sip    string
	admin  string
	token  string
	exited chan error

	mu  sync.Mutex
	log []string // stderr, line by line
}

// waitLog waits up to d for a line of the process's log that re matches.
func (p *proc) waitLog(t *testing.T, re *regexp.Regexp, d time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		p.mu.Lock()
		for _, l := range p.log {
			if re.MatchString(l) {
				p.mu.Unlock()
				return l
			}
		}
		p.mu.Unlock()
		if time.Now().After(deadline) {
			t.Fatalf("no log line matching %q within %s", re, d)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the process and waits for it to end; the cleanup that
// waits again still gets its turn.
func (p *proc) kill(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-p.exited
	p.exited <- nil
}

var (
	readyRE = regexp.MustCompile(`msg="trunkline ready" sip=(\S+) admin=(\S+)`)
	tokenRE = regexp.MustCompile(`Admin API token \(shown once, keep it\): (\S+)`)
)

// startProc runs bin serve -config cfg and waits until it logs that it is
// ready. It is killed at the end of the test if still running.
func startProc(t *testing.T, bin, cfg string) *proc {
	t.Helper()
	cmd := exec.Command(bin, "serve", "-config", cfg)
	cmd.Env = append(os.Environ(), "TRUNKLINE_CLICKHOUSE=")
	stdout, _ := cmd.StdoutPipe()
	stderr, _ := cmd.StderrPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, exited: make(chan error, 1)}
	ready := make(chan [2]string, 1)
	token := make(chan string, 1)
	scan := func(r io.Reader, onLine func(string)) {
		s := bufio.NewScanner(r)
		for s.Scan() {
			if os.Getenv("TRUNKLINE_TEST_LOG") == "debug" {
				t.Log(s.Text())
			}
			onLine(s.Text())
		}
	}
	go scan(stdout, func(l string) {
		if m := tokenRE.FindStringSubmatch(l); m != nil {
			token <- m[1]
		}
	})
	go scan(stderr, func(l string) {
		p.mu.Lock()
		if len(p.log) < 100_000 {
			p.log = append(p.log, l)
		}
		p.mu.Unlock()
		if m := readyRE.FindStringSubmatch(l); m != nil {
			ready <- [2]string{m[1], m[2]}
		}
	})
	go func() { p.exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.exited
	})
	select {
	case a := <-ready:
		p.sip, p.admin = a[0], a[1]
	case err := <-p.exited:
		t.Fatalf("trunkline exited before it was ready: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("trunkline was not ready within 30 s")
	}
	// The token goes to stdout before the ready line goes to stderr, but
	// the two pipes are read apart.
	select {
	case p.token = <-token:
	case <-time.After(200 * time.Millisecond):
	}
	return p
}

// TestSIGKILLMidBatchLosesAndDoublesNothing runs the switch as a process
// shipping CDRs to ClickHouse in small batches, SIGKILLs it while calls are
// flowing and batches are in flight, restarts it on the same data directory
// and checks that ClickHouse ends up with exactly the journal's CDRs, each
// (call_id, attempt) once.
func TestSIGKILLMidBatchLosesAndDoublesNothing(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	addr, db, conn := testClickHouseDB(t)
	dir := t.TempDir()
	bin := testBinary(t)
	data := filepath.Join(dir, "data")
	cfg := filepath.Join(dir, "trunkline.yaml")
	yaml := fmt.Sprintf(`data: %s
node: kill-test
sip:
  listen: 127.0.0.1:0
  invite_timeout: 2s
admin:
  listen: 127.0.0.1:0
cdr:
  clickhouse: clickhouse://%s/%s
  batch_size: 20
  batch_interval: 5ms
  commit_delay: 1ms
log:
  level: info
`, data, addr, db)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	phase := func(what string) { t.Logf("%7s %s", time.Since(t0).Round(time.Millisecond), what) }
	p := startProc(t, bin, cfg)
	phase("started")
	if p.token == "" {
		t.Fatal("first start printed no admin token")
	}
	sw := &testSwitch{api: &apiClient{t: t, base: "http://" + p.admin, token: p.token}}
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	provision(t, sw, carrierA, carrierB)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	// Kill once a few batches have landed, with calls still flowing.
	var killed atomic.Bool
	go func() {
		for !killed.Load() && ctx.Err() == nil {
			if _, f, _, _, err := chCount(conn, db); err == nil && f >= 200 {
				_ = p.cmd.Process.Signal(syscall.SIGKILL)
				killed.Store(true)
				return
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()
	placeCalls(ctx, customer, p.sip, 3000, 16, killed.Load)
	phase("killed, calls stopped")
	if !killed.Load() {
		t.Fatal("all calls ended before ClickHouse had 200 rows; nothing was killed")
	}
	if err := <-p.exited; err == nil || !strings.Contains(err.Error(), "killed") {
		t.Fatalf("process ended with %v, want killed", err)
	}
	p.exited <- nil // for the cleanup
	// What the dead process left: the journal (the truth) and ClickHouse.
	j, err := cdr.OpenJournal(filepath.Join(data, "cdr"))
	if err != nil {
		t.Fatal(err)
	}
	atKill, recsAtKill := journalKeys(t, j)
	j.Close()
	// The answered calls that were up get their CDRs when the switch
	// restarts (the live-call register).
	live, err := cdr.OpenLive(filepath.Join(data, "live"))
	if err != nil {
		t.Fatal(err)
	}
	upAll, _ := live.Recovered()
	if err := live.Close(); err != nil {
		t.Fatal(err)
	}
	// Those whose CDR was journalled just before the kill (their removal
	// from the register was not yet durable) get no second one.
	ended := map[string]bool{}
	for _, r := range recsAtKill {
		ended[r.CallID] = ended[r.CallID] || r.Final
	}
	var up []cdr.LiveCall
	for _, c := range upAll {
		if !ended[c.Key] {
			up = append(up, c)
		}
	}
	_, shippedAtKill, _, _ := chCounts(t, conn, db)
	t.Logf("at SIGKILL: %d CDRs journalled, %d in ClickHouse, %d answered calls up", len(atKill), shippedAtKill, len(up))
	if shippedAtKill >= uint64(len(atKill)) {
		t.Logf("ClickHouse had caught up when the process died; the restart replays nothing new")
	}

	// Restart on the same data directory: the backlog ships, and new calls
	// flow.
	p2 := startProc(t, bin, cfg)
	phase("restarted")
	if n := placeCalls(ctx, customer, p2.sip, 100, 8, nil); n != 100 {
		t.Fatalf("%d of 100 calls after the restart completed", n)
	}
	want := len(atKill) + len(up) + 100
	phase("100 calls placed")
	waitUntil(t, 30*time.Second, "ClickHouse to catch up after the restart", func() bool {
		_, f, _, _ := chCounts(t, conn, db)
		return f >= uint64(want)
	})
	phase("caught up")
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p2.exited; err != nil {
		t.Fatalf("clean stop: %v", err)
	}
	p2.exited <- nil
	phase("stopped")

	j, err = cdr.OpenJournal(filepath.Join(data, "cdr"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	jkeys, _ := journalKeys(t, j)
	raw, final, distinct, doubled := chCounts(t, conn, db)
	t.Logf("after restart: %d CDRs journalled; ClickHouse %d rows raw (re-delivered: %d), %d final", len(jkeys), raw, raw-final, final)
	if len(jkeys) != want {
		t.Errorf("journal holds %d CDRs, want %d", len(jkeys), want)
	}
	for k, n := range jkeys {
		if n != 1 {
			t.Errorf("journal holds %s %d times", k, n)
		}
	}
	if final != uint64(len(jkeys)) || distinct != final || doubled != 0 {
		t.Fatalf("ClickHouse: %d rows (FINAL), %d distinct, %d doubled; journal %d", final, distinct, doubled, len(jkeys))
	}
	ckeys := chKeys(t, conn, db)
	for k := range jkeys {
		if ckeys[k] != 1 {
			t.Fatalf("%s is in ClickHouse %d times", k, ckeys[k])
		}
	}
}
