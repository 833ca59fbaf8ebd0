package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/sip/siptest"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// testBinary builds the trunkline binary once per test process.
func testBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "trunkline-test-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "trunkline")
		if out, err := exec.Command("go", "build", "-buildvcs=auto", "-o", binPath, ".").CombinedOutput(); err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// procConfig writes a config for a switch process on loopback with its data
// in dir, plus extra top-level YAML.
func procConfig(t *testing.T, dir, extra string) string {
	t.Helper()
	cfg := filepath.Join(dir, "trunkline.yaml")
	yaml := fmt.Sprintf(`data: %s
node: lifecycle
sip:
  listen: 127.0.0.1:0
  invite_timeout: 2s
admin:
  listen: 127.0.0.1:0
cdr:
  commit_delay: 1ms
log:
  level: info
%s`, filepath.Join(dir, "data"), extra)
	if err := os.WriteFile(cfg, []byte(yaml), 0o600); err != nil {
		t.Fatal(err)
	}
	return cfg
}

// holdCalls places n answered calls that nobody hangs up and returns them
// with the Call-ID each got on the carrier's leg.
func holdCalls(t *testing.T, ctx context.Context, customer *siptest.Customer, carrier *siptest.Carrier, target string, n int) ([]*siptest.Call, []string) {
	t.Helper()
	calls := make([]*siptest.Call, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := customer.Dial(ctx, target, numAnswer)
			if err != nil {
				t.Errorf("call %d: %v", i, err)
				return
			}
			calls[i] = c
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	var ids []string
	for _, inv := range carrier.Invites() {
		ids = append(ids, inv.CallID().Value())
	}
	if len(ids) != n {
		t.Fatalf("the carrier got %d INVITEs for %d calls", len(ids), n)
	}
	return calls, ids
}

// procWithCalls starts a switch process (config plus extra YAML) with a
// carrier that answers everything, and holds n answered calls to it.
func procWithCalls(t *testing.T, ctx context.Context, extra string, n int) (dir, cfg string, p *proc, carrier *siptest.Carrier, calls []*siptest.Call, ids []string) {
	t.Helper()
	dir = t.TempDir()
	cfg = procConfig(t, dir, extra)
	p = startProc(t, testBinary(t), cfg)
	sw := &testSwitch{api: &apiClient{t: t, base: "http://" + p.admin, token: p.token}}
	carrier = siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	idle := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	provision(t, sw, carrier, idle)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	calls, ids = holdCalls(t, ctx, customer, carrier, p.sip, n)
	return dir, cfg, p, carrier, calls, ids
}

// journalByCall reads the CDR journal of a stopped switch: final CDRs by
// call id.
func journalByCall(t *testing.T, dir string) map[string][]cdr.Record {
	t.Helper()
	j, err := cdr.OpenJournal(filepath.Join(dir, "data", "cdr"))
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	out := map[string][]cdr.Record{}
	err = cdr.Each(context.Background(), j, cdr.Query{}, func(r *cdr.Record) error {
		out[r.CallID] = append(out[r.CallID], *r)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// A switch SIGKILLed with 100 answered calls up, then restarted, writes
// exactly one CDR for each (ended when it was last known alive) and sends a
// BYE to both legs of each: no billed call is lost, no carrier leg orphaned.
func TestSIGKILLWithCallsUp(t *testing.T) {
	const n = 100
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir, cfg, p, carrier, calls, ids := procWithCalls(t, ctx, "", n)
	bin := testBinary(t)
	time.Sleep(1500 * time.Millisecond) // a heartbeat past the answers
	killedAt := time.Now()
	p.kill(t)

	p2 := startProc(t, bin, cfg)
	for i, id := range ids {
		if err := carrier.WaitBye(ctx, id); err != nil {
			t.Fatalf("carrier leg %d (%s) got no BYE after the restart: %v", i, id, err)
		}
	}
	for i, c := range calls {
		if err := c.WaitBye(ctx); err != nil {
			t.Fatalf("customer leg %d got no BYE after the restart: %v", i, err)
		}
	}
	if err := p2.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-p2.exited; err != nil {
		t.Fatalf("clean stop after recovery: %v", err)
	}
	p2.exited <- nil

	byCall := journalByCall(t, dir)
	for i, id := range ids {
		rs := byCall[id]
		if len(rs) != 1 {
			t.Fatalf("call %d has %d CDRs, want 1: %+v", i, len(rs), rs)
		}
		r := rs[0]
		end := time.UnixMilli(r.EndMs)
		if !r.Final || r.SIPCode != 200 || r.HangupSide != "switch" || r.AnswerMs == 0 || r.Duration < 1 || r.Billed != 60 ||
			r.SellCost == 0 || end.After(killedAt) || killedAt.Sub(end) > 2*time.Second {
			t.Fatalf("call %d CDR %+v (killed at %d)", i, r, killedAt.UnixMilli())
		}
	}
	if len(byCall) != n {
		t.Errorf("%d calls in the journal, want %d", len(byCall), n)
	}
}

// SIGTERM drains: /readyz turns 503 and new calls get 503 with Retry-After
// at once; the live calls go on until shutdown_grace, then both legs get a
// BYE, every CDR is written, and the process exits 0 with nothing left for
// a restart to recover.
func TestSIGTERMDrains(t *testing.T) {
	const n = 5
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir, _, p, carrier, calls, ids := procWithCalls(t, ctx, "shutdown_grace: 2s\n", n)
	customer := calls[0].Customer()

	termAt := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 2*time.Second, "/readyz to turn 503", func() bool {
		res, err := http.Get("http://" + p.admin + "/readyz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return res.StatusCode == http.StatusServiceUnavailable
	})
	if _, err := customer.Dial(ctx, p.sip, numAnswer); siptest.Status(err) != 503 {
		t.Fatalf("a new call while draining: %v, want 503", err)
	}
	for i, id := range ids {
		if err := carrier.WaitBye(ctx, id); err != nil {
			t.Fatalf("carrier leg %d got no BYE: %v", i, err)
		}
	}
	if d := time.Since(termAt); d < 1500*time.Millisecond {
		t.Errorf("calls ended %s after SIGTERM, before the 2 s grace", d)
	}
	for i, c := range calls {
		if err := c.WaitBye(ctx); err != nil {
			t.Fatalf("customer leg %d got no BYE: %v", i, err)
		}
	}
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after draining: %v, want 0", err)
		}
		p.exited <- nil
	case <-time.After(10 * time.Second):
		t.Fatal("the switch did not exit after draining")
	}
	byCall := journalByCall(t, dir)
	for i, id := range ids {
		if rs := byCall[id]; len(rs) != 1 || rs[0].HangupSide != "switch" || rs[0].Reason != "Shutdown" || rs[0].Duration < 2 {
			t.Fatalf("call %d CDRs %+v", i, rs)
		}
	}
	live, err := cdr.OpenLive(filepath.Join(dir, "data", "live"))
	if err != nil {
		t.Fatal(err)
	}
	defer live.Close()
	if left, _ := live.Recovered(); len(left) != 0 {
		t.Fatalf("%d calls left for a restart to recover after a clean stop", len(left))
	}
}
