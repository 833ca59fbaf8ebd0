package sip

import "testing"

func TestFailover(t *testing.T) {
	tests := []struct {
		code int
		want bool
	}{
		{0, true}, {408, true}, {480, true}, {500, true}, {502, true}, {503, true}, {504, true},
		{400, false}, {403, false}, {404, false}, {484, false}, {486, false}, {487, false},
		{600, false}, {603, false}, {200, false},
		{302, true}, {380, true}, {401, true}, {407, true}, // the carrier's affair
	}
	for _, tt := range tests {
		if got := failover(tt.code); got != tt.want {
			t.Errorf("failover(%d) = %v, want %v", tt.code, got, tt.want)
		}
	}
}
