package rating

import "testing"

func TestMinorUnits(t *testing.T) {
	for cur, want := range map[string]int{"EUR": 2, "USD": 2, "JPY": 0, "KRW": 0, "KWD": 3, "TND": 3, "CLF": 4, "UYW": 4, "XXZ": 2, "": 2} {
		if got := MinorUnits(cur); got != want {
			t.Errorf("MinorUnits(%q) = %d, want %d", cur, got, want)
		}
	}
}

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		m     string
		minor int
		want  string
	}{
		{"10", 2, "10.00"},
		{"9.5", 2, "9.50"},
		{"9.971234", 2, "9.971234"},
		{"-5", 2, "-5.00"},
		{"0", 2, "0.00"},
		{"-0.000001", 2, "-0.000001"},
		{"1000", 0, "1000"},
		{"1000.5", 0, "1000.5"},
		{"1.2", 3, "1.200"},
		{"1.23456", 4, "1.23456"},
		{"1.5", 9, "1.500000"},
		{"1.5", -1, "1.5"},
	}
	for _, tt := range tests {
		if got := FormatMoney(mustMoney(t, tt.m), tt.minor); got != tt.want {
			t.Errorf("FormatMoney(%s, %d) = %q, want %q", tt.m, tt.minor, got, tt.want)
		}
	}
	if got := FormatMoney(-9223372036854775808, 2); got != "-9223372036854.775808" {
		t.Errorf("FormatMoney(min) = %q", got)
	}
}
