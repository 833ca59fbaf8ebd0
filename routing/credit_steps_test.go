package routing

import (
	"testing"

	"github.com/trunkline/trunkline/rating"
)

func TestCreditSteps(t *testing.T) {
	tests := []struct {
		name                 string
		rate, fee            string
		initial, inc, grace  int32
		first, step          int
		budget               string
		affordable           int
		atLeast13, atLeast61 int
	}{
		// 30 s at 0.0600/min billed 1/1 cost exactly 0.03.
		{"1/1", "0.06", "", 1, 1, 0, 1, 1, "0.03", 30, 13, 61},
		{"1/1 a little short", "0.06", "", 1, 1, 0, 1, 1, "0.029999", 29, 13, 61},
		{"60/60", "0.06", "", 60, 60, 0, 60, 60, "0.119999", 60, 60, 120},
		// 30/6: 30 s cost 0.03, 36 s 0.036, 42 s 0.042.
		{"30/6", "0.06", "", 30, 6, 0, 30, 6, "0.041", 36, 30, 66},
		// The connection fee is part of the first block: 0.05 + 10 s.
		{"fee", "0.06", "0.05", 1, 1, 0, 1, 1, "0.06", 10, 13, 61},
		// Calls within grace are free: the first paid block is the
		// shortest call billed, 6 s.
		{"grace", "0.06", "", 1, 1, 5, 6, 1, "0.01", 10, 13, 61},
		{"not even the first block", "0.06", "0.05", 1, 1, 0, 1, 1, "0.05", 0, 13, 61},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l := testLeg(t, "USD", tt.rate, tt.fee, tt.initial, tt.inc, tt.grace)
			s := stepsOf(l)
			if s.first != tt.first || s.inc != tt.step {
				t.Fatalf("steps = %+v, want first %d inc %d", s, tt.first, tt.step)
			}
			budget, _ := rating.ParseMoney(tt.budget)
			if got := s.affordable(l, budget); got != tt.affordable {
				t.Errorf("affordable(%s) = %d s, want %d", tt.budget, got, tt.affordable)
			}
			if got := s.atLeast(13); got != tt.atLeast13 {
				t.Errorf("atLeast(13) = %d, want %d", got, tt.atLeast13)
			}
			if got := s.atLeast(61); got != tt.atLeast61 {
				t.Errorf("atLeast(61) = %d, want %d", got, tt.atLeast61)
			}
		})
	}
}

// TestAffordableIsTheLongestStep checks affordable against a scan: the
// cost of the answer fits the budget, the next step's does not.
func TestAffordableIsTheLongestStep(t *testing.T) {
	l := testLeg(t, "USD", "0.0137", "0.0011", 7, 3, 2)
	s := stepsOf(l)
	for b := rating.Money(0); b < 20_000; b += 37 {
		got := s.affordable(l, b)
		if got == 0 {
			if l.Charge(s.first).Cost <= b {
				t.Fatalf("budget %s: affordable 0 but the first block costs %s", b, l.Charge(s.first).Cost)
			}
			continue
		}
		if c := l.Charge(got).Cost; c > b {
			t.Fatalf("budget %s: %d s cost %s, more", b, got, c)
		}
		if c := l.Charge(got + s.inc).Cost; c <= b {
			t.Fatalf("budget %s: %d s fits, but so do %d s (%s)", b, got, got+s.inc, c)
		}
	}
}
