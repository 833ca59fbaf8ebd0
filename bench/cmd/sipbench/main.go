// Command sipbench measures calls per second through a SIP switch on
// loopback: sipp as the customer UAC (127.0.0.2) and as the carrier UAS
// (127.0.0.1), the switch under test pinned to one core, the sipps to the
// other. It runs Trunkline and Kamailio (bench/peers/kamailio.cfg) with the
// same scenarios, the same 100k-prefix deck and the same pinning, and prints
// one table. bench/run.sh builds and runs it; bench/README.md explains the
// figures.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// peer is a switch under test: started with the deck provisioned, reached at
// target, measured over pids, stopped by PID.
type peer interface {
	name() string
	start() error
	target() string
	pids() []int
	stop()
}

type options struct {
	trunkline, kamailio, sipp string
	generator, sipload        string
	scenarios, work           string
	systems                   string
	switchCPU, sippCPU        string
	genNice                   int
	prefixes, numbers         int
	ladder                    []int
	runs                      int
	step                      time.Duration
	lag                       time.Duration
	fixedRate                 int
	fixedFor                  time.Duration
	hold                      int
	callLen                   time.Duration
	holdRate                  int
	kamChildren               int
	pprof                     string
	goenv                     string
	out                       string
}

func main() {
	var o options
	var ladder string
	flag.StringVar(&o.trunkline, "trunkline", "bin/trunkline", "trunkline binary")
	flag.StringVar(&o.kamailio, "kamailio", "kamailio", "kamailio binary")
	flag.StringVar(&o.sipp, "sipp", "sipp", "sipp binary")
	flag.StringVar(&o.generator, "generator", "sipp", "load generator for the carrier UAS and customer UAC: sipp, or go (bench/cmd/sipload; the held calls stay with sipp)")
	flag.StringVar(&o.sipload, "sipload", "bin/sipload", "sipload binary, for -generator go")
	flag.StringVar(&o.scenarios, "scenarios", "bench/scenarios", "directory of uac.xml and uas.xml")
	flag.StringVar(&o.work, "work", "", "work directory, kept (default: a new temporary one, removed at the end)")
	flag.StringVar(&o.systems, "systems", "trunkline,kamailio-relay,kamailio-dialog,kamailio-full", "rows to run, in order: trunkline, trunkline-prepaid (credit control on), trunkline-relay (media relayed: media_relay always), kamailio-stateless (forward, no transactions: the floor), kamailio-relay, kamailio-dialog, kamailio-full (with topoh), kamailio-full-notopoh")
	flag.StringVar(&o.switchCPU, "switch-cpu", "0", "taskset CPU list of the switch")
	flag.StringVar(&o.sippCPU, "sipp-cpu", "1", "taskset CPU list of the sipps")
	flag.IntVar(&o.genNice, "generator-nice", 0, "nice the load generator and capture by this much (for a switch sharing their cores: -switch-cpu 0,1 -sipp-cpu 0,1 -generator-nice 10)")
	flag.IntVar(&o.prefixes, "prefixes", 100000, "prefixes per rate card")
	flag.IntVar(&o.numbers, "numbers", 20000, "distinct dialled numbers")
	flag.StringVar(&ladder, "ladder", "1000,2000,3000,4000,5000,6000,7000", "call rates to climb (calls/s)")
	flag.IntVar(&o.runs, "runs", 3, "runs per ladder step (median)")
	flag.DurationVar(&o.step, "step", 4*time.Second, "length of one ladder run")
	flag.DurationVar(&o.lag, "lag", 2500*time.Millisecond, "a ladder run passes when its last call ends within this of its due time (placing time + call length): 2.5s lets a 4s step absorb a backlog; -step 10s -lag 500ms asks for a rate the switch sustains")
	flag.IntVar(&o.fixedRate, "fixed-rate", 1000, "call rate for CPU per call and PDD")
	flag.DurationVar(&o.fixedFor, "fixed-for", 5*time.Second, "length of one fixed-rate run")
	flag.DurationVar(&o.callLen, "call-length", time.Second, "call length (sipp -d) of the ladder and fixed-rate calls")
	flag.IntVar(&o.hold, "hold", 10000, "concurrent calls held for memory per call (0: skip)")
	flag.IntVar(&o.holdRate, "hold-rate", 2000, "call rate while filling the held calls")
	flag.IntVar(&o.kamChildren, "kamailio-children", 4, "kamailio UDP worker processes (-n)")
	flag.StringVar(&o.pprof, "pprof", "127.0.0.1:6069", "host:port for trunkline's -pprof (live heap per held call; profiling under load); \"\" for none")
	flag.StringVar(&o.goenv, "trunkline-env", "", "extra environment for trunkline, e.g. GOGC=50 (comma-separated)")
	flag.StringVar(&o.out, "out", "", "write the results as JSON to this file too")
	flag.Parse()
	for _, s := range strings.Split(ladder, ",") {
		if v, err := strconv.Atoi(strings.TrimSpace(s)); err == nil && v > 0 {
			o.ladder = append(o.ladder, v)
		}
	}
	if err := run(&o); err != nil {
		fmt.Fprintln(os.Stderr, "sipbench:", err)
		os.Exit(1)
	}
}

