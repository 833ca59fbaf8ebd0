package main

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

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store/storetest"
)

const sippDir = "../../../shared/testdata/sipp"

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
	storetest.Missing(t, "sipp not found: scripts/services.sh up installs it (Debian package sip-tester)")
	return ""
}

// freeUDPPort returns a UDP port that was free on ip a moment ago.
func freeUDPPort(t *testing.T, ip string) int {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// sippRun is one sipp process placing or taking exactly one call.
type sippRun struct {
	cmd  *exec.Cmd
	out  bytes.Buffer
	done chan error
}

// startSipp runs sipp with scenario file sf bound to ip:port; extra holds the
// remaining arguments (remote address, -s service, -d pause).
func startSipp(t *testing.T, sf, ip string, port int, extra ...string) *sippRun {
	t.Helper()
	args := append([]string{"-sf", sf, "-i", ip, "-p", strconv.Itoa(port), "-m", "1", "-nostdin",
		"-timeout", "20s", "-timeout_error", "-trace_err", "-max_recv_loops", "1000"}, extra...)
	r := &sippRun{done: make(chan error, 1)}
	r.cmd = exec.Command(sippPath(t), args...)
	r.cmd.Dir = t.TempDir()
	r.cmd.Stdout, r.cmd.Stderr = &r.out, &r.out
	if err := r.cmd.Start(); err != nil {
		t.Fatalf("starting sipp: %v", err)
	}
	go func() { r.done <- r.cmd.Wait() }()
	t.Cleanup(func() {
		if r.cmd.ProcessState == nil {
			_ = r.cmd.Process.Kill()
			<-r.done
		}
	})
	return r
}

// wait waits for sipp to end and fails the test unless its one call passed.
func (r *sippRun) wait(t *testing.T, who string) {
	t.Helper()
	select {
	case err := <-r.done:
		if err != nil {
			errs, _ := filepath.Glob(filepath.Join(r.cmd.Dir, "*_errors.log"))
			var log []byte
			for _, f := range errs {
				b, _ := os.ReadFile(f)
				log = append(log, b...)
			}
			t.Fatalf("sipp %s failed: %v\n%s\n%s", who, err, tail(r.out.String(), 1500), tail(string(log), 3000))
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("sipp %s did not finish", who)
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// scenario returns the path of a sipp scenario — one of shared/testdata, or
// of this repository when name starts with "sip/testdata/" — or of a copy
// with the given replacements made.
func scenario(t *testing.T, name string, replace ...string) string {
	t.Helper()
	dir := sippDir
	if strings.HasPrefix(name, "sip/testdata/") {
		dir = "../.."
	}
	path, err := filepath.Abs(filepath.Join(dir, name))
	if err != nil {
		t.Fatal(err)
	}
	if len(replace) == 0 {
		return path
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := strings.NewReplacer(replace...).Replace(string(b))
	out := filepath.Join(t.TempDir(), filepath.Base(name))
	if err := os.WriteFile(out, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
	return out
}

// provisionSipp sets up a customer calling from 127.0.0.2 and a carrier on
// a free UDP port of 127.0.0.1, selling 1… at 0.0100/min and buying it at
// 0.0040/min, and returns the customer and the carrier's port.
func provisionSipp(t *testing.T, api *apiClient) (customerID string, carrierPort int) {
	customerID = api.create("/api/v1/customers", map[string]any{"name": "Sipp Customer", "currency": "USD"})
	api.create("/api/v1/customers/"+customerID+"/ips", map[string]any{"cidr": "127.0.0.2"})
	carrierPort = freeUDPPort(t, "127.0.0.1")
	carrierID := api.create("/api/v1/carriers", map[string]any{"name": "Sipp Carrier", "currency": "USD"})
	api.create("/api/v1/carriers/"+carrierID+"/endpoints", map[string]any{"host": "127.0.0.1", "port": carrierPort})
	buy := api.create("/api/v1/ratecards", map[string]any{"name": "buy", "kind": "provider", "carrier_id": carrierID, "currency": "USD", "precision": 4})
	sell := api.create("/api/v1/ratecards", map[string]any{"name": "sell", "kind": "customer", "provider_cards": []string{buy}, "currency": "USD", "precision": 4})
	api.do("PUT", "/api/v1/ratecards/"+buy+"/rates", []map[string]any{{"prefix": "1", "rate": "0.0040"}}, 200, nil)
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{{"prefix": "1", "rate": "0.0100"}}, 200, nil)
	api.create("/api/v1/customers/"+customerID+"/routes", map[string]any{"prefix": "", "card_id": sell})
	return customerID, carrierPort
}

// TestSippCalls runs the end-to-end flows with sipp as customer (on
// 127.0.0.2) and as carrier, using the scenario files of shared/testdata.
func TestSippCalls(t *testing.T) {
	sippPath(t)
	// sipp answers only the first challenge, and only MD5: the default
	// offers MD5 first.
	sw := startSwitch(t)
	api := sw.api
	customerID, carrierPort := provisionSipp(t, api)
	target := sw.SIPAddr.String()

	sw.api.create("/api/v1/customers/"+customerID+"/sip-users", map[string]any{"username": "alice", "password": "correct horse battery"})

	tests := []struct {
		name           string
		uac, uas       string // scenario files; uas "" when no carrier is reached
		uacReplace     []string
		uacArgs        []string
		number         string
		source         string
		wantCode       int // final CDR code; 0: no CDR expected
		wantSide       string
		wantSellCostGT bool
	}{
		{name: "answered, customer hangs up", uac: "sipp/uac.xml", uas: "sipp/uas.xml", number: "12125550100",
			source: "127.0.0.2", wantCode: 200, wantSide: "customer", wantSellCostGT: true},
		{name: "answered, carrier hangs up", uac: "drachtio-server/uac-recv-bye.xml", uas: "drachtio-server/uas-bye.xml",
			number: "12125550101", source: "127.0.0.2", wantCode: 200, wantSide: "carrier", wantSellCostGT: true},
		{name: "carrier busy", uac: "drachtio-server/uac-expect-486.xml", uas: "drachtio-server/uas-fail-486.xml",
			number: "12125550102", source: "127.0.0.2", wantCode: 486, wantSide: "carrier"},
		{name: "CANCEL before answer", uac: "drachtio-server/uac-cancel.xml", uas: "drachtio-server/uas-cancel.xml",
			number: "12125550103", source: "127.0.0.2", wantCode: 487, wantSide: "customer"},
		{name: "unrated number", uac: "drachtio-server/uac-expect-486.xml", uacReplace: []string{`response="486"`, `response="404"`},
			number: "4420", source: "127.0.0.2", wantCode: 404, wantSide: "switch"},
		{name: "digest: challenge, then credentials", uac: "sip/testdata/sipp/uac-digest.xml", uas: "sipp/uas.xml",
			uacArgs: []string{"-au", "alice", "-ap", "correct horse battery"},
			number:  "12125550105", source: "127.0.0.4", wantCode: 200, wantSide: "customer", wantSellCostGT: true},
		{name: "unknown source is challenged", uac: "drachtio-server/uac-expect-486.xml", uacReplace: []string{`response="486"`, `response="407"`},
			number: "12125550104", source: "127.0.0.3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var uas *sippRun
			if tt.uas != "" {
				uas = startSipp(t, scenario(t, tt.uas), "127.0.0.1", carrierPort)
				time.Sleep(100 * time.Millisecond) // let it bind
			}
			args := append([]string{"-s", tt.number, "-d", "1000"}, tt.uacArgs...)
			uac := startSipp(t, scenario(t, tt.uac, tt.uacReplace...), tt.source, freeUDPPort(t, tt.source),
				append(args, target)...)
			uac.wait(t, "customer")
			if uas != nil {
				uas.wait(t, "carrier")
			}
			var got []cdr.Record
			deadline := time.Now().Add(3 * time.Second)
			for time.Now().Before(deadline) {
				var out struct {
					CDRs []cdr.Record `json:"cdrs"`
				}
				api.do("GET", "/api/v1/cdrs?limit=1000", nil, 200, &out)
				got = got[:0]
				for _, r := range out.CDRs {
					if r.Callee == tt.number && r.SourceIP == tt.source {
						got = append(got, r)
					}
				}
				if len(got) > 0 || tt.wantCode == 0 {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if tt.wantCode == 0 {
				if len(got) != 0 {
					t.Fatalf("unexpected CDRs: %+v", got)
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("want 1 CDR, got %+v", got)
			}
			r := got[0]
			if r.SIPCode != tt.wantCode || r.HangupSide != tt.wantSide || r.CustomerID != customerID {
				t.Errorf("CDR code %d side %q customer %q; want %d %q %q", r.SIPCode, r.HangupSide, r.CustomerID, tt.wantCode, tt.wantSide, customerID)
			}
			if tt.wantSellCostGT != (r.SellCost > 0) || (tt.wantSellCostGT && (r.BuyCost <= 0 || r.Billed != 60)) {
				t.Errorf("CDR costs: sell %s buy %s billed %d", r.SellCost, r.BuyCost, r.Billed)
			}
		})
	}
}

// TestSippLoad places 1,000 calls at 250 calls/s through the switch with
// sipp on both sides: every call completes, every call has its CDR, and once
// the calls are over no call and, after the linger of completed
// transactions, no transaction is left (trunkline_sip_transactions).
func TestSippLoad(t *testing.T) {
	sippPath(t)
	sw := startSwitch(t)
	api := sw.api
	_, carrierPort := provisionSipp(t, api)

	const calls = 1000
	uas := startSipp(t, scenario(t, "sipp/uas.xml"), "127.0.0.1", carrierPort, "-m", strconv.Itoa(calls))
	time.Sleep(100 * time.Millisecond) // let it bind
	uac := startSipp(t, scenario(t, "sipp/uac.xml"), "127.0.0.2", freeUDPPort(t, "127.0.0.2"),
		"-m", strconv.Itoa(calls), "-r", "250", "-l", "500", "-s", "12125550199", "-d", "200", sw.SIPAddr.String())
	uac.wait(t, "customer")
	uas.wait(t, "carrier")

	base := "http://" + sw.AdminAddr.String()
	if n := metricValue(t, base, `trunkline_sip_transactions{side="server"}`); n == 0 {
		t.Fatal("no server transaction lingering right after the calls: is trunkline_sip_transactions exported?")
	}
	deadline := time.Now().Add(10 * time.Second)
	for {
		var out struct {
			CDRs []cdr.Record `json:"cdrs"`
		}
		api.do("GET", "/api/v1/cdrs?limit=5000", nil, 200, &out)
		active := metricValue(t, base, "trunkline_active_calls")
		server := metricValue(t, base, `trunkline_sip_transactions{side="server"}`)
		client := metricValue(t, base, `trunkline_sip_transactions{side="client"}`)
		if len(out.CDRs) == calls && active == 0 && server == 0 && client == 0 {
			for _, r := range out.CDRs {
				if !r.Final || r.SIPCode != 200 || r.Billed != 60 {
					t.Fatalf("CDR %+v", r)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the calls: %d CDRs (want %d), active calls %v, transactions server %v client %v",
				len(out.CDRs), calls, active, server, client)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
