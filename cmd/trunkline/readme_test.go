package main

import (
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
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
}
