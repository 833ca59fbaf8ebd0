package rating

import (
	"errors"
	"testing"
)

func mustMoney(t testing.TB, s string) Money {
	t.Helper()
	m, err := ParseMoney(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestBilledSeconds(t *testing.T) {
	tests := []struct {
		d                   int
		initial, inc, grace int32
		want                int32
	}{
		{0, 30, 6, 0, 0}, {1, 30, 6, 0, 30}, {30, 30, 6, 0, 30}, {31, 30, 6, 0, 36},
		{36, 30, 6, 0, 36}, {37, 30, 6, 0, 42}, {1, 60, 60, 0, 60}, {61, 60, 60, 0, 120},
		{1, 1, 1, 0, 1}, {59, 1, 1, 0, 59}, {7, 6, 6, 0, 12}, {5, 30, 6, 5, 0},
		{6, 30, 6, 5, 30}, {-3, 1, 1, 0, 0}, {1 << 40, 1, 1, 0, 1 << 30},
	}
	for _, tt := range tests {
		if got := BilledSeconds(tt.d, tt.initial, tt.inc, tt.grace); got != tt.want {
			t.Errorf("BilledSeconds(%d, %d/%d grace %d) = %d, want %d", tt.d, tt.initial, tt.inc, tt.grace, got, tt.want)
		}
	}
}

func TestRounding(t *testing.T) {
	tests := []struct {
		in   string
		prec int
		r    Rounding
		want string
	}{
		{"0.12345", 4, RoundUp, "0.1235"}, {"0.12345", 4, RoundDown, "0.1234"},
		{"0.12345", 4, RoundHalfUp, "0.1235"}, {"0.12345", 4, RoundHalfEven, "0.1234"},
		{"0.12355", 4, RoundHalfEven, "0.1236"}, {"0.123449", 4, RoundHalfUp, "0.1234"},
		{"2.5", 0, RoundHalfEven, "2"}, {"3.5", 0, RoundHalfEven, "4"}, {"-0.12345", 4, RoundUp, "-0.1235"},
		{"1.000001", 6, RoundDown, "1.000001"},
	}
	for _, tt := range tests {
		got := mustMoney(t, tt.in).Round(tt.prec, tt.r)
		if got != mustMoney(t, tt.want) {
			t.Errorf("%s.Round(%d, %v) = %v, want %s", tt.in, tt.prec, tt.r, got, tt.want)
		}
	}
	for _, s := range []string{"up", "down", "half-up", "half-even"} {
		r, err := ParseRounding(s)
		if err != nil || r.String() != s {
			t.Errorf("ParseRounding(%q) = %v, %v", s, r, err)
		}
	}
	if _, err := ParseRounding("nearest"); err == nil {
		t.Error("ParseRounding(nearest) succeeded")
	}
}

func TestCardLookupAndCharge(t *testing.T) {
	const jan, feb = 1704067200, 1706745600 // 2024-01-01, 2024-02-01
	rows := []Row{
		{Prefix: "49", Description: "Germany", PerMinute: mustMoney(t, "0.01")},
		{Prefix: "4915", Description: "Germany Mobile", PerMinute: mustMoney(t, "0.05"), Initial: 30, Increment: 6},
		{Prefix: "4915", Description: "Germany Mobile new", PerMinute: mustMoney(t, "0.04"), Initial: 30, Increment: 6, From: feb},
		{Prefix: "49151", Description: "future only", PerMinute: mustMoney(t, "0.09"), From: feb},
		{Prefix: "4919", Description: "premium", Blocked: true},
		{Prefix: "1", Description: "NANP", PerMinute: mustMoney(t, "0.002"), ConnectionFee: mustMoney(t, "0.01"), Initial: 6, Increment: 6, Grace: 3},
	}
	c, err := NewCard(Settings{ID: "c", Revision: 2, Currency: "EUR", Precision: 4, Rounding: RoundHalfUp}, rows)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		number  string
		at      int64
		prefix  string
		err     error
		seconds int
		cost    string
		billed  int32
	}{
		{"4930123", jan, "49", nil, 61, "0.0200", 120},
		{"4915112345", jan, "4915", nil, 37, "0.0350", 42},
		{"4915112345", feb, "49151", nil, 60, "0.0900", 60},
		{"4915212345", feb, "4915", nil, 37, "0.0280", 42},
		{"4919000", jan, "4919", ErrBlocked, 0, "0", 0},
		{"12125551234", jan, "1", nil, 3, "0", 0},
		{"12125551234", jan, "1", nil, 4, "0.0102", 6},
		{"33123", jan, "", ErrNoRate, 0, "0", 0},
		{"49x", jan, "", ErrBadNumber, 0, "0", 0},
		{"", jan, "", ErrBadNumber, 0, "0", 0},
	}
	for _, tt := range tests {
		r, err := c.Lookup(tt.number, tt.at)
		if !errors.Is(err, tt.err) {
			t.Errorf("Lookup(%q) error %v, want %v", tt.number, err, tt.err)
			continue
		}
		if tt.prefix == "" {
			continue
		}
		if r.Prefix != tt.prefix {
			t.Errorf("Lookup(%q) = %+v, want prefix %s", tt.number, r, tt.prefix)
			continue
		}
		if err != nil {
			continue
		}
		ch := c.Charge(&r, tt.seconds)
		if ch.Cost != mustMoney(t, tt.cost) || ch.Billed != tt.billed {
			t.Errorf("Charge(%q, %d) = %v/%ds, want %s/%ds", tt.number, tt.seconds, ch.Cost, ch.Billed, tt.cost, tt.billed)
		}
		tr, err := ParseTrace(ch.Trace.String())
		if err != nil || tr != ch.Trace {
			t.Errorf("ParseTrace(%q) = %+v, %v", ch.Trace.String(), tr, err)
		}
		if re := Rerate(tr, tt.seconds); re != ch {
			t.Errorf("Rerate = %+v, want %+v", re, ch)
		}
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Lookup("4915112345", jan) }); n != 0 {
		t.Errorf("Lookup allocates %v times", n)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = c.Lookup("4919000", jan) }); n != 0 {
		t.Errorf("blocked Lookup allocates %v times", n)
	}
}

