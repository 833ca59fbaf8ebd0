package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// row is one line of the results table.
type row struct {
	System     string    `json:"system"`
	MaxCPS     int       `json:"max_cps"`            // highest ladder rate passed (median of runs)
	FailedPct  float64   `json:"failed_pct"`         // median failed % at MaxCPS
	PDDp50     float64   `json:"pdd_p50_ms"`         // delay added by the switch (capture), at PDDRate
	PDDp99     float64   `json:"pdd_p99_ms"`         //
	PDDRate    int       `json:"pdd_rate"`           // half of MaxCPS (at least the fixed rate)
	PDDCalls   int       `json:"pdd_calls"`          //
	SippP99    float64   `json:"sipp_p99_ms"`        // INVITE -> 200 as sipp saw it (1 ms resolution), fixed rate
	CPUPerCall float64   `json:"cpu_us_call"`        // switch CPU µs per call at the fixed rate (median)
	CPUAtMax   float64   `json:"cpu_us_call_at_max"` // median over the runs of the max step
	MemPerCall float64   `json:"mem_kib_call"`       // PSS growth per held call
	HeldCalls  int       `json:"held_calls"`
	IdleKiB    int64     `json:"idle_pss_kib"` // PSS after start and provisioning
	RcvBuf     int       `json:"udp_rcvbuf"`   // switch SIP socket receive buffer (kernel accounting)
	Steps      []stepRes `json:"steps"`
	Err        string    `json:"error,omitempty"`
}

type stepRes struct {
	Rate      int       `json:"rate"`
	FailedPct []float64 `json:"failed_pct"`
	Wall      []float64 `json:"wall_s"`
	CPU       []float64 `json:"cpu_us_call"`
	Pass      bool      `json:"pass"`
}

var runSeq int

// measure starts p and the carrier UAS, then runs the fixed-rate runs (CPU
// per call, PDD), the ladder (max CPS), and the held calls (memory).
func measure(o *options, sc *sippConf, p peer, uasPort int) (*row, error) {
	r := &row{System: p.name()}
	uas, err := sc.startUAS("uas", "127.0.0.1", uasPort)
	if err != nil {
		return nil, err
	}
	defer uas.stop(3 * time.Second)
	t0 := time.Now()
	if err := p.start(); err != nil {
		if sp, ok := p.(interface{ stop() }); ok {
			sp.stop()
		}
		return nil, fmt.Errorf("starting %s: %w", p.name(), err)
	}
	defer p.stop()
	port, _ := strconv.Atoi(p.target()[strings.LastIndexByte(p.target(), ':')+1:])
	r.RcvBuf = udpRcvBuf(port)
	r.IdleKiB = pssKiB(tree(p.pids()[0]))
	logf("%s: up and provisioned in %s; SIP socket rcvbuf %d; PSS %d KiB", p.name(), time.Since(t0).Round(time.Millisecond), r.RcvBuf, r.IdleKiB)

	uacPort, _ := freePort("udp", "127.0.0.2")
	one := func(rate, count int, hold time.Duration) uacResult {
		if _, _, err := procStat(p.pids()[0]); err != nil {
			return uacResult{Rate: rate, Err: fmt.Errorf("%s is not running any more (see its log in %s)", p.name(), filepath.Dir(sc.workDir+"/"))}
		}
		runSeq++
		return sc.runUAC(fmt.Sprintf("uac-%03d-%d", runSeq, rate), uacRun{target: p.target(), port: uacPort,
			rate: rate, count: count, hold: hold})
	}
	// Warm-up, and a check that calls go through at all.
	w := one(200, 400, 0)
	if w.Err != nil || w.FailedPct() > 1 {
		return nil, fmt.Errorf("warm-up: %d of %d calls failed (%v); see %s", w.Created-w.Succeeded, w.Created, w.Err, sc.workDir)
	}

	// Held calls: memory per active call.
	if o.hold > 0 && fullPipeline(p.name()) {
		mem, held, err := holdCalls(o, sc, p, uacPort)
		if err != nil {
			logf("%s: held calls: %v", p.name(), err)
		}
		r.MemPerCall, r.HeldCalls = mem, held
		time.Sleep(2 * time.Second)
	}
	// Fixed rate: CPU per call and PDD.
	var cpus, p50s, p99s []float64
	n := int(float64(o.fixedRate) * o.fixedFor.Seconds())
	for range o.runs {
		pids := tree(p.pids()[0])
		before := cpuTicks(pids)
		res := one(o.fixedRate, n, o.callLen)
		used := cpuTicks(pids) - before
		if res.Err != nil {
			logf("%s: fixed-rate run: %v", p.name(), res.Err)
			continue
		}
		us := float64(used) * 1e6 / clockTicks / float64(max(res.Succeeded, 1))
		cpus = append(cpus, us)
		p50s = append(p50s, res.pdd(50))
		p99s = append(p99s, res.pdd(99))
		logf("%s: %d calls/s x %d: failed %.3f%%, CPU %.0f µs/call, PDD p50 %.2f p99 %.2f ms", p.name(),
			o.fixedRate, n, res.FailedPct(), us, p50s[len(p50s)-1], p99s[len(p99s)-1])
	}
	r.CPUPerCall, r.SippP99 = median(cpus), median(p99s)
	_ = p50s

	// Ladder: three runs per step, median; stop at the first failed step.
	for _, rate := range o.ladder {
		st := stepRes{Rate: rate}
		count := int(float64(rate) * o.step.Seconds())
		var passes int
		for i := 0; i < o.runs; i++ {
			pids := tree(p.pids()[0])
			before := cpuTicks(pids)
			res := one(rate, count, o.callLen)
			st.CPU = append(st.CPU, float64(cpuTicks(pids)-before)*1e6/clockTicks/float64(max(res.Succeeded, 1)))
			// Under 0.1 % failed and all calls done within o.lag of the
			// last one's due end.
			ok := res.Err == nil && res.FailedPct() < 0.1 && res.Wall < o.step+o.callLen+o.lag
			if ok {
				passes++
			}
			st.FailedPct = append(st.FailedPct, res.FailedPct())
			st.Wall = append(st.Wall, res.Wall.Seconds())
			logf("%s: %d calls/s run %d: created %d ok %d failed %.3f%% wall %.1fs %v", p.name(), rate, i+1,
				res.Created, res.Succeeded, res.FailedPct(), res.Wall.Seconds(), errText(res.Err))
			// The median is settled once a majority agrees.
			if passes*2 > o.runs || (i+1-passes)*2 > o.runs {
				break
			}
		}
		st.Pass = passes*2 > o.runs
		r.Steps = append(r.Steps, st)
		if !st.Pass {
			break
		}
		r.MaxCPS, r.FailedPct, r.CPUAtMax = rate, median(st.FailedPct), median(st.CPU)
		time.Sleep(500 * time.Millisecond)
	}

	// Added PDD at half of the max rate, from a packet capture.
	r.PDDRate = max(o.fixedRate, r.MaxCPS/2)
	n = int(float64(r.PDDRate) * o.fixedFor.Seconds())
	var err2 error
	r.PDDp50, r.PDDp99, r.PDDCalls, err2 = measurePDD(o, sc, p, uacPort, uasPort, func() uacResult { return one(r.PDDRate, n, o.callLen) })
	if err2 != nil {
		logf("%s: PDD capture: %v", p.name(), err2)
	} else {
		logf("%s: added PDD at %d calls/s over %d calls: p50 %.3f ms, p99 %.3f ms", p.name(), r.PDDRate, r.PDDCalls, r.PDDp50, r.PDDp99)
	}

	return r, nil
}

