package routing

import "testing"

func TestNormalize(t *testing.T) {
	tests := []struct {
		user, tech, want string
	}{
		{"442071234567", "", "442071234567"},
		{"+442071234567", "", "442071234567"},
		{"00442071234567", "", "442071234567"},
		{"011442071234567", "", "442071234567"},
		{"123#+44-20-7123-4567", "123#", "442071234567"},
		{"+1 (212) 555.0100", "", "12125550100"},
		{"442071234567;npdi", "", "442071234567"},
		{"", "", ""},
		{"abc", "", ""},
		{"0", "", ""},
		{"+", "", ""},
		{"123456789012345678901", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			got, err := Normalize(tt.user, tt.tech)
			if tt.want == "" {
				if err == nil {
					t.Fatalf("Normalize(%q) = %q, want error", tt.user, got)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("Normalize(%q) = %q, %v; want %q", tt.user, got, err, tt.want)
			}
		})
	}
}

func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"+442071234567", "00 44", "123#4420", "011", "44;rn=1", "\x00"} {
		f.Add(s, "123#")
	}
	f.Fuzz(func(t *testing.T, user, tech string) {
		n, err := Normalize(user, tech)
		if err != nil {
			return
		}
		if n == "" || len(n) > MaxDigits || n[0] == '0' {
			t.Fatalf("Normalize(%q) = %q", user, n)
		}
		for _, c := range n {
			if c < '0' || c > '9' {
				t.Fatalf("Normalize(%q) = %q has a non-digit", user, n)
			}
		}
	})
}
