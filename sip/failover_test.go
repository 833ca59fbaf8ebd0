package sip

import (
	"testing"

	"github.com/trunkline/trunkline/routing"
)

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

func TestFailoverAtCarrierCodes(t *testing.T) {
	own := &routing.Attempt{FailoverCodes: []int{486, 503}}
	tests := []struct {
		at   *routing.Attempt
		code int
		want bool
	}{
		{&routing.Attempt{}, 486, false}, // the switch's list
		{&routing.Attempt{}, 502, true},
		{own, 486, true},
		{own, 503, true},
		{own, 502, false}, // not among the carrier's codes
		{own, 404, false},
		{own, 0, true},   // no response at all
		{own, 302, true}, // the carrier's affair
		{own, 407, true},
	}
	for _, tt := range tests {
		if got := failoverAt(tt.at, tt.code); got != tt.want {
			t.Errorf("failoverAt(%v, %d) = %v, want %v", tt.at.FailoverCodes, tt.code, got, tt.want)
		}
	}
}