// holdCalls fills the switch with o.hold long calls and returns the PSS
// growth per call held.
func holdCalls(o *options, sc *sippConf, p peer, uacPort int) (float64, int, error) {
	pids := tree(p.pids()[0])
	before := pssKiB(pids)
	// A Go heap reuses the garbage left by provisioning, so its PSS hardly
	// moves: where the switch serves pprof, the live heap after a forced GC
	// is the figure (heap in use per call).
	heap, _ := p.(interface{ liveHeap() (int64, error) })
	var heapBefore int64
	if heap != nil {
		heapBefore, _ = heap.liveHeap()
	}
	dir := filepath.Join(sc.workDir, "hold")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return 0, 0, err
	}
	stat := filepath.Join(dir, "stat.csv")
	fill := 1000 * o.hold / o.holdRate // ms to place all calls
	argv := sc.taskset(sc.bin, "-sf", filepath.Join(sc.scenarios, "uac.xml"), "-inf", sc.numbers,
		"-i", "127.0.0.2", "-p", strconv.Itoa(uacPort), "-r", strconv.Itoa(o.holdRate), "-rp", "1000",
		"-m", strconv.Itoa(o.hold), "-l", strconv.Itoa(o.hold), "-d", strconv.Itoa(fill+4000),
		"-buff_size", strconv.Itoa(sippBuf), "-nostdin", "-recv_timeout", "5000", "-pause_msg_ign",
		"-trace_stat", "-stf", stat, "-fd", "1", p.target())
	c, err := startChild("sipp hold", dir, filepath.Join(dir, "stdout.log"), filepath.Join(dir, "stdout.log"), argv...)
	if err != nil {
		return 0, 0, err
	}
	defer func() {
		// The calls end by themselves (call length fill+4 s) with BYEs, so
		// the switch is empty again for the runs that follow.
		select {
		case <-c.done:
		case <-time.After(time.Duration(fill+15000) * time.Millisecond):
			_ = syscall.Kill(-c.pid(), syscall.SIGKILL)
			<-c.done
		}
	}()
	time.Sleep(time.Duration(fill+1500) * time.Millisecond)
	var res uacResult
	_ = parseStat(stat, &res)
	held := res.Succeeded // not yet: a call succeeds at its end
	b, _ := os.ReadFile(stat)
	if lines := strings.Split(strings.TrimSpace(string(b)), "\n"); len(lines) >= 2 {
		head, last := strings.Split(lines[0], ";"), strings.Split(lines[len(lines)-1], ";")
		for i, h := range head {
			if h == "CurrentCall" && i < len(last) {
				held, _ = strconv.Atoi(last[i])
			}
		}
	}
	after := pssKiB(tree(p.pids()[0]))
	if held <= 0 {
		return 0, 0, fmt.Errorf("no calls held (see %s)", dir)
	}
	per := float64(after-before) / float64(held)
	logf("%s: %d calls held: PSS %d -> %d KiB, %.2f KiB/call", p.name(), held, before, after, per)
	if heap != nil && heapBefore > 0 {
		if heapAfter, err := heap.liveHeap(); err == nil {
			per = float64(heapAfter-heapBefore) / 1024 / float64(held)
			logf("%s: live heap after GC %d -> %d KiB, %.2f KiB/call", p.name(), heapBefore/1024, heapAfter/1024, per)
		}
	}
	return per, held, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := append([]float64(nil), xs...)
	sort.Float64s(s)
	return s[len(s)/2]
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

