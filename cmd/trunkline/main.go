// Command trunkline runs the Trunkline softswitch.
//
//	trunkline serve [-config FILE] [-data DIR] [-sip ADDR] [-admin ADDR]
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
)

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "trunkline:", err)
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return fmt.Errorf("usage: trunkline serve [flags] (see trunkline serve -h)")
	}
	switch args[0] {
	case "serve":
		return serve(args[1:], stdout, stderr)
	case "version":
		fmt.Fprintln(stdout, "trunkline", version)
		return nil
	default:
		return fmt.Errorf("unknown command %q: want serve or version", args[0])
	}
}

var version = "dev"

// buildVersion is version, or for a development build the VCS revision it
// was built from.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if version != "dev" || !ok {
		return version
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			return "dev-" + s.Value[:12]
		}
	}
	return version
}

func serve(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "YAML config `file` (optional)")
	data := fs.String("data", "", "data `directory` (default "+DefaultData+")")
	storeURL := fs.String("store", "", "shared store `URL`, redis://host:port[/db] (default: the embedded store in the data directory; env TRUNKLINE_STORE)")
	sipAddr := fs.String("sip", "", "SIP listen `host:port`, UDP and TCP (default "+DefaultSIPListen+")")
	adminAddr := fs.String("admin", "", "admin API listen `host:port` (default "+DefaultAdminListen+")")
	pprofAddr := fs.String("pprof", "", "serve Go profiles (net/http/pprof) on `host:port`; off by default")
	advertise := fs.String("advertise", "", "`host` to put in Via and Record-Route (default: the SIP listen IP, or 127.0.0.1 for a wildcard)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	cfg := &Config{}
	if *configPath != "" {
		var err error
		if cfg, err = LoadConfig(*configPath); err != nil {
			return err
		}
	}
	if *data != "" {
		cfg.Data = *data
	}
	if *storeURL != "" {
		cfg.Store = *storeURL
	}
	if *sipAddr != "" {
		cfg.SIP.Listen = *sipAddr
	}
	if *adminAddr != "" {
		cfg.Admin.Listen = *adminAddr
	}
	if *advertise != "" {
		cfg.SIP.Advertise = *advertise
	}
	cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return err
	}
	log := newLogger(cfg.Log, stderr)
	if os.Getenv("GOGC") == "" {
		// A call allocates a few short-lived KiB; collecting at 4x the live
		// heap instead of 2x roughly halves GC CPU for little memory.
		debug.SetGCPercent(400)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	// The node runs until it is closed, not until the signal: live calls
	// are drained first.
	n, err := start(context.Background(), cfg, log)
	if err != nil {
		return err
	}
	defer n.close()
	if n.Token != "" {
		fmt.Fprintf(stdout, "\nAdmin API token (shown once, keep it): %s\n\n", n.Token)
	}
	if *pprofAddr != "" {
		if err := servePprof(ctx, *pprofAddr, log); err != nil {
			return err
		}
	}
	log.Info("trunkline ready", "sip", n.SIPAddr.String(), "admin", n.AdminAddr.String(), "data", cfg.Data)
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

func newLogger(c LogConfig, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.Level))
	opts := &slog.HandlerOptions{Level: level}
	if c.Format == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}
