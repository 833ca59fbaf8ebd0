package rating

import (
	"errors"
	"math"
	"testing"
)

func TestTaxOut(t *testing.T) {
	tests := []struct {
		name    string
		total   Money
		percent string
		minor   int
		tax     string
	}{
		{"20% of 12.00", mustMoney(t, "12.00"), "20", 2, "2"},
		{"0%", mustMoney(t, "12.00"), "0", 2, "0"},
		{"100% takes half", mustMoney(t, "12.00"), "100", 2, "6"},
		{"7.5%", mustMoney(t, "10.75"), "7.5", 2, "0.75"},
		{"19% of 9.99", mustMoney(t, "9.99"), "19", 2, "1.6"},
		{"JPY", mustMoney(t, "1000"), "10", 0, "91"},
		{"KWD", mustMoney(t, "1.234"), "15", 3, "0.161"},
		{"4 decimals", mustMoney(t, "1.00"), "12.5", 4, "0.1111"},
		{"repeating percent", mustMoney(t, "100"), "33.333333", 2, "25"},
		{"tie rounds up", mustMoney(t, "0.05"), "100", 2, "0.03"},
		{"tie rounds up JPY", mustMoney(t, "5"), "100", 0, "3"},
		{"negative tie away from zero", mustMoney(t, "-0.05"), "100", 2, "-0.03"},
		{"tiny rounds to zero", mustMoney(t, "0.01"), "20", 2, "0"},
		{"zero total", 0, "20", 2, "0"},
		{"huge total", mustMoney(t, "999999999999.99"), "20", 2, "166666666666.67"},
		{"max total", math.MaxInt64, "100", 2, "4611686018427.39"},
		{"max total 6 decimals", math.MaxInt64, "19.999999", 6, "1537228608757.934067"},
		{"min total", math.MinInt64, "100", 4, "-4611686018427.3879"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParsePercent(tt.percent)
			if err != nil {
				t.Fatal(err)
			}
			got := TaxOut(tt.total, p, tt.minor)
			if got.Compact() != tt.tax {
				t.Errorf("TaxOut(%s, %s%%, %d) = %s, want %s", tt.total, tt.percent, tt.minor, got.Compact(), tt.tax)
			}
		})
	}
	// The example of the design: 20 % of 12.00 leaves 10.00 net.
	total := mustMoney(t, "12.00")
	if net := total - TaxOut(total, 20*Scale, 2); FormatMoney(net, 2) != "10.00" {
		t.Errorf("net of 12.00 at 20%% = %s", FormatMoney(net, 2))
	}
}

func TestParsePercent(t *testing.T) {
	tests := []struct {
		in   string
		want Percent
		ok   bool
	}{
		{"0", 0, true},
		{"20", 20 * Scale, true},
		{"7.5", 7_500_000, true},
		{"19.000001", 19_000_001, true},
		{"100", MaxPercent, true},
		{"100.000000", MaxPercent, true},
		{"020", 20 * Scale, true},
		{"100.000001", 0, false},
		{"1000", 0, false},
		{"-1", 0, false},
		{"+1", 0, false},
		{"", 0, false},
		{".5", 0, false},
		{"5.", 0, false},
		{"1.0000001", 0, false},
		{" 5", 0, false},
		{"1e2", 0, false},
		{"5%", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParsePercent(tt.in)
			if (err == nil) != tt.ok || got != tt.want {
				t.Errorf("ParsePercent(%q) = %d, %v; want %d ok=%v", tt.in, got, err, tt.want, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrBadPercent) {
				t.Errorf("error %v does not wrap ErrBadPercent", err)
			}
		})
	}
}

func FuzzParsePercent(f *testing.F) {
	for _, s := range []string{"0", "20", "7.5", "100", "100.000001", "0001", "-1", "", ".", "1.", "1e2", "99.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePercent(s)
		if err != nil {
			if !errors.Is(err, ErrBadPercent) {
				t.Fatalf("ParsePercent(%q) error %v does not wrap ErrBadPercent", s, err)
			}
			return
		}
		if p < 0 || p > MaxPercent {
			t.Fatalf("ParsePercent(%q) = %d, out of 0..100", s, p)
		}
		back, err := ParsePercent(p.String())
		if err != nil || back != p {
			t.Fatalf("ParsePercent(%q) = %d; its String %q reads back as %d, %v", s, p, p.String(), back, err)
		}
		// The tax on any total is between 0 and half of it.
		for _, total := range []Money{1, 12_000_000, math.MaxInt64} {
			tax := TaxOut(total, p, 2)
			if tax < 0 || tax > total/2+5_000 {
				t.Fatalf("TaxOut(%d, %s%%) = %d", total, p, tax)
			}
		}
	})
}
