// Command trunkline runs the Trunkline softswitch.
//
//	trunkline serve [-config FILE] [-data DIR] [-sip ADDR] [-admin ADDR]
//	trunkline check -config FILE
//	trunkline quickstart -token T -carrier-name N -carrier-host H -rate 44=0.01 -customer-name C -ip A
//	trunkline token create [-data DIR | -store URL]
//	trunkline health [-admin ADDR]
//	trunkline version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trunkline:", err)
		os.Exit(1)
	}
}

// command is one of trunkline's commands.
type command struct {
	name, summary string
	run           func(args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"serve", "run the switch", serve},
		{"check", "check a config file: every error, with its line", check},
		{"quickstart", "make a carrier, its rates, a customer and its route in one step (on a running switch)", quickstartCmd},
		{"token", "make an admin API token, the switch running or not (token create)", tokenCmd},
		{"health", "ask a running switch whether it is ready (exit 0) or not (exit 1)", health},
		{"version", "print the version and the revision it was built from", versionCmd},
		{"help", "show this help, or a command's (help serve)", nil},
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Trunkline: a class-4 softswitch with a rating engine.")
	fmt.Fprintln(w, "\nUsage: trunkline <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-11s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery flag can also be set by an environment variable: -admin by TRUNKLINE_ADMIN, -data by\nTRUNKLINE_DATA, and so on. Run trunkline <command> -h for a command's flags.")
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" {
		usage(stdout)
		return nil
	}
	name, rest := args[0], args[1:]
	if name == "help" {
		if len(rest) == 0 {
			usage(stdout)
			return nil
		}
		name, rest = rest[0], []string{"-h"}
	}
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			err := c.run(rest, stdout, stderr)
			if errors.Is(err, flag.ErrHelp) {
				return nil // -h: the usage went to stdout
			}
			return err
		}
	}
	usage(stderr)
	return fmt.Errorf("unknown command %q", name)
}

// newFlags returns the flag set of command name: its usage goes to stdout
// on -h (a request, exit 0), to stderr after a mistake.
func newFlags(name, synopsis string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		w := fs.Output()
		fmt.Fprintf(w, "Usage: trunkline %s\n\nFlags (each also as TRUNKLINE_<FLAG>, e.g. TRUNKLINE_DATA):\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args into fs and then sets every flag not given on the
// command line from its environment variable TRUNKLINE_<NAME> (dashes as
// underscores), if set.
func parseFlags(fs *flag.FlagSet, args []string, stdout io.Writer) error {
	for _, a := range args {
		if a == "-h" || a == "-help" || a == "--help" {
			fs.SetOutput(stdout)
			fs.Usage()
			return flag.ErrHelp
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("%s: unexpected argument %q (flags go before it? see trunkline %s -h)", fs.Name(), fs.Arg(0), fs.Name())
	}
	given := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { given[f.Name] = true })
	var err error
	fs.VisitAll(func(f *flag.Flag) {
		env := "TRUNKLINE_" + strings.ToUpper(strings.ReplaceAll(f.Name, "-", "_"))
		if v, ok := os.LookupEnv(env); ok && !given[f.Name] && err == nil {
			if e := fs.Set(f.Name, v); e != nil {
				err = fmt.Errorf("%s: %w", env, e)
			}
		}
	})
	return err
}

var version = "dev"

// buildVersion is version (set with -ldflags "-X main.version=…"), or the
// module version of the build, with the VCS revision it was built from.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return version
	}
	v := version
	if v == "dev" && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		v = bi.Main.Version
	}
	var rev, modified string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			if s.Value == "true" {
				modified = "+modified"
			}
		}
	}
	if len(rev) >= 12 && !strings.Contains(v, rev[:12]) {
		v += "-" + rev[:12] + modified
	}
	return v
}

func versionCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("version", "version", stdout, stderr)
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "trunkline %s (%s, %s/%s)\n", buildVersion(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("serve", "serve [flags]", stdout, stderr)
	configPath := fs.String("config", "", "YAML config `file` (optional)")
	data := fs.String("data", "", "data `directory` (default "+DefaultData+")")
	storeURL := fs.String("store", "", "shared store `URL`, redis://host:port[/db] (default: the embedded store in the data directory)")
	sipAddr := fs.String("sip", "", "SIP listen `host:port`, UDP and TCP (default "+DefaultSIPListen+")")
	adminAddr := fs.String("admin", "", "admin API listen `host:port` (default "+DefaultAdminListen+")")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (net/http/pprof) on `host:port`; off by default")
	advertise := fs.String("advertise", "", "`host` to put in Via and Record-Route (default: the SIP listen IP, or 127.0.0.1 for a wildcard)")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	// load reads the config: the file, then the flags over it.
	load := func() (*Config, error) {
		cfg := &Config{}
		if *configPath != "" {
			var err error
			if cfg, err = LoadConfig(*configPath); err != nil {
				return nil, err
			}
		}
		for _, o := range []struct {
			flag string
			to   *string
		}{{*data, &cfg.Data}, {*storeURL, &cfg.Store}, {*sipAddr, &cfg.SIP.Listen}, {*adminAddr, &cfg.Admin.Listen}, {*advertise, &cfg.SIP.Advertise}} {
			if o.flag != "" {
				*o.to = o.flag
			}
		}
		cfg.Defaults()
		if err := cfg.Validate(); err != nil {
			return nil, err
		}
		return cfg, nil
	}
	cfg, err := load()
	if err != nil {
		return err
	}
	level := new(slog.LevelVar)
	log := newLogger(cfg.Log, level, stderr)
	if os.Getenv("GOGC") == "" {
		// A call allocates a few short-lived KiB; collecting at 4x the live
		// heap instead of 2x roughly halves GC CPU for little memory.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// SIGHUP reloads (see hangup); caught from here on, it never kills.
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	defer signal.Stop(hup)
	// The node runs until it is closed, not until the signal: live calls
	// are drained first.
	n, err := start(context.Background(), cfg, log)
	if err != nil {
		return err
	}
	defer n.close()
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}
	// The first start's admin token, made once the switch listens: a
	// start that failed made none (`trunkline token create` makes another).
	if n.Token != "" {
		fmt.Fprintf(stdout, "\nAdmin API token (shown once, keep it): %s\n\n", n.Token)
	}
	log.Info("trunkline ready", "sip", n.SIPAddr.String(), "admin", n.AdminAddr.String(), "data", cfg.Data)
	go func() {
		for range hup {
			n.hangup(ctx, cfg, load, level)
		}
	}()
	<-ctx.Done()
	stop()
	// A second signal ends the grace period at once.
	again, stopAgain := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stopAgain()
	grace, cancel := context.WithTimeout(again, cfg.ShutdownGrace)
	defer cancel()
	log.Info("shutting down: draining calls", "grace", cfg.ShutdownGrace, "calls", n.sip.ActiveCalls())
	n.drain(grace)
	log.Info("shutting down")
	return nil
}

// newLogger returns the logger c describes, at the level in level (set
// from c; SIGHUP changes it).
func newLogger(c LogConfig, level *slog.LevelVar, w io.Writer) *slog.Logger {
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
