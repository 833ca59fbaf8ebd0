package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"
	"github.com/trunkline/trunkline/sip/siptest"
	"github.com/trunkline/trunkline/store/storetest"
)

// redisProc is a redis-server of the test's own on a loopback port,
// writing every change to its append-only file before it answers
// (appendfsync always), so that a restart loses nothing acknowledged.
type redisProc struct {
	t    *testing.T
	port int
	dir  string
	args []string // more redis-server arguments
	cmd  *exec.Cmd
	done chan struct{}
}

// startRedis starts a redis-server with args added to its own.
func startRedis(t *testing.T, args ...string) *redisProc {
	t.Helper()
	if _, err := exec.LookPath("redis-server"); err != nil {
		storetest.Missing(t, "no redis-server: scripts/services.sh installs it")
	}
	port := freePort(t)
	r := &redisProc{t: t, port: port, dir: t.TempDir(), args: args}
	r.start()
	t.Cleanup(func() { r.kill() })
	return r
}

// freePort returns a TCP port free on 127.0.0.1 a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func (r *redisProc) url() string { return "redis://127.0.0.1:" + strconv.Itoa(r.port) + "/0" }

func (r *redisProc) start() {
	r.t.Helper()
	r.cmd = exec.Command("redis-server", append([]string{"--port", strconv.Itoa(r.port), "--bind", "127.0.0.1", "--dir", r.dir,
		"--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode", "no",
		"--logfile", filepath.Join(r.dir, "redis.log")}, r.args...)...)
	if err := r.cmd.Start(); err != nil {
		r.t.Fatal(err)
	}
	r.done = make(chan struct{})
	go func(c *exec.Cmd, done chan struct{}) { _ = c.Wait(); close(done) }(r.cmd, r.done)
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port)})
	defer rdb.Close()
	deadline := time.Now().Add(10 * time.Second)
	for rdb.Ping(context.Background()).Err() != nil {
		if time.Now().After(deadline) {
			r.t.Fatal("redis-server did not answer within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// kill SIGKILLs the server and waits for it.
func (r *redisProc) kill() {
	if r.cmd != nil && r.cmd.Process != nil {
		_ = r.cmd.Process.Kill()
		<-r.done
	}
}

// A node's Redis goes away during calls and comes back: calls that need
// the store get their answer within a fraction of a second (a prepaid
// call is refused, a limit check refused or let pass as the node's
// policy says), calls up keep going, and every call that ended while Redis
// was away is charged once it is back: the ledger ends at the payment less
// every CDR's price.
func TestRedisOutage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a redis-server")
	}
	t.Parallel()
	r := startRedis(t, "--enable-debug-command", "local")
	yaml := fmt.Sprintf("store: %q\nstore_timeout: 20ms\n", r.url())
	a := startSwitchYAML(t, yaml+"limits:\n  on_store_error: refuse\n")
	cfgB := testConfig(t, yaml+"limits:\n  on_store_error: admit\n")
	cfgB.Node = "e2e-b"
	nb, err := start(context.Background(), cfgB, testLogger())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nb.close)
	b := &testSwitch{node: nb, api: &apiClient{t: t, base: "http://" + nb.AdminAddr.String(), token: a.api.token}}

	carrier := siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	prepaid := provisionMoneyTo(t, a.api, carrier, "0.6", map[string]any{"credit_limit": "0"}) // 127.0.0.2, 0.01 a second
	pay(a.api, prepaid, "10.00")
	postpaid := anotherCustomer(a.api, prepaid, "Postpaid Ltd", "127.0.0.3")
	time.Sleep(2*configPoll + 500*time.Millisecond) // B follows the configuration version

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	pre, post := siptest.NewCustomer(t, "127.0.0.2"), siptest.NewCustomer(t, "127.0.0.3")
	var up []*siptest.Call
	for _, d := range []struct {
		ua *siptest.Customer
		sw *testSwitch
	}{{pre, a}, {pre, b}, {post, a}} {
		c, err := d.ua.Dial(ctx, d.sw.SIPAddr.String(), numAnswer)
		if err != nil {
			t.Fatal(err)
		}
		up = append(up, c)
	}

	// A busy Redis (DEBUG SLEEP): a call's set-up waits on it at most the
	// store timeout (20 ms) a step, for its limits and for its credit: A
	// refuses at its limits; B lets its limits pass and refuses at the
	// credit. Either would take the client's read timeout (200 ms) a step
	// if the call's deadline did not bound the command.
	slow := make(chan error, 1)
	go func() {
		rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(r.port), ReadTimeout: 5 * time.Second})
		defer rdb.Close()
		slow <- rdb.Do(ctx, "DEBUG", "SLEEP", "2").Err()
	}()
	time.Sleep(200 * time.Millisecond)
	for _, sw := range []*testSwitch{a, b} {
		start := time.Now()
		if _, err := pre.Dial(ctx, sw.SIPAddr.String(), numAnswer); siptest.Status(err) != 503 {
			t.Fatalf("a prepaid call while Redis is busy: %v, want 503", err)
		}
		if took := time.Since(start); took > 150*time.Millisecond {
			t.Fatalf("a call's set-up waited %s on a busy Redis", took)
		}
	}
	if err := <-slow; err != nil {
		t.Fatal(err)
	}

	r.kill()
	quick := func(what string, ua *siptest.Customer, sw *testSwitch, want int) *siptest.Call {
		t.Helper()
		start := time.Now()
		c, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
		if got := siptest.Status(err); got != want && !(want == 200 && err == nil) {
			t.Fatalf("%s with Redis down: %v, want %d", what, err, want)
		}
		if took := time.Since(start); took > time.Second {
			t.Fatalf("%s with Redis down took %s", what, took)
		}
		return c
	}
	quick("a prepaid call through the node that refuses", pre, a, 503)
	quick("a prepaid call through the node that admits (credit never fails open)", pre, b, 503)
	quick("a postpaid call through the node that refuses", post, a, 503)
	up = append(up, quick("a postpaid call through the node that admits", post, b, 200))
	time.Sleep(time.Second)
	for _, c := range up {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The nodes say they are not ready while their store is away.
	for _, sw := range []*testSwitch{a, b} {
		res, err := http.Get(sw.api.base + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(body), "store") {
			t.Fatalf("/readyz with Redis down: %d %s", res.StatusCode, body)
		}
	}
	time.Sleep(6 * time.Second) // the charges are refused and wait: longer than a few quick retries
	r.start()
	// The nodes' clients dial again within a second (go-redis retries a
	// pool that failed to dial once a second).
	for _, sw := range []*testSwitch{a, b} {
		waitUntil(t, 5*time.Second, "/readyz after Redis came back", func() bool {
			res, err := http.Get(sw.api.base + "/readyz")
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
		waitUntil(t, 5*time.Second, "the API after Redis came back", func() bool {
			req, _ := http.NewRequest("GET", sw.api.base+"/api/v1/customers", nil)
			req.Header.Set("Authorization", "Bearer "+sw.api.token)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				return false
			}
			res.Body.Close()
			return res.StatusCode == http.StatusOK
		})
	}

	// Every call is charged once Redis is back. (Each node's journal
	// holds its own CDRs.)
	na, wa := answeredCDRs(a.api, prepaid)
	nb2, wb := answeredCDRs(b.api, prepaid)
	want := wa + wb
	if na+nb2 != 2 {
		t.Fatalf("%d answered prepaid CDRs, want 2", na+nb2)
	}
	paid := mustMoney(t, "10.00")
	waitUntil(t, 30*time.Second, "the prepaid calls' charges after Redis came back", func() bool {
		st := money(t, a.api, prepaid)
		return len(st.Entries) == 3 && st.Reserved == 0
	})
	if st := money(t, b.api, prepaid); st.Balance != paid-want || want <= 0 {
		t.Fatalf("balance %s, want 10.00 less the CDRs' %s", st.Balance, want)
	}
	waitUntil(t, 30*time.Second, "the postpaid calls' charges", func() bool {
		return len(money(t, a.api, postpaid).Entries) == 2
	})
}
