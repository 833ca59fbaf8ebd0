package load

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The cross-check with sipp: the Go UAC against sipp's UAS and sipp's UAC
// against the Go UAS, with the bench's scenarios and the injection file
// format sipbench writes, at the same rate and count; both sides must count
// every call as succeeded.

const scenarios = "../scenarios"

// sippPath finds sipp: TRUNKLINE_TEST_SIPP (scripts/services.sh prints it),
// else PATH. Missing sipp fails the test in CI and skips it elsewhere.
func sippPath(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("TRUNKLINE_TEST_SIPP"); p != "" {
		return p
	}
	if p, err := exec.LookPath("sipp"); err == nil {
		return p
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("sipp not found: scripts/services.sh up installs it (Debian package sip-tester)")
	}
	t.Skip(`sipp not installed; run eval "$(scripts/services.sh up)"`)
	return ""
}

// sipp is one sipp process of a test, killed if the test ends first.
type sipp struct {
	cmd  *exec.Cmd
	dir  string
	out  bytes.Buffer
	done chan error
}

func startSipp(t *testing.T, args ...string) *sipp {
	t.Helper()
	s := &sipp{dir: t.TempDir(), done: make(chan error, 1)}
	args = append([]string{"-nostdin", "-buff_size", "4194304", "-trace_stat", "-stf", "stat.csv", "-fd", "1", "-timeout", "30s"}, args...)
	s.cmd = exec.Command(sippPath(t), args...)
	s.cmd.Dir = s.dir
	s.cmd.Stdout, s.cmd.Stderr = &s.out, &s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("starting sipp: %v", err)
	}
	go func() { s.done <- s.cmd.Wait() }()
	t.Cleanup(func() {
		if s.cmd.ProcessState == nil {
			_ = s.cmd.Process.Kill()
			<-s.done
		}
	})
	return s
}

// wait waits for sipp to end by itself and returns its final
// SuccessfulCall(C) and FailedCall(C) counts.
func (s *sipp) wait(t *testing.T) (succeeded, failed int) {
	t.Helper()
	select {
	case err := <-s.done:
		if err != nil {
			t.Errorf("sipp exited with %v\n%s", err, tailOf(s.out.String(), 2000))
		}
	case <-time.After(40 * time.Second):
		t.Fatal("sipp did not finish")
	}
	b, err := os.ReadFile(filepath.Join(s.dir, "stat.csv"))
	if err != nil {
		t.Fatalf("sipp statistics: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
	for i, h := range head {
		v, _ := strconv.Atoi(strings.TrimSpace(last[min(i, len(last)-1)]))
		switch h {
		case "SuccessfulCall(C)":
			succeeded = v
		case "FailedCall(C)":
			failed = v
		}
	}
	return succeeded, failed
}

// waitBound waits until something has bound UDP port on ip.
func waitBound(t *testing.T, ip string, port int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip), Port: port})
		if err != nil {
			return
		}
		c.Close()
	}
	t.Fatalf("nothing bound %s:%d", ip, port)
}

func freePort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

func tailOf(s string, n int) string { return s[max(len(s)-n, 0):] }

func TestAgainstSipp(t *testing.T) {
	sippPath(t)
	const rate, calls, holdMS = 200, 400, 100
	numbers := []string{"4420712345678", "12125550100", "33142345678"}
	inf := filepath.Join(t.TempDir(), "numbers.csv")
	// As sipbench's writeNumbers writes it.
	if err := os.WriteFile(inf, []byte("SEQUENTIAL\n"+strings.Join(numbers, ";\n")+";\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	read, err := ReadNumbersFile(inf)
	if err != nil || len(read) != len(numbers) {
		t.Fatalf("reading the injection file: %q, %v", read, err)
	}
	uas, uac := filepath.Join(scenarios, "uas.xml"), filepath.Join(scenarios, "uac.xml")
	for _, p := range []*string{&uas, &uac} {
		if *p, err = filepath.Abs(*p); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("Go UAC to sipp UAS", func(t *testing.T) {
		port := freePort(t, "127.0.0.1")
		sp := startSipp(t, "-sf", uas, "-i", "127.0.0.1", "-p", strconv.Itoa(port), "-m", strconv.Itoa(calls))
		waitBound(t, "127.0.0.1", port)
		target, _ := net.ResolveUDPAddr("udp4", "127.0.0.1:"+strconv.Itoa(port))
		u := runUAC(t, target.AddrPort(), WithRate(rate), WithCount(calls), WithHold(holdMS*time.Millisecond), WithNumbers(read))
		ok, failed := sp.wait(t)
		if u.Succeeded != calls || u.Failed != 0 || ok != calls || failed != 0 {
			t.Errorf("Go UAC succeeded %d (failed %d: %v), sipp UAS succeeded %d (failed %d); want %d",
				u.Succeeded, u.Failed, u.Failures, ok, failed, calls)
		}
	})

	t.Run("sipp UAC to Go UAS", func(t *testing.T) {
		target, stop := startUAS(t)
		sp := startSipp(t, "-sf", uac, "-inf", inf, "-i", "127.0.0.2", "-p", strconv.Itoa(freePort(t, "127.0.0.2")),
			"-r", strconv.Itoa(rate), "-rp", "1000", "-m", strconv.Itoa(calls), "-d", strconv.Itoa(holdMS), target.String())
		ok, failed := sp.wait(t)
		s := stop()
		if ok != calls || failed != 0 || s.Completed != calls || s.Calls != calls || s.Failed != 0 || s.Unknown != 0 {
			t.Errorf("sipp UAC succeeded %d (failed %d), Go UAS completed %d of %d calls (failed %d, unknown %d); want %d",
				ok, failed, s.Completed, s.Calls, s.Failed, s.Unknown, calls)
		}
	})
}
