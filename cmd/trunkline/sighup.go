package main

import (
	"context"
	"log/slog"
	"reflect"
	"time"
)

// hangup applies a SIGHUP: it reads the config again and applies what can
// change live (log.level), reloads the routing, rating and authentication
// tables from the store, and says which changed settings wait for a
// restart. A config that does not load changes nothing.
func (n *node) hangup(ctx context.Context, running *Config, load func() (*Config, error), level *slog.LevelVar) {
	n.log.Info("SIGHUP: reloading")
	cfg, err := load()
	if err != nil {
		n.log.Error("SIGHUP: the config does not load; nothing changed", "error", err)
		return
	}
	var want slog.Level
	if want.UnmarshalText([]byte(cfg.Log.Level)) == nil && want != level.Level() {
		level.Set(want)
		n.log.Info("SIGHUP: log level changed", "level", cfg.Log.Level)
	}
	var restart []string
	old, now := reflect.ValueOf(*running), reflect.ValueOf(*cfg)
	for i := range old.NumField() {
		f := old.Type().Field(i)
		a, b := old.Field(i).Interface(), now.Field(i).Interface()
		if f.Name == "Log" {
			// the level applied; the rest needs a restart
			x, y := running.Log, cfg.Log
			x.Level, y.Level = "", ""
			a, b = x, y
		}
		if !reflect.DeepEqual(a, b) {
			restart = append(restart, f.Tag.Get("yaml"))
		}
	}
	if len(restart) > 0 {
		n.log.Warn("SIGHUP: these settings changed and take effect at the next restart", "settings", restart)
	}
	rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if n.reload != nil {
		if err := n.reload(rctx); err != nil {
			n.log.Error("SIGHUP: reloading the tables from the store", "error", err)
			return
		}
	}
	n.log.Info("SIGHUP: reloaded")
}