func TestNewCardErrors(t *testing.T) {
	good := Row{Prefix: "49", PerMinute: 1}
	tests := []struct {
		name string
		s    Settings
		rows []Row
		want string
	}{
		{"letters", Settings{}, []Row{good, {Prefix: "4a"}}, `row 2 (prefix "4a"): prefix: not digits only`},
		{"empty", Settings{}, []Row{{}}, `row 1 (prefix ""): prefix: empty`},
		{"long", Settings{}, []Row{{Prefix: "1234567890123456789012345"}}, `row 1 (prefix "1234567890123456789012345"): prefix: longer than 24 digits`},
		{"negative", Settings{}, []Row{{Prefix: "1", PerMinute: -1}}, `row 1 (prefix "1"): rate: negative`},
		{"increment", Settings{}, []Row{{Prefix: "1", Increment: -6}}, `row 1 (prefix "1"): increment: must be positive`},
		{"dates", Settings{}, []Row{{Prefix: "1", From: 10, To: 10}}, `row 1 (prefix "1"): effective to: not after effective from`},
		{"duplicate", Settings{}, []Row{good, {Prefix: "1"}, good}, `row 3 (prefix "49"): prefix: duplicate of row 1 (same prefix and effective date)`},
		{"precision", Settings{ID: "x", Precision: 7}, nil, `bad card settings: card "x": precision 7 not in 0..6`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewCard(tt.s, tt.rows)
			if err == nil || err.Error() != tt.want {
				t.Fatalf("NewCard error = %v, want %s", err, tt.want)
			}
		})
	}
}