// printTable writes the markdown results table and the command that made it.
func printTable(w io.Writer, o *options, rows []*row) {
	host, _ := os.Hostname()
	fmt.Fprintf(w, "\nMachine: %s; %s; switch on CPU %s (GOMAXPROCS=%d / kamailio -n %d), load generator (%s) on CPU %s, nice %d\n",
		host, cpuModel(), o.switchCPU, cpuCount(o.switchCPU), o.kamChildren, o.generator, o.sippCPU, o.genNice)
	fmt.Fprintf(w, "Command: %s\n\n", strings.Join(os.Args, " "))
	var tl, kam *row
	for _, r := range rows {
		switch r.System {
		case "trunkline":
			tl = r
		case "kamailio-full":
			kam = r
		}
	}
	fmt.Fprintln(w, "| row | system | max CPS (<0.1% failed) | failed % at max | added PDD p50 / p99 ms (at CPS) | CPU µs/call @ fixed rate / @ max | memory KiB/active call | sipp INVITE→200 p99 ms | UDP rcvbuf |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|---|---|---|")
	for _, r := range rows {
		if r.Err != "" {
			fmt.Fprintf(w, "| %s | %s | error: %s | | | | | | |\n", label[r.System], r.System, strings.Join(strings.Fields(tailOf(r.Err, 300)), " "))
			continue
		}
		mem := "—"
		if r.HeldCalls > 0 {
			mem = fmt.Sprintf("%.2f (%d held)", r.MemPerCall, r.HeldCalls)
		}
		fmt.Fprintf(w, "| %s | %s | %s | %.3f | %.3f / %.3f (%d) | %.0f / %.0f | %s | %.0f | %d |\n", label[r.System], r.System,
			maxText(r, o), r.FailedPct, r.PDDp50, r.PDDp99, r.PDDRate, r.CPUPerCall, r.CPUAtMax, mem, r.SippP99, r.RcvBuf)
	}
	if tl != nil && kam != nil && tl.Err == "" && kam.Err == "" && kam.MaxCPS > 0 {
		fmt.Fprintf(w, "\nFull pipeline, Trunkline / Kamailio (with topoh): max CPS ratio %.2f; CPU per call ratio %.2f (Kamailio µs / Trunkline µs)\n",
			float64(tl.MaxCPS)/float64(kam.MaxCPS), kam.CPUPerCall/tl.CPUPerCall)
	}
	for _, r := range rows {
		if r.System == "kamailio-full" {
			fmt.Fprintln(w, "kamailio-full hides topology (topoh: Via, Contact, Record-Route masked at 127.0.0.8, carrier-leg Call-ID masked, sanity checks); kamailio-full-notopoh is the same pipeline without it.")
			break
		}
	}
	fmt.Fprintf(w, "Fixed rate: %d calls/s for %s, %d runs, median. Ladder: %v, %s per run, median of %d runs, last call done within %s of its due end. Call length %s.\n",
		o.fixedRate, o.fixedFor, o.runs, o.ladder, o.step, o.runs, o.lag, o.callLen)
}

// label names what each system does in its row.
var label = map[string]string{
	"trunkline":             "full pipeline",
	"kamailio-stateless":    "stateless forward (floor)",
	"kamailio-relay":        "stateful relay",
	"kamailio-dialog":       "+ dialog tracking",
	"kamailio-full":         "full pipeline + topology hiding",
	"kamailio-full-notopoh": "full pipeline, no topology hiding",
}

// fullPipeline reports whether system runs the whole job (rated, accounted,
// its memory per held call measured).
func fullPipeline(system string) bool {
	return system == "trunkline" || strings.HasPrefix(system, "kamailio-full")
}

func maxText(r *row, o *options) string {
	s := strconv.Itoa(r.MaxCPS)
	if len(r.Steps) > 0 && r.Steps[len(r.Steps)-1].Pass && r.MaxCPS == o.ladder[len(o.ladder)-1] {
		s = "≥ " + s + " (top of ladder)"
	}
	return s
}

func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "model name") {
			if i := strings.IndexByte(l, ':'); i > 0 {
				return strings.TrimSpace(l[i+1:])
			}
		}
	}
	return "unknown CPU"
}
