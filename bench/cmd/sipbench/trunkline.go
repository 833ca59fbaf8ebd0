package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// trunkline runs bin/trunkline serve with the full pipeline: IP auth, 100k-
// prefix customer and provider cards, CDR journal.
type trunkline struct {
	bin     string
	cpu     string // taskset list for the switch
	procs   int    // GOMAXPROCS
	dir     string
	sipPort int
	uasPort int
	pprof   string // host:port for -pprof, "" for none
	deck    *Deck
	env     []string // extra environment (GOGC=…)
	// prepaid puts the customer under credit control (credit limit 0, a
	// large payment): every call reserves its first block and is charged.
	prepaid bool
	// relay has the customer's media relayed (media_relay always): every
	// call takes two pairs of ports and rewrites its SDP both ways (the
	// generators send no RTP).
	relay bool

	c     *child
	token string
	admin string
}

func (t *trunkline) name() string {
	switch {
	case t.prepaid:
		return "trunkline-prepaid"
	case t.relay:
		return "trunkline-relay"
	}
	return "trunkline"
}

func (t *trunkline) target() string { return "127.0.0.1:" + strconv.Itoa(t.sipPort) }
func (t *trunkline) pids() []int    { return []int{t.c.pid()} }
func (t *trunkline) stop()          { t.c.stop(10 * time.Second) }

var tokenRE = regexp.MustCompile(`Admin API token \(shown once, keep it\): (tl_\S+)`)

func (t *trunkline) start() error {
	data := filepath.Join(t.dir, "data")
	if err := os.RemoveAll(data); err != nil {
		return err
	}
	adminPort, err := freePort("tcp", "127.0.0.1")
	if err != nil {
		return err
	}
	t.admin = "http://127.0.0.1:" + strconv.Itoa(adminPort)
	argv := append(append([]string{"env", "GOMAXPROCS=" + strconv.Itoa(t.procs)}, t.env...), t.bin, "serve", "-data", data,
		"-sip", t.target(), "-admin", "127.0.0.1:"+strconv.Itoa(adminPort))
	// sipp's UAS does not answer OPTIONS: with probing on, the carrier
	// would be marked down mid-run (Kamailio's rows do not probe either).
	help, _ := exec.Command(t.bin, "serve", "-h").CombinedOutput()
	if cfg := filepath.Join(t.dir, "bench.yaml"); bytes.Contains(help, []byte("-config")) {
		yaml := "health:\n  enabled: false\n"
		if bytes.Contains(help, []byte("TRUNKLINE_<FLAG>")) {
			// Builds that log a line per ended call: off, like Kamailio's
			// rows (they log none), so the rows do the same work.
			yaml += "log:\n  calls: false\n"
		}
		if t.relay {
			// 10,000 pairs, below the generators' ephemeral ports: 5,000
			// calls up at once.
			yaml += "media:\n  port_min: 10000\n  port_max: 30000\n"
		}
		if err := os.WriteFile(cfg, []byte(yaml), 0o644); err != nil {
			return err
		}
		argv = append(argv, "-config", cfg)
	}
	if t.pprof != "" {
		// Older builds have no -pprof flag.
		help, _ := exec.Command(t.bin, "serve", "-h").CombinedOutput()
		if bytes.Contains(help, []byte("-pprof")) {
			argv = append(argv, "-pprof", t.pprof)
		} else {
			t.pprof = ""
		}
	}
	if t.cpu != "" {
		argv = append([]string{"taskset", "-c", t.cpu}, argv...)
	}
	// The switch has no knob for its UDP receive buffer: it gets
	// net.core.rmem_default, raised to 4 MB while its socket is made.
	restore, err := raiseRmemDefault()
	if err != nil {
		return err
	}
	defer restore()
	out := filepath.Join(t.dir, "stdout.log")
	if t.c, err = startChild("trunkline", t.dir, out, filepath.Join(t.dir, "stderr.log"), argv...); err != nil {
		return err
	}
	deadline := time.Now().Add(20 * time.Second)
	for t.token == "" {
		if time.Now().After(deadline) {
			return errors.New("trunkline printed no admin token in 20 s")
		}
		select {
		case err := <-t.c.done:
			t.c.done <- err
			b, _ := os.ReadFile(filepath.Join(t.dir, "stderr.log"))
			return fmt.Errorf("trunkline exited: %v: %s", err, tailOf(string(b), 800))
		case <-time.After(50 * time.Millisecond):
		}
		b, _ := os.ReadFile(out)
		if m := tokenRE.FindSubmatch(b); m != nil {
			t.token = string(m[1])
		}
	}
	if err := waitUDP(t.sipPort, 10*time.Second); err != nil {
		return err
	}
	return t.provision()
}

