package main

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"reflect"
	"strings"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/trunkline/trunkline/cdr"
)

// The README's by-hand block, pasted into a shell against a running
// switch, provisions a customer that lacks nothing.
func TestREADMEByHand(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("curl"); err != nil {
		t.Skip("no curl")
	}
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "<!-- by-hand: TestREADMEByHand runs this block -->\n```sh\n")
	block, _, ok2 := strings.Cut(rest, "```")
	if !ok || !ok2 {
		t.Fatal("the README has no by-hand block")
	}
	sw := startSwitch(t)
	script := strings.Replace(block, "TOKEN=tl_…", "TOKEN="+sw.api.token, 1)
	script = strings.Replace(script, "API=http://127.0.0.1:8080/api/v1", "API="+sw.api.base+"/api/v1", 1)
	if script == block {
		t.Fatal("the block's TOKEN and API lines changed: update this test")
	}
	out, err := exec.Command("bash", "-c", "set -eu\n"+script).CombinedOutput()
	if err != nil || strings.Contains(string(out), `"error"`) {
		t.Fatalf("the README block: %v\n%s", err, out)
	}
	var list struct {
		Customers []struct {
			Name     string
			Warnings []struct{ Code string }
		}
	}
	sw.api.do("GET", "/api/v1/customers", nil, http.StatusOK, &list)
	if len(list.Customers) != 1 || list.Customers[0].Name != "Acme" || len(list.Customers[0].Warnings) != 0 {
		t.Fatalf("after the README block: %+v\n%s", list.Customers, out)
	}
}

// The README's full config file is one the switch takes.
func TestREADMEConfig(t *testing.T) {
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(b), "A full config file")
	_, rest, ok2 := strings.Cut(rest, "```yaml\n")
	block, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("the README has no full config block")
	}
	if problems := configProblems([]byte(block)); len(problems) > 0 {
		t.Fatalf("the README's config: %v", problems)
	}
	// Complete: every key of Config is in it.
	var root yaml.Node
	if err := yaml.Unmarshal([]byte(block), &root); err != nil {
		t.Fatal(err)
	}
	var missing []string
	var walk func(typ reflect.Type, path string)
	walk = func(typ reflect.Type, path string) {
		for i := range typ.NumField() {
			f := typ.Field(i)
			key, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if key == "" || key == "-" {
				continue
			}
			p := strings.TrimPrefix(path+"."+key, ".")
			if !hasPath(&root, p) {
				missing = append(missing, p)
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeFor[time.Duration]() {
				walk(ft, p)
			}
		}
	}
	walk(reflect.TypeFor[Config](), "")
	if len(missing) > 0 {
		t.Errorf("the README's full config lacks %v", missing)
	}
}

// The README's first call, its lines run as written but for the ports
// (the test's switch and free ones) and the token: provision-demo.sh
// provisions, sipp places the call, and the CDR shows it answered at the
// marked-up rate.
func TestREADMEFirstCall(t *testing.T) {
	sippPath(t)
	t.Parallel()
	b, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, _ := strings.Cut(string(b), "## Placing a first call")
	section, _, _ := strings.Cut(rest, "### Admin API")
	var lines []string
	for _, block := range strings.Split(section, "```sh\n")[1:] {
		code, _, _ := strings.Cut(block, "```")
		lines = append(lines, strings.Split(strings.TrimSpace(code), "\n")...)
	}
	if len(lines) != 8 {
		t.Fatalf("the README's first call is %d lines, this test knows 8: %q", len(lines), lines)
	}
	sw := startSwitch(t)
	carrierPort, customerPort := freeUDPPort(t, "127.0.0.1"), freeUDPPort(t, "127.0.0.1")
	script := strings.Join(lines, "\n")
	for old, new := range map[string]string{
		"scripts/provision-demo.sh tl_…": "scripts/provision-demo.sh " + sw.api.token + " " + sw.api.base + "/api/v1 127.0.0.1:" + fmt.Sprint(carrierPort) + " 127.0.0.1 #",
		"-p 5070":                        "-p " + fmt.Sprint(carrierPort),
		"-p 5080 127.0.0.1:5060":         "-p " + fmt.Sprint(customerPort) + " " + sw.SIPAddr.String(),
		"Bearer tl_…":                    "Bearer " + sw.api.token,
		"http://127.0.0.1:8080":          sw.api.base,
	} {
		if !strings.Contains(script, old) {
			t.Fatalf("the README's first call has no %q: update this test", old)
		}
		script = strings.ReplaceAll(script, old, new)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", "set -eu\ncd ../..\n"+script+"\nwait")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the README's first call: %v\n%s", err, out)
	}
	var answered []cdr.Record
	waitUntil(t, 5*time.Second, "the CDR", func() bool {
		answered = answered[:0]
		var list struct{ CDRs []cdr.Record }
		sw.api.do("GET", "/api/v1/cdrs", nil, http.StatusOK, &list)
		for _, r := range list.CDRs {
			if r.SIPCode == 200 && r.Callee == "442071234567" {
				answered = append(answered, r)
			}
		}
		return len(answered) == 1
	})
	if r := answered[0]; r.SellRate.String() != "0.007500" || r.BuyRate.String() != "0.005000" {
		t.Fatalf("the README's call: %+v\n%s", r, out)
	}
	// And the panel's first user.
	var users struct{ Users []struct{ Username string } }
	sw.api.do("GET", "/api/v1/users", nil, http.StatusOK, &users)
	if len(users.Users) != 1 || users.Users[0].Username != "ops" {
		t.Fatalf("users after the README: %+v", users.Users)
	}
	// And the portal's domain.
	var domains struct{ Domains []struct{ Host, Area string } }
	sw.api.do("GET", "/api/v1/domains", nil, http.StatusOK, &domains)
	if len(domains.Domains) != 1 || domains.Domains[0].Host != "portal.example.com" || domains.Domains[0].Area != "portal" {
		t.Fatalf("domains after the README: %+v", domains.Domains)
	}
}

// hasPath tells whether the YAML document has the setting at the dotted
// path (lineOf stops at the nearest parent; this does not).
func hasPath(root *yaml.Node, path string) bool {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	for _, key := range strings.Split(path, ".") {
		if n.Kind != yaml.MappingNode {
			return false
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return false
		}
		n = next
	}
	return true
}
