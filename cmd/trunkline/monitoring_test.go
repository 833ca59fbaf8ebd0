package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
	"github.com/trunkline/trunkline/store/storetest"
)

// The alert rules shipped in scripts/monitoring pass promtool.
func TestAlertRules(t *testing.T) {
	t.Parallel()
	promtool, err := exec.LookPath("promtool")
	if err != nil {
		storetest.Missing(t, "promtool not found; scripts/services.sh installs it (Debian's prometheus)")
	}
	out, err := exec.Command(promtool, "check", "rules", "../../scripts/monitoring/alerts.yml").CombinedOutput()
	if err != nil {
		t.Fatalf("promtool check rules: %v\n%s", err, out)
	}
}

var metricName = regexp.MustCompile(`\btrunkline_[a-z0-9_]+`)

// monitoredMetrics returns the metric names the dashboard and the alert
// rules use (histogram series as their family).
func monitoredMetrics(t *testing.T) map[string][]string {
	t.Helper()
	used := map[string][]string{}
	add := func(where, expr string) {
		for _, m := range metricName.FindAllString(expr, -1) {
			for _, suffix := range []string{"_bucket", "_sum", "_count"} {
				if strings.HasSuffix(m, suffix) && strings.Contains(m, "seconds") {
					m = strings.TrimSuffix(m, suffix)
				}
			}
			used[m] = append(used[m], where)
		}
	}
	b, err := os.ReadFile("../../scripts/monitoring/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("the dashboard is not JSON: %v", err)
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			add("dashboard panel "+p.Title, tg.Expr)
		}
	}
	rules, err := os.ReadFile("../../scripts/monitoring/alerts.yml")
	if err != nil {
		t.Fatal(err)
	}
	add("alert rules", string(rules))
	return used
}

// Every metric the dashboard and the alert rules use exists on a switch
// that has taken calls: answered, busy, refused, limited, prepaid, with
// CDRs shipped to ClickHouse and its carriers probed.
func TestMonitoredMetricsExist(t *testing.T) {
	t.Parallel()
	addr, db, _ := testClickHouseDB(t)
	sw := startSwitchYAML(t, clickHouseConfig(addr, db)+"health:\n  probe_interval: 200ms\n  probe_timeout: 100ms\n")
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customer, _, _ := provision(t, sw, carrierA, carrierB)
	sw.api.do("PUT", "/api/v1/customers/"+customer, map[string]any{"name": "Acme Telecom", "currency": "USD", "credit_limit": "0", "channel_limit": 1}, http.StatusOK, nil)
	pay(sw.api, customer, "10.00")
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer); siptest.Status(err) == 0 {
		t.Fatalf("a second call over the channel limit of 1: %v", err)
	}
	time.Sleep(1100 * time.Millisecond)
	call.Hangup(ctx)
	ua.Dial(ctx, sw.SIPAddr.String(), numBusy)
	ua.Dial(ctx, sw.SIPAddr.String(), numUnrated)

	used := monitoredMetrics(t)
	if len(used) < 15 {
		t.Fatalf("the dashboard and rules use only %d metrics: %v", len(used), used)
	}
	var missing []string
	present := func() bool {
		res, err := http.Get(sw.api.base + "/metrics")
		if err != nil {
			return false
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		have := map[string]bool{}
		for _, line := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(line, "trunkline_") {
				name := line[:strings.IndexAny(line, "{ ")]
				for _, suffix := range []string{"_bucket", "_sum", "_count"} {
					if strings.HasSuffix(name, suffix) && strings.Contains(name, "seconds") {
						name = strings.TrimSuffix(name, suffix)
					}
				}
				have[name] = true
			}
		}
		missing = missing[:0]
		for m, where := range used {
			if !have[m] {
				missing = append(missing, fmt.Sprintf("%s (%s)", m, where[0]))
			}
		}
		return len(missing) == 0
	}
	for deadline := time.Now().Add(10 * time.Second); !present() && time.Now().Before(deadline); {
		time.Sleep(200 * time.Millisecond)
	}
	sort.Strings(missing)
	if len(missing) > 0 {
		t.Fatalf("metrics the dashboard or the rules use that the switch does not export: %v", missing)
	}
}