// provision creates the customer on 127.0.0.2, the carrier at the sipp UAS,
// the provider card and the customer card with the deck's rows.
func (t *trunkline) provision() error {
	// Channels enough for the 10,000 held calls and the ladder's top rate
	// (the default limit of a customer is 1,000): limits are enforced,
	// not in the way.
	customer := map[string]any{"name": "Bench Customer", "currency": "USD", "channel_limit": 100000}
	if t.prepaid {
		customer["credit_limit"] = "0"
	}
	if t.relay {
		customer["media_relay"] = "always"
	}
	cust, err := t.create("/api/v1/customers", customer)
	if err != nil {
		return err
	}
	if t.prepaid {
		payment := map[string]any{"total": "100000000.00", "status": "completed", "description": "bench"}
		if _, err := t.create("/api/v1/customers/"+cust+"/payments", payment); err != nil {
			return err
		}
	}
	if _, err := t.create("/api/v1/customers/"+cust+"/ips", map[string]any{"cidr": "127.0.0.2"}); err != nil {
		return err
	}
	car, err := t.create("/api/v1/carriers", map[string]any{"name": "Bench Carrier", "currency": "USD"})
	if err != nil {
		return err
	}
	if _, err := t.create("/api/v1/carriers/"+car+"/endpoints",
		map[string]any{"host": "127.0.0.1", "port": t.uasPort, "transport": "udp"}); err != nil {
		return err
	}
	buy, err := t.create("/api/v1/ratecards", map[string]any{"name": "bench buy", "kind": "provider",
		"carrier_id": car, "currency": "USD", "precision": 4})
	if err != nil {
		return err
	}
	sell, err := t.create("/api/v1/ratecards", map[string]any{"name": "bench sell", "kind": "customer",
		"provider_cards": []string{buy}, "currency": "USD", "precision": 4})
	if err != nil {
		return err
	}
	if err := t.do("PUT", "/api/v1/ratecards/"+buy+"/rates", t.deck.Buy, nil); err != nil {
		return err
	}
	if err := t.do("PUT", "/api/v1/ratecards/"+sell+"/rates", t.deck.Sell, nil); err != nil {
		return err
	}
	_, err = t.create("/api/v1/customers/"+cust+"/routes", map[string]any{"prefix": "", "card_id": sell})
	return err
}

func (t *trunkline) create(path string, body any) (string, error) {
	var out struct {
		ID string `json:"id"`
	}
	if err := t.do("POST", path, body, &out); err != nil {
		return "", err
	}
	if out.ID == "" {
		return "", fmt.Errorf("POST %s: no id in the answer", path)
	}
	return out.ID, nil
}

func (t *trunkline) do(method, path string, body, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequest(method, t.admin+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+t.token)
	req.Header.Set("Content-Type", "application/json")
	cl := &http.Client{Timeout: 120 * time.Second}
	resp, err := cl.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, tailOf(strings.TrimSpace(string(rb)), 400))
	}
	if out != nil {
		return json.Unmarshal(rb, out)
	}
	return nil
}

var heapRE = regexp.MustCompile(`(?m)^# HeapAlloc = (\d+)`)

// liveHeap forces a GC through the -pprof endpoint and returns the bytes of
// live heap objects after it.
func (t *trunkline) liveHeap() (int64, error) {
	if t.pprof == "" {
		return 0, errors.New("no pprof endpoint")
	}
	cl := &http.Client{Timeout: 30 * time.Second}
	resp, err := cl.Get("http://" + t.pprof + "/debug/pprof/heap?gc=1&debug=1")
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := heapRE.FindSubmatch(b)
	if m == nil {
		return 0, errors.New("no HeapAlloc in the heap profile")
	}
	return strconv.ParseInt(string(m[1]), 10, 64)
}

func raiseRmemDefault() (func(), error) {
	old, err := readSysctl("net.core.rmem_default")
	if err != nil {
		return nil, err
	}
	if n, _ := strconv.Atoi(old); n >= sippBuf {
		return func() {}, nil
	}
	if err := writeSysctl("net.core.rmem_default", strconv.Itoa(sippBuf)); err != nil {
		return nil, fmt.Errorf("raising net.core.rmem_default (run as root): %w", err)
	}
	return func() { _ = writeSysctl("net.core.rmem_default", old) }, nil
}
