package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// check validates a config file and prints every problem with its line.
func check(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("check", "check -config FILE", stdout, stderr)
	configPath := fs.String("config", "", "YAML config `file` to check")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *configPath == "" {
		return errors.New("check: -config FILE is required")
	}
	b, err := os.ReadFile(*configPath)
	if err != nil {
		return fmt.Errorf("reading config: %w", err)
	}
	problems := configProblems(b)
	if len(problems) == 0 {
		fmt.Fprintf(stdout, "%s: OK\n", *configPath)
		return nil
	}
	for _, p := range problems {
		fmt.Fprintf(stdout, "%s:%s\n", *configPath, p)
	}
	return fmt.Errorf("%s: %d problem(s)", *configPath, len(problems))
}

// tokenCmd makes an admin API token in the store, whether the switch runs
// or not: on the embedded store it needs the switch stopped (the store is
// one process's), on Redis it works beside running nodes.
func tokenCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "create" && args[0] != "-h" && args[0] != "-help" && args[0] != "--help") {
		return errors.New("usage: trunkline token create [-config FILE] [-data DIR | -store URL] [-name NAME]")
	}
	if args[0] == "create" {
		args = args[1:]
	}
	fs := newFlags("token", "token create [flags]", stdout, stderr)
	configPath := fs.String("config", "", "YAML config `file` (for its data directory or store)")
	data := fs.String("data", "", "data `directory` of the embedded store (default "+DefaultData+")")
	storeURL := fs.String("store", "", "shared store `URL` (redis://…) instead of the embedded store")
	name := fs.String("name", "", "token `name` (default: \"cli\" and the time)")
	if err := parseFlags(fs, args, stdout); err != nil {
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
	cfg.Defaults()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var st store.Store
	if cfg.Store == "" {
		emb, err := store.OpenEmbedded(cfg.Data)
		if err != nil {
			if strings.Contains(err.Error(), "in use by another process") {
				return fmt.Errorf("the switch is running on %s: stop it first, or make a token through its API (POST /api/v1/tokens)", cfg.Data)
			}
			return err
		}
		st = emb
	} else {
		r, err := store.OpenRedis(ctx, cfg.Store, cfg.StorePrefix)
		if err != nil {
			return err
		}
		st = r
	}
	defer st.Close()
	if *name == "" {
		*name = "cli " + time.Now().UTC().Format(time.RFC3339)
	}
	secret, err := admin.CreateToken(ctx, st, *name)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Admin API token %q (shown once, keep it): %s\n", *name, secret)
	return nil
}

// health asks a running switch's admin API whether it is ready: exit 0
// when /readyz answers 200 (for Docker's HEALTHCHECK and probes).
func health(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("health", "health [-admin host:port]", stdout, stderr)
	addr := fs.String("admin", DefaultAdminListen, "admin API `host:port` of the switch")
	timeout := fs.Duration("timeout", 3*time.Second, "how long to wait for the answer")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	client := &http.Client{Timeout: *timeout}
	res, err := client.Get("http://" + localAddr(*addr) + "/readyz")
	if err != nil {
		return fmt.Errorf("health: %w", err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(res.Body, 4096))
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("health: not ready (%d): %s", res.StatusCode, strings.TrimSpace(string(body)))
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
