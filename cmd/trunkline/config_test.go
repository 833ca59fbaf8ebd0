package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/routing"
)

// Every testdata/*.good.yaml must load; every *.bad.yaml must fail with the
// message in its first line ("# error: ...").
func TestConfigFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no config files: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			_, err := LoadConfig(f)
			if strings.HasSuffix(f, ".good.yaml") {
				if err != nil {
					t.Fatalf("good config rejected: %v", err)
				}
				return
			}
			b, _ := os.ReadFile(f)
			first, _, _ := strings.Cut(string(b), "\n")
			want := strings.TrimSpace(strings.TrimPrefix(first, "# error:"))
			if err == nil {
				t.Fatalf("bad config accepted")
			}
			if !strings.Contains(err.Error(), want) {
				t.Fatalf("error %q does not contain %q", err, want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	c, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != DefaultData || c.SIP.Listen != DefaultSIPListen || c.Admin.Listen != DefaultAdminListen {
		t.Fatalf("defaults: %+v", c)
	}
	if c.SIP.TCPIdleTimeout != DefaultTCPIdleTimeout || c.SIP.TCPPartialTimeout != DefaultTCPPartialTimeout ||
		c.SIP.TCPPerSource != DefaultTCPPerSource || c.SIP.TCPPerUnknownSource != DefaultTCPPerUnknownSource ||
		c.SIP.TCPUnknownTotal != DefaultTCPUnknownTotal || c.SIP.TCPKnownTotal != DefaultTCPKnownTotal {
		t.Fatalf("TCP limit defaults: %+v", c.SIP)
	}
}

// FuzzParseConfig checks that any input either fails with an error or gives
// a config that validates.
func FuzzParseConfig(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("sip: {listen: '[::1]:0'}\n"))
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := ParseConfig(in)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parsed config does not validate: %v", err)
		}
	})
}

func TestMarginConfig(t *testing.T) {
	c, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Margin.MinPercent != DefaultMarginMinPercent || c.Margin.MinAmount != DefaultMarginMinAmount || c.Margin.ExpectedSeconds != DefaultExpectedSeconds {
		t.Fatalf("margin defaults: %+v", c.Margin)
	}
	if m := c.Margin.policy(func(string, string, ...any) {}); m != (routing.Margin{ExpectedSeconds: DefaultExpectedSeconds}) {
		t.Errorf("default policy %+v", m)
	}
	c, err = LoadConfig("testdata/full.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want := routing.Margin{MinPercent: 12_500_000, MinAmount: 500, ExpectedSeconds: 45, IgnoreFirstBlock: true, MaxBreakEven: 120}
	if m := c.Margin.policy(func(string, string, ...any) {}); m != want {
		t.Errorf("policy %+v, want %+v", m, want)
	}
}

func TestHealthConfigCooldown(t *testing.T) {
	c, err := ParseConfig(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Health.Cooldown != DefaultCooldown || DefaultCooldown != 15*time.Minute {
		t.Fatalf("cooldown default %s", c.Health.Cooldown)
	}
	c, err = LoadConfig("testdata/health.good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if c.Health.Cooldown != 10*time.Minute {
		t.Fatalf("cooldown %s, want 10m", c.Health.Cooldown)
	}
	h := c.Health.health()
	for range c.Health.MinSamples {
		h.Attempted("k", routing.AttemptOutcome{Code: 503})
	}
	s := h.Snapshot("k")
	if !s.Demoted || s.DemotedUntilMs == nil {
		t.Fatalf("snapshot %+v", s)
	}
	if d := time.Until(time.UnixMilli(*s.DemotedUntilMs)); d < 9*time.Minute || d > 10*time.Minute {
		t.Errorf("demoted for %s, want the configured 10m", d)
	}
}

// The relay's address in SDP follows the SIP side's when not given (an
// IP, a name's IPv4 address, the listen IP), and a loopback one on a
// switch listening beyond its machine is warned about.
func TestMediaDefaults(t *testing.T) {
	for _, tt := range []struct {
		yaml, advertise string
		warn            bool
	}{
		{"", "127.0.0.1", true},
		{"sip: {listen: '192.0.2.7:5060'}", "192.0.2.7", false},
		{"sip: {advertise: 198.51.100.4}", "198.51.100.4", false},
		{"sip: {advertise: localhost}", "127.0.0.1", true},
		{"sip: {listen: '127.0.0.1:5060'}", "127.0.0.1", false},
		{"sip: {advertise: 198.51.100.4}\nmedia: {advertise: 203.0.113.9}", "203.0.113.9", false},
	} {
		c, err := ParseConfig([]byte(tt.yaml))
		if err != nil {
			t.Fatalf("%q: %v", tt.yaml, err)
		}
		if c.Media.Advertise != tt.advertise || (c.Media.unreachable(c.SIP) != "") != tt.warn {
			t.Errorf("%q: media.advertise %s (warned: %q), want %s (warn %v)", tt.yaml, c.Media.Advertise, c.Media.unreachable(c.SIP), tt.advertise, tt.warn)
		}
	}
	c, _ := ParseConfig(nil)
	if !*c.Media.Enabled || c.Media.PortMin != DefaultMediaPortMin || c.Media.PortMax != DefaultMediaPortMax || c.Media.Timeout != DefaultMediaTimeout || c.Media.HoldTimeout != DefaultMediaHoldTimeout {
		t.Errorf("media defaults: %+v", c.Media)
	}
}
