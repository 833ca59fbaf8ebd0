package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
)

// runBin runs the trunkline binary with args (and env added) and returns
// its stdout, stderr and exit code.
func runBin(t *testing.T, env []string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command(testBinary(t), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return out.String(), errb.String(), code
}

// Help is asked for, not a mistake: every form exits 0 and prints to
// stdout; an unknown command exits 1; version names the revision.
func TestCLIHelpAndVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	for _, args := range [][]string{{}, {"-h"}, {"--help"}, {"help"}, {"help", "serve"}, {"serve", "-h"}, {"check", "-h"},
		{"token", "-h"}, {"token", "create", "-h"}, {"health", "-h"}, {"version", "-h"}} {
		out, errOut, code := runBin(t, nil, args...)
		if code != 0 || !strings.Contains(out, "Usage: trunkline") {
			t.Errorf("trunkline %v: exit %d, stdout %q, stderr %q", args, code, out, errOut)
		}
	}
	if out, _, _ := runBin(t, nil, "serve", "-h"); !strings.Contains(out, "-admin") || !strings.Contains(out, "TRUNKLINE_") {
		t.Errorf("serve -h does not list its flags and their environment variables:\n%s", out)
	}
	if _, errOut, code := runBin(t, nil, "launch"); code != 1 || !strings.Contains(errOut, `unknown command "launch"`) {
		t.Errorf("an unknown command: exit %d, %q", code, errOut)
	}
	out, _, code := runBin(t, nil, "version")
	rev, _ := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if code != 0 || !strings.HasPrefix(out, "trunkline ") || out == "trunkline dev\n" ||
		(len(rev) > 0 && !strings.Contains(out, strings.TrimSpace(string(rev)))) {
		t.Errorf("version: %q (HEAD %s)", out, rev)
	}
}

// check reports every problem of a broken config at once, each with its
// file and line, in the file's words (no Go type names); a good config is
// OK.
func TestCLICheck(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte(`node: ok
sip:
  listen: nowhere
  invite_timeout: soon
  colour: blue
admin:
  listen: 127.0.0.1:8080
limits:
  on_store_error: shrug
log:
  level: loud
`), 0o600)
	out, _, code := runBin(t, nil, "check", "-config", bad)
	want := []string{
		bad + `:4: "soon" is not a duration`,
		bad + `:5: unknown setting "colour"`,
	}
	if code != 1 {
		t.Errorf("check of a broken config: exit %d", code)
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("check does not say %q:\n%s", w, out)
		}
	}
	if strings.Contains(out, "main.") || strings.Contains(out, "time.Duration") {
		t.Errorf("check speaks Go:\n%s", out)
	}
	// Once the file decodes, the setting problems, each at its line.
	os.WriteFile(bad, []byte("node: ok\nsip:\n  listen: nowhere\nlimits:\n  on_store_error: shrug\nlog:\n  level: loud\n"), 0o600)
	out, _, code = runBin(t, nil, "check", "-config", bad)
	for _, w := range []string{bad + ":3: sip.listen", bad + ":5: limits.on_store_error", bad + ":7: log.level"} {
		if code != 1 || !strings.Contains(out, w) {
			t.Errorf("check does not say %q (exit %d):\n%s", w, code, out)
		}
	}
	good := procConfig(t, dir, "")
	if out, _, code := runBin(t, nil, "check", "-config", good); code != 0 || !strings.Contains(out, "OK") {
		t.Errorf("check of a good config: exit %d, %q", code, out)
	}
}