func run(o *options) error {
	var err error
	if o.work == "" {
		if o.work, err = os.MkdirTemp("", "sipbench-"); err != nil {
			return err
		}
		// A temporary work directory goes with the run: each holds the
		// switches' journals and stores, hundreds of MB (a machine's /tmp
		// filled up with them). -work keeps one.
		defer os.RemoveAll(o.work)
	}
	switch o.generator {
	case "sipp":
	case "go":
		if o.sipload, err = filepath.Abs(o.sipload); err != nil {
			return err
		}
	default:
		return fmt.Errorf("-generator %q: want sipp or go", o.generator)
	}
	for _, p := range []*string{&o.trunkline, &o.scenarios, &o.work} {
		if *p, err = filepath.Abs(*p); err != nil {
			return err
		}
	}
	logf("work directory %s", o.work)
	if err := ensureRmemMax(); err != nil {
		return err
	}
	t0 := time.Now()
	deck := makeDeck(o.prefixes, o.numbers)
	numbers := filepath.Join(o.work, "numbers.csv")
	if err := writeNumbers(numbers, deck.Numbers); err != nil {
		return err
	}
	logf("deck: %d prefixes per card, %d numbers (%s)", len(deck.Sell), len(deck.Numbers), time.Since(t0).Round(time.Millisecond))
	sc := &sippConf{bin: o.sipp, scenarios: o.scenarios, numbers: numbers, cpu: o.sippCPU, nice: o.genNice, generator: o.generator, sipload: o.sipload}

	var rows []*row
	for _, sys := range strings.Split(o.systems, ",") {
		sys = strings.TrimSpace(sys)
		dir := filepath.Join(o.work, sys)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		sc.workDir = dir
		sipPort, _ := freePort("udp", "127.0.0.1")
		uasPort, _ := freePort("udp", "127.0.0.1")
		var p peer
		switch {
		case sys == "trunkline" || sys == "trunkline-prepaid" || sys == "trunkline-relay":
			p = &trunkline{bin: o.trunkline, cpu: o.switchCPU, procs: cpuCount(o.switchCPU), dir: dir, sipPort: sipPort,
				uasPort: uasPort, pprof: o.pprof, deck: deck, env: splitList(o.goenv), prepaid: sys == "trunkline-prepaid",
				relay: sys == "trunkline-relay"}
		case strings.HasPrefix(sys, "kamailio-"):
			p = &kamailio{bin: o.kamailio, cfg: filepath.Join(filepath.Dir(o.scenarios), "peers", "kamailio.cfg"),
				mode: strings.TrimPrefix(sys, "kamailio-"), cpu: o.switchCPU, children: o.kamChildren, dir: dir,
				sipPort: sipPort, uasPort: uasPort, deck: deck}
		default:
			return fmt.Errorf("unknown system %q", sys)
		}
		r, err := measure(o, sc, p, uasPort)
		if err != nil {
			logf("%s: %v", sys, err)
			r = &row{System: sys, Err: err.Error()}
		}
		rows = append(rows, r)
	}
	printTable(os.Stdout, o, rows)
	if o.out != "" {
		b, _ := json.MarshalIndent(rows, "", "  ")
		if err := os.WriteFile(o.out, b, 0o644); err != nil {
			return err
		}
	}
	logf("done in %s", time.Since(t0).Round(time.Second))
	return nil
}

// ensureRmemMax lets sockets ask for the 4 MB receive buffer (sipp's
// -buff_size is capped by net.core.rmem_max).
func ensureRmemMax() error {
	v, err := readSysctl("net.core.rmem_max")
	if err != nil {
		return err
	}
	if n, _ := strconv.Atoi(v); n < sippBuf {
		if err := writeSysctl("net.core.rmem_max", strconv.Itoa(sippBuf)); err != nil {
			return fmt.Errorf("net.core.rmem_max is %s, below 4 MB, and cannot be raised: %w", v, err)
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, x := range strings.Split(s, ",") {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// cpuCount is how many CPUs a taskset list names ("0", "0,1", "0-3"): the
// switch's GOMAXPROCS. An empty or unreadable list counts as one.
func cpuCount(list string) int {
	n := 0
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(strings.TrimSpace(part), "-")
		a, err1 := strconv.Atoi(lo)
		b, err2 := a, error(nil)
		if isRange {
			b, err2 = strconv.Atoi(hi)
		}
		if err1 != nil || err2 != nil || b < a {
			return max(n, 1)
		}
		n += b - a + 1
	}
	return max(n, 1)
}
