// Command sipload is the Go load generator of the calls-per-second bench
// (package bench/load): a UAC that places calls at a set rate, or a UAS
// that answers them, each saying what sipp says with
// bench/scenarios/uac.xml and uas.xml. It writes what it counted as JSON.
//
//	sipload -mode uas -bind 127.0.0.1:5070
//	sipload -mode uac -bind 127.0.0.2:0 -target 127.0.0.1:5060 -rate 14000 -count 56000 -hold 1s -numbers numbers.csv
//
// The UAC stops once its calls have ended and exits 1 if any failed or did
// not finish (as sipp does); the UAS runs until -duration is over or it is
// sent SIGINT or SIGTERM. Pin it with taskset to measure a switch on
// another core.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/trunkline/trunkline/bench/load"
)

// report is the JSON sipload writes.
type report struct {
	Mode   string         `json:"mode"`
	Bind   string         `json:"bind"`
	Target string         `json:"target,omitempty"`
	Rate   float64        `json:"rate,omitempty"` // asked for
	Hold   string         `json:"hold,omitempty"`
	UAC    *load.UACStats `json:"uac,omitempty"`
	UAS    *load.UASStats `json:"uas,omitempty"`
	Error  string         `json:"error,omitempty"`
}

type options struct {
	mode, target, bind, numbers, out string
	rate                             float64
	count, limit                     int
	duration, hold, timeout, linger  time.Duration
}

func main() {
	var o options
	flag.StringVar(&o.mode, "mode", "uac", "uac (place calls) or uas (answer them)")
	flag.StringVar(&o.target, "target", "127.0.0.1:5060", "uac: where to send (the switch, or a UAS), IPv4 host:port")
	flag.StringVar(&o.bind, "bind", "", "local IPv4 host:port (default 127.0.0.2:0 for uac, 127.0.0.1:5070 for uas)")
	flag.Float64Var(&o.rate, "rate", load.DefaultRate, "uac: calls per second")
	flag.IntVar(&o.count, "count", 0, "uac: calls to place (0: until -duration)")
	flag.DurationVar(&o.duration, "duration", 0, "uac: how long to place calls; uas: how long to run (0: until a signal)")
	flag.DurationVar(&o.hold, "hold", 0, "uac: call length, ACK to BYE (sipp -d)")
	flag.IntVar(&o.limit, "limit", 0, "uac: most calls in progress at once (0: no cap; sipp -l)")
	flag.StringVar(&o.numbers, "numbers", "", "uac: dialled numbers, a sipp injection file (SEQUENTIAL, then one \"number;\" a line)")
	flag.DurationVar(&o.timeout, "timeout", load.DefaultTimeout, "how long a transaction waits for its final response (INVITE, BYE; the UAS's 200 for its ACK)")
	flag.DurationVar(&o.linger, "linger", load.DefaultLinger, "uas: how long an ended call is kept to answer a retransmitted BYE")
	flag.StringVar(&o.out, "out", "-", "where to write the JSON stats (- for stdout)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("component", "sipload")
	code, err := run(&o, log)
	if err != nil {
		log.Error("sipload failed", "error", err)
		os.Exit(2)
	}
	os.Exit(code)
}

func run(o *options, log *slog.Logger) (int, error) {
	if o.bind == "" {
		o.bind = map[string]string{"uac": "127.0.0.2:0", "uas": "127.0.0.1:5070"}[o.mode]
	}
	if o.mode != "uac" && o.mode != "uas" {
		return 0, fmt.Errorf("-mode %q: want uac or uas", o.mode)
	}
	opts := []load.Option{load.WithTimeout(o.timeout), load.WithLinger(o.linger)}
	rep := report{Mode: o.mode}
	if o.mode == "uac" {
		if o.count == 0 && o.duration == 0 {
			return 0, fmt.Errorf("-count or -duration is needed")
		}
		opts = append(opts, load.WithRate(o.rate), load.WithCount(o.count), load.WithDuration(o.duration),
			load.WithHold(o.hold), load.WithLimit(o.limit))
		if o.numbers != "" {
			numbers, err := load.ReadNumbersFile(o.numbers)
			if err != nil {
				return 0, err
			}
			opts = append(opts, load.WithNumbers(numbers))
		}
		rep.Target, rep.Rate, rep.Hold = o.target, o.rate, o.hold.String()
	}
	conn, err := load.Listen(o.bind)
	if err != nil {
		return 0, fmt.Errorf("binding %s: %w", o.bind, err)
	}
	defer conn.Close()
	rep.Bind = conn.LocalAddr().String()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := 0
	switch o.mode {
	case "uac":
		target, err := netip.ParseAddrPort(o.target)
		if err != nil {
			return 0, fmt.Errorf("-target %q: %w", o.target, err)
		}
		uac, err := load.NewUAC(conn, target, opts...)
		if err != nil {
			return 0, err
		}
		log.Info("placing calls", "bind", rep.Bind, "target", o.target, "rate", o.rate, "count", o.count, "duration", o.duration, "hold", o.hold)
		st, err := uac.Run(ctx)
		rep.UAC = &st
		if err != nil {
			rep.Error = err.Error()
			code = 2
		}
		if st.Failed > 0 || st.Outstanding > 0 {
			code = max(code, 1)
		}
		log.Info("done", "created", st.Created, "succeeded", st.Succeeded, "failed", st.Failed,
			"outstanding", st.Outstanding, "rate", fmt.Sprintf("%.0f", st.Rate),
			"invite_to_200_p50_us", st.InviteTo200.P50US, "p99_us", st.InviteTo200.P99US)
	case "uas":
		uas, err := load.NewUAS(conn, opts...)
		if err != nil {
			return 0, err
		}
		if o.duration > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.duration)
			defer cancel()
		}
		log.Info("answering calls", "bind", rep.Bind)
		st, err := uas.Run(ctx)
		rep.UAS = &st
		if err != nil {
			rep.Error = err.Error()
			code = 2
		}
		log.Info("done", "calls", st.Calls, "completed", st.Completed, "failed", st.Failed, "active", st.Active)
	}
	return code, write(o.out, rep)
}

func write(path string, rep report) error {
	b, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return err
	}
	b = append(b, '\n')
	if path == "-" || path == "" {
		_, err = os.Stdout.Write(b)
		return err
	}
	return os.WriteFile(path, b, 0o644)
}