// token create gives a working admin token for a switch that is stopped,
// refuses while it runs (the store is its), and the first start's token is
// printed once the switch is ready. Flags come from TRUNKLINE_* too.
func TestCLITokenCreate(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	cfg := procConfig(t, dir, "")
	p := startProc(t, testBinary(t), cfg)
	if p.token == "" {
		t.Fatal("the first start printed no token")
	}
	data := filepath.Join(dir, "data")
	if _, errOut, code := runBin(t, nil, "token", "create", "-data", data); code != 1 || !strings.Contains(errOut, "running") {
		t.Fatalf("token create beside the running switch: exit %d, %q", code, errOut)
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	p.exited <- <-p.exited // waited for; the cleanup waits again
	out, errOut, code := runBin(t, []string{"TRUNKLINE_DATA=" + data}, "token", "create", "-name", "recovery")
	m := regexp.MustCompile(`: (tl_\S+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("token create on the stopped switch: exit %d, %q %q", code, out, errOut)
	}
	p2 := startProc(t, testBinary(t), cfg)
	if p2.token != "" {
		t.Error("a later start printed another token")
	}
	req, _ := http.NewRequest("GET", "http://"+p2.admin+"/api/v1/customers", nil)
	req.Header.Set("Authorization", "Bearer "+m[1])
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("the token made by token create: %d", res.StatusCode)
	}
	// Both tokens, the first start's and the recovery one, are in the
	// audit log.
	api := &apiClient{t: t, base: "http://" + p2.admin, token: m[1]}
	var audit struct {
		Entries []struct{ Route, Path string }
	}
	api.do("GET", "/api/v1/audit?path=token", nil, http.StatusOK, &audit)
	if len(audit.Entries) != 2 || audit.Entries[0].Path != "token recovery" || audit.Entries[0].Route != "trunkline token create" {
		t.Errorf("the audit log of tokens made outside the API: %+v", audit.Entries)
	}
	if out, errOut, code := runBin(t, []string{"TRUNKLINE_ADMIN=" + p2.admin}, "health"); code != 0 || !strings.Contains(out, "ready") {
		t.Errorf("health of the running switch: exit %d, %q %q", code, out, errOut)
	}
}

// SIGHUP re-reads the config: a new log level applies at once, the
// process lives on, and a setting that needs a restart is named.
func TestSIGHUPReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	dir := t.TempDir()
	cfg := procConfig(t, dir, "")
	p := startProc(t, testBinary(t), cfg)
	b, _ := os.ReadFile(cfg)
	b = bytes.Replace(b, []byte("level: info"), []byte("level: debug"), 1)
	b = bytes.Replace(b, []byte("invite_timeout: 2s"), []byte("invite_timeout: 3s"), 1)
	os.WriteFile(cfg, b, 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`SIGHUP: log level changed.*level=debug`), 10*time.Second)
	p.waitLog(t, regexp.MustCompile(`next restart.*settings=\[sip\]`), 10*time.Second)
	p.waitLog(t, regexp.MustCompile(`SIGHUP: reloaded`), 10*time.Second)
	// Debug lines now show: a datagram that does not parse is one.
	conn, err := (&net.Dialer{}).Dial("udp", p.sip)
	if err != nil {
		t.Fatal(err)
	}
	conn.Write([]byte("not SIP at all\r\n\r\n"))
	conn.Close()
	p.waitLog(t, regexp.MustCompile(`level=DEBUG`), 10*time.Second)
	// And back: the level follows the file, not the start's.
	b = bytes.Replace(b, []byte("level: debug"), []byte("level: info"), 1)
	os.WriteFile(cfg, b, 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	p.waitLog(t, regexp.MustCompile(`SIGHUP: log level changed.*level=info`), 10*time.Second)
	select {
	case err := <-p.exited:
		t.Fatalf("SIGHUP ended the process: %v", err)
	default:
	}
}

// trunkline quickstart makes the set through a running switch's API; run
// again with the same key it makes nothing more.
func TestCLIQuickstart(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	p := startProc(t, testBinary(t), procConfig(t, t.TempDir(), ""))
	env := []string{"TRUNKLINE_TOKEN=" + p.token, "TRUNKLINE_ADMIN=" + p.admin}
	args := []string{"quickstart", "-carrier-name", "Carrier", "-carrier-host", "127.0.0.1", "-rate", "44=0.0100", "-rate", "1=0.0050",
		"-markup", "+0.002", "-customer-name", "Customer", "-sip-user", "alice:a long password", "-payment", "10", "-request-key", "k1"}
	out, errOut, code := runBin(t, env, args...)
	var first struct {
		CustomerID string `json:"customer_id"`
		SIPUserID  string `json:"sip_user_id"`
	}
	if code != 0 || json.Unmarshal([]byte(out), &first) != nil || first.CustomerID == "" || first.SIPUserID == "" {
		t.Fatalf("quickstart: exit %d, %s %s", code, out, errOut)
	}
	out2, _, code := runBin(t, env, args...)
	if code != 0 || !strings.Contains(out2, first.CustomerID) {
		t.Fatalf("the same quickstart again: exit %d, %s", code, out2)
	}
	if _, errOut, code := runBin(t, env, "quickstart", "-carrier-name", "X", "-carrier-host", "h", "-rate", "44", "-customer-name", "C", "-ip", "10.0.0.1"); code != 1 || !strings.Contains(errOut, "prefix=rate") {
		t.Fatalf("a bad -rate: exit %d, %q", code, errOut)
	}
}

// The systemd unit's ExecStartPre, `trunkline check` with the config named
// by TRUNKLINE_CONFIG, passes on an empty file.
func TestCLICheckFromEnv(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	empty := filepath.Join(t.TempDir(), "trunkline.yaml")
	os.WriteFile(empty, nil, 0o600)
	unit, err := os.ReadFile("../../scripts/systemd/trunkline.service")
	if err != nil || !strings.Contains(string(unit), "ExecStartPre=/usr/local/bin/trunkline check\n") {
		t.Fatalf("the unit's check: %v", err)
	}
	if out, errOut, code := runBin(t, []string{"TRUNKLINE_CONFIG=" + empty}, "check"); code != 0 {
		t.Fatalf("check of an empty config named by TRUNKLINE_CONFIG: exit %d, %s %s", code, out, errOut)
	}
}

// An ended call writes one info line with its ids, customer, carrier,
// code, duration and costs; log.calls: false writes none.
func TestCallLogLine(t *testing.T) {
	t.Parallel()
	for _, on := range []bool{true, false} {
		t.Run(fmt.Sprint("calls=", on), func(t *testing.T) {
			var mu sync.Mutex
			var buf bytes.Buffer
			log := slog.New(slog.NewTextHandler(writerFunc(func(b []byte) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				return buf.Write(b)
			}), &slog.HandlerOptions{Level: slog.LevelInfo}))
			cfg := testConfig(t, "")
			cfg.Log.Calls = &on
			n, err := start(context.Background(), cfg, log)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(n.close)
			sw := &testSwitch{node: n, api: &apiClient{t: t, base: "http://" + n.AdminAddr.String(), token: n.Token}}
			carrier := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
			customer, carrierID, _ := provision(t, sw, carrier, carrier)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			call, err := siptest.NewCustomer(t, "127.0.0.2").Dial(ctx, sw.SIPAddr.String(), numAnswer)
			if err != nil {
				t.Fatal(err)
			}
			call.Hangup(ctx)
			sw.api.cdrs(call.CallID, 1) // written: the line comes with it
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			out := buf.String()
			mu.Unlock()
			var line string
			for _, l := range strings.Split(out, "\n") {
				if strings.Contains(l, `msg="call ended"`) {
					line = l
				}
			}
			if !on {
				if line != "" {
					t.Fatalf("log.calls false, and a call line: %s", line)
				}
				return
			}
			for _, want := range []string{"customer=" + customer, "carrier=" + carrierID, "code=200", "duration=", "sell=0.", "buy=0.", "currency=USD", "sip_call_id=" + call.CallID} {
				if !strings.Contains(line, want) {
					t.Errorf("the call's log line lacks %q: %q", want, line)
				}
			}
		})
	}
}

// writerFunc is a function as an io.Writer.
type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(b []byte) (int, error) { return f(b) }
