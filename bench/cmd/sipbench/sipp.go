package main

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// sippBuf is the UDP socket buffer asked of sipp (and of the switches).
const sippBuf = 4 << 20

// child is a process the harness started and stops by its PID.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan error
}

func startChild(name, dir string, stdout, stderr string, argv ...string) (*child, error) {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	var err error
	if cmd.Stdout, err = os.Create(stdout); err != nil {
		return nil, err
	}
	if stderr == stdout {
		cmd.Stderr = cmd.Stdout
	} else if cmd.Stderr, err = os.Create(stderr); err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("starting %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan error, 1)}
	go func() { c.done <- cmd.Wait() }()
	return c, nil
}

func (c *child) pid() int { return c.cmd.Process.Pid }

// stop sends SIGTERM to the child's process group (it and what it forked,
// nothing else), then SIGKILL after grace.
func (c *child) stop(grace time.Duration) {
	select {
	case <-c.done:
		c.done <- nil
		return
	default:
	}
	_ = syscall.Kill(-c.pid(), syscall.SIGTERM)
	select {
	case err := <-c.done:
		c.done <- err
	case <-time.After(grace):
		_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
		c.done <- <-c.done
	}
}

// sippConf is what every sipp run shares.
type sippConf struct {
	bin       string
	scenarios string // directory holding uac.xml and uas.xml
	numbers   string // injection file
	workDir   string
	cpu       string // taskset CPU list for sipp
	nice      int    // niceness of the generator and capture (CPU shares against a switch on the same cores)
	generator string // "sipp", or "go" for sipload as UAS and UAC (sipload.go)
	sipload   string // sipload binary
}

// uacRun is one sipp UAC run: rate calls/s for count calls of length hold.
type uacRun struct {
	target string // switch host:port
	port   int    // local port on 127.0.0.2
	rate   int
	count  int
	hold   time.Duration
	limit  int // max concurrent calls
}

// uacResult is what a UAC run measured.
type uacResult struct {
	Rate      int
	Created   int
	Succeeded int
	Failed    int
	Wall      time.Duration // from start to exit
	PDD       []float64     // INVITE -> 200, ms, one per answered call (sipp)
	P50, P99  float64       // INVITE -> 200, ms, as sipload reports it instead
	Err       error
}

// pdd returns the p-th percentile (50 or 99) of INVITE -> 200 in ms.
func (r uacResult) pdd(p float64) float64 {
	if r.PDD == nil && p == 50 {
		return r.P50
	}
	if r.PDD == nil && p == 99 {
		return r.P99
	}
	return percentile(r.PDD, p)
}

// FailedPct counts calls that did not succeed (failed or never finished).
func (r uacResult) FailedPct() float64 {
	if r.Created == 0 {
		return 100
	}
	return 100 * float64(r.Created-r.Succeeded) / float64(r.Created)
}

func (s *sippConf) taskset(argv ...string) []string {
	if s.nice != 0 {
		argv = append([]string{"nice", "-n", strconv.Itoa(s.nice)}, argv...)
	}
	if s.cpu == "" {
		return argv
	}
	return append([]string{"taskset", "-c", s.cpu}, argv...)
}

// startUAS starts the carrier: sipp UAS (or sipload's) on ip:port until
// stopped.
func (s *sippConf) startUAS(name, ip string, port int) (*child, error) {
	if s.generator == "go" {
		return s.startGoUAS(name, ip, port)
	}
	dir := filepath.Join(s.workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	argv := s.taskset(s.bin, "-sf", filepath.Join(s.scenarios, "uas.xml"), "-i", ip, "-p", strconv.Itoa(port),
		"-buff_size", strconv.Itoa(sippBuf), "-nostdin", "-recv_timeout", "30000", "-max_recv_loops", "10000", "-max_sched_loops", "10000")
	c, err := startChild(name, dir, filepath.Join(dir, "stdout.log"), filepath.Join(dir, "stdout.log"), argv...)
	if err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-c.done:
		b, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
		return nil, fmt.Errorf("sipp UAS exited at once (%v): %s", err, tailOf(string(b), 800))
	default:
	}
	return c, nil
}

// uacSetup makes the work directory of UAC run name and returns it, the
// run's limit of calls in progress and how long the run may take at most.
func (s *sippConf) uacSetup(name string, r uacRun) (dir string, limit int, budget time.Duration, err error) {
	dir = filepath.Join(s.workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", 0, 0, err
	}
	limit = r.limit
	if limit == 0 {
		limit = 50000
	}
	budget = time.Duration(r.count/max(r.rate, 1))*time.Second + r.hold + 15*time.Second
	return dir, limit, budget, nil
}

// runUAC places r.count calls at r.rate with sipp (or sipload) and waits
// for it to end.
func (s *sippConf) runUAC(name string, r uacRun) uacResult {
	if s.generator == "go" {
		return s.runGoUAC(name, r)
	}
	res := uacResult{Rate: r.rate}
	dir, limit, budget, err := s.uacSetup(name, r)
	if err != nil {
		res.Err = err
		return res
	}
	argv := s.taskset(s.bin, "-sf", filepath.Join(s.scenarios, "uac.xml"), "-inf", s.numbers,
		"-i", "127.0.0.2", "-p", strconv.Itoa(r.port), "-r", strconv.Itoa(r.rate), "-rp", "1000",
		"-m", strconv.Itoa(r.count), "-l", strconv.Itoa(limit), "-d", strconv.Itoa(int(r.hold/time.Millisecond)),
		"-buff_size", strconv.Itoa(sippBuf), "-nostdin", "-recv_timeout", "5000", "-pause_msg_ign",
		"-timeout", strconv.Itoa(int(budget/time.Second))+"s",
		"-max_recv_loops", "10000", "-max_sched_loops", "10000",
		"-trace_stat", "-stf", filepath.Join(dir, "stat.csv"), "-fd", "1",
		"-trace_rtt", "-rtt_freq", "1", "-trace_err", r.target)
	start := time.Now()
	c, err := startChild(name, dir, filepath.Join(dir, "stdout.log"), filepath.Join(dir, "stdout.log"), argv...)
	if err != nil {
		res.Err = err
		return res
	}
	select {
	case <-c.done:
	case <-time.After(budget + 10*time.Second):
		c.stop(2 * time.Second)
		res.Err = errors.New("sipp UAC overran its time budget")
	}
	res.Wall = time.Since(start)
	if err := parseStat(filepath.Join(dir, "stat.csv"), &res); err != nil && res.Err == nil {
		b, _ := os.ReadFile(filepath.Join(dir, "stdout.log"))
		res.Err = fmt.Errorf("%w: %s", err, tailOf(string(b), 800))
	}
	rtts, _ := filepath.Glob(filepath.Join(dir, "*_rtt.csv"))
	for _, f := range rtts {
		res.PDD = append(res.PDD, parseRTT(f)...)
	}
	return res
}

// parseStat reads the last line of sipp's -trace_stat file.
func parseStat(path string, res *uacResult) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("sipp wrote no statistics: %w", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) < 2 {
		return errors.New("sipp statistics file has no data row")
	}
	head := strings.Split(lines[0], ";")
	last := strings.Split(lines[len(lines)-1], ";")
	get := func(col string) int {
		for i, h := range head {
			if h == col && i < len(last) {
				v, _ := strconv.Atoi(strings.TrimSpace(last[i]))
				return v
			}
		}
		return 0
	}
	res.Created = get("TotalCallCreated")
	res.Succeeded = get("SuccessfulCall(C)")
	res.Failed = get("FailedCall(C)")
	return nil
}

// parseRTT reads sipp's -trace_rtt file: date_ms;response_time_ms;rtd_no.
func parseRTT(path string) []float64 {
	f, err := os.Open(path)
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []float64
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fs := strings.Split(sc.Text(), ";")
		if len(fs) < 2 {
			continue
		}
		if v, err := strconv.ParseFloat(strings.TrimSpace(fs[1]), 64); err == nil {
			out = append(out, v)
		}
	}
	return out
}

func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

func tailOf(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
