package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// kamailio runs Kamailio from Debian with bench/peers/kamailio.cfg in one of
// the modes of kamailioModes.
type kamailio struct {
	bin, cfg, mode, cpu, dir string
	children                 int
	sipPort, uasPort         int
	deck                     *Deck

	c *child
}

// kamailioModes are the config defines of each row (system kamailio-MODE).
// full hides topology (topoh), as the class-4 border Trunkline is does;
// full-notopoh is the full row as it was before, kept for reference.
var kamailioModes = map[string][]string{
	"relay":        nil,
	"stateless":    {"WITH_STATELESS"},
	"dialog":       {"WITH_DIALOG"},
	"full":         {"WITH_DIALOG", "WITH_FULL", "WITH_TOPOH"},
	"full-notopoh": {"WITH_DIALOG", "WITH_FULL"},
}

func (k *kamailio) name() string   { return "kamailio-" + k.mode }
func (k *kamailio) target() string { return "127.0.0.1:" + strconv.Itoa(k.sipPort) }
func (k *kamailio) pids() []int    { return []int{k.c.pid()} }
func (k *kamailio) stop() {
	if k.c != nil {
		k.c.stop(10 * time.Second)
	}
}

func (k *kamailio) start() error {
	db := filepath.Join(k.dir, "db")
	if err := k.writeDB(db); err != nil {
		return err
	}
	argv := []string{k.bin, "-f", k.cfg, "-DD", "-E", "-n", strconv.Itoa(k.children),
		"-m", "1024", "-M", "32", "-x", "fm", "-X", "fm", "-w", k.dir, "-Y", k.dir,
		"-A", "LISTEN=udp:" + k.target(),
		"-A", `CARRIER="sip:127.0.0.1:` + strconv.Itoa(k.uasPort) + `"`,
		"-A", `DBURL="text://` + db + `"`}
	defs, ok := kamailioModes[k.mode]
	if !ok {
		return fmt.Errorf("unknown kamailio mode %q", k.mode)
	}
	for _, d := range defs {
		argv = append(argv, "-A", d)
	}
	if k.cpu != "" {
		argv = append([]string{"taskset", "-c", k.cpu}, argv...)
	}
	log := filepath.Join(k.dir, "kamailio.log")
	var err error
	if k.c, err = startChild("kamailio", k.dir, filepath.Join(k.dir, "stdout.log"), log, argv...); err != nil {
		return err
	}
	deadline := time.Now().Add(60 * time.Second)
	for !udpBound(k.sipPort) || !k.ready(log) {
		if time.Now().After(deadline) {
			return fmt.Errorf("kamailio did not come up in 60 s; see %s", log)
		}
		select {
		case err := <-k.c.done:
			k.c.done <- err
			b, _ := os.ReadFile(log)
			return fmt.Errorf("kamailio exited: %v: %s", err, tailOf(string(b), 1500))
		case <-time.After(100 * time.Millisecond):
		}
	}
	time.Sleep(500 * time.Millisecond) // all children forked
	return nil
}

// ready reports whether kamailio has forked its UDP workers (it logs their
// start at notice level only in debug builds, so count processes instead).
func (k *kamailio) ready(string) bool {
	return len(tree(k.c.pid())) >= k.children+2
}

// writeDB writes the db_text tables: the version table, the address table
// (127.0.0.2 in group 1) and the two cards as mtree tables.
func (k *kamailio) writeDB(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	files := map[string]string{
		"version": "id(int,auto) table_name(string) table_version(int)\n0:address:6\n0:mtree_sell:1\n0:mtree_buy:1\n0:acc:5\n",
		"address": "id(int,auto) grp(int) ip_addr(string) mask(int) port(int) tag(string,null)\n1:1:127.0.0.2:32:0:\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			return err
		}
	}
	for name, rows := range map[string][]Rate{"mtree_sell": k.deck.Sell, "mtree_buy": k.deck.Buy} {
		f, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		w := bufio.NewWriter(f)
		w.WriteString("id(int,auto) tprefix(string) tvalue(string)\n")
		for i, r := range rows {
			// The value is what the CDR needs: rate and description.
			fmt.Fprintf(w, "%d:%s:%s %s\n", i+1, r.Prefix, r.Rate, strings.ReplaceAll(r.Description, ":", " "))
		}
		if err := w.Flush(); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}
