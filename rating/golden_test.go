package rating

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite the want sections of testdata/*.golden")

// A golden file is a list of sections, each opened by a "-- kind name --"
// line:
//
//	-- card NAME --     settings line ("id=… precision=4 rounding=half-up …"),
//	                    then a CSV rate deck imported with ImportCSV
//	-- derive NAME --   settings line, then "markup kind=percent value=10
//	                    combine=min from=A,B"
//	-- calls --         lines "CARD NUMBER TIME SECONDS"
//	-- want --          one result line per call, written by -update
//
// Every call is also re-rated from its trace string and must cost the same.
func TestGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/*.golden")
	if err != nil || len(files) == 0 {
		t.Fatalf("no golden files: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runGolden(t, file) })
	}
}

type section struct{ kind, name, body string }

func parseSections(t *testing.T, text string) []section {
	var secs []section
	for _, line := range strings.SplitAfter(text, "\n") {
		l := strings.TrimSpace(line)
		if strings.HasPrefix(l, "-- ") && strings.HasSuffix(l, " --") {
			f := strings.Fields(strings.TrimSuffix(strings.TrimPrefix(l, "-- "), " --"))
			s := section{kind: f[0]}
			if len(f) > 1 {
				s.name = f[1]
			}
			secs = append(secs, s)
			continue
		}
		if len(secs) == 0 {
			if l != "" && !strings.HasPrefix(l, "#") {
				t.Fatalf("text before the first section: %q", l)
			}
			continue
		}
		secs[len(secs)-1].body += line
	}
	return secs
}

func parseKV(t *testing.T, line string) map[string]string {
	kv := map[string]string{}
	for _, f := range strings.Fields(line) {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			t.Fatalf("bad key=value %q", f)
		}
		kv[k] = v
	}
	return kv
}

func parseSettings(t *testing.T, line string) Settings {
	kv := parseKV(t, line)
	var s Settings
	var err error
	s.ID, s.Currency = kv["id"], kv["currency"]
	atoi := func(k string) int {
		if kv[k] == "" {
			return 0
		}
		n, err := strconv.Atoi(kv[k])
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		return n
	}
	s.Revision, s.Precision = atoi("rev"), atoi("precision")
	s.Initial, s.Increment = int32(atoi("initial")), int32(atoi("increment"))
	if kv["rounding"] != "" {
		if s.Rounding, err = ParseRounding(kv["rounding"]); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func parseWhen(t *testing.T, s string) int64 {
	for _, l := range []string{time.RFC3339, "2006-01-02T15:04:05", "2006-01-02"} {
		if tm, err := time.Parse(l, s); err == nil {
			return tm.Unix()
		}
	}
	t.Fatalf("bad time %q", s)
	return 0
}

func runGolden(t *testing.T, file string) {
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	cards := map[string]*Card{}
	var got strings.Builder
	var want string
	hasWant := false
	for _, sec := range parseSections(t, text) {
		first, rest, _ := strings.Cut(sec.body, "\n")
		switch sec.kind {
		case "card":
			c, rep, err := ImportCSV(strings.NewReader(rest), parseSettings(t, first), nil)
			if err != nil {
				t.Fatalf("card %s: %v", sec.name, err)
			}
			if !rep.OK() {
				t.Fatalf("card %s: %v", sec.name, rep.Problems)
			}
			cards[sec.name] = c
		case "derive":
			kv := parseKV(t, strings.TrimPrefix(strings.TrimSpace(rest), "markup "))
			m := Markup{Kind: kv["kind"], Combine: kv["combine"]}
			if kv["value"] != "" {
				m.Value = mustMoney(t, kv["value"])
			}
			var ps []*Card
			for _, n := range strings.Split(kv["from"], ",") {
				if cards[n] == nil {
					t.Fatalf("derive %s: no card %q", sec.name, n)
				}
				ps = append(ps, cards[n])
			}
			c, err := Derive(parseSettings(t, first), m, ps...)
			if err != nil {
				t.Fatalf("derive %s: %v", sec.name, err)
			}
			cards[sec.name] = c
		case "calls":
			for _, line := range strings.Split(sec.body, "\n") {
				line = strings.TrimSpace(line)
				if line == "" || strings.HasPrefix(line, "#") {
					continue
				}
				f := strings.Fields(line)
				if len(f) != 4 || cards[f[0]] == nil {
					t.Fatalf("bad call %q", line)
				}
				secs, err := strconv.Atoi(f[3])
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&got, "%s => %s\n", line, rateCall(t, cards[f[0]], f[1], parseWhen(t, f[2]), secs))
			}
		case "want":
			want, hasWant = sec.body, true
		default:
			t.Fatalf("unknown section %q", sec.kind)
		}
	}
	if *update {
		i := strings.Index(text, "-- want --")
		if i < 0 {
			i = len(text)
			text += "\n"
		}
		if err := os.WriteFile(file, []byte(text[:i]+"-- want --\n"+got.String()), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !hasWant {
		t.Fatal("no want section; run go test -run TestGolden -update")
	}
	if got.String() != want {
		t.Errorf("results differ from %s (run with -update to accept):\ngot:\n%s\nwant:\n%s", file, got.String(), want)
	}
}

func rateCall(t *testing.T, c *Card, number string, at int64, secs int) string {
	r, err := c.Lookup(number, at)
	if err != nil {
		if errors.Is(err, ErrBlocked) {
			return fmt.Sprintf("%v prefix=%s (%s)", err, r.Prefix, r.Description)
		}
		return err.Error()
	}
	ch := c.Charge(&r, secs)
	tr, err := ParseTrace(ch.Trace.String())
	if err != nil {
		t.Fatalf("trace %q: %v", ch.Trace.String(), err)
	}
	if re := Rerate(tr, secs); re != ch {
		t.Errorf("re-rating %s from %q gave %+v, want %+v", number, ch.Trace.String(), re, ch)
	}
	return fmt.Sprintf("prefix=%s billed=%d cost=%s exact60=%d trace=%s", r.Prefix, ch.Billed, ch.Cost.Compact(), ch.Exact60, ch.Trace)
}
