package rating

import (
	"errors"
	"strings"
	"testing"
)

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"0", "0.0123", "-5", "12.5", "+1.000001", ".5", "5.", "1.0000001", "", "-", "1e3", "999999999999.999999"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMoney(s)
		if err != nil {
			if !errors.Is(err, ErrBadMoney) {
				t.Fatalf("ParseMoney(%q) error %v does not wrap ErrBadMoney", s, err)
			}
			return
		}
		for _, out := range []string{m.String(), m.Compact()} {
			back, err := ParseMoney(out)
			if err != nil || back != m {
				t.Fatalf("ParseMoney(%q) = %v; re-parsing %q gave %v, %v", s, m, out, back, err)
			}
		}
	})
}

func FuzzImportCSV(f *testing.F) {
	for _, s := range []string{
		"Prefix,Rate\n49,0.01\n",
		"Dial Code;Destination;Price;Billing;Effective Date\n49;Germany;0.01;30/6;2024-01-01\n49;Germany;0.02;30/6;2024-01-01\n",
		"Code,Cost,Connection Fee,Initial,Increment,Grace,Blocked\n1,0.005,0.01,6,6,3,no\n1900,,,,,,yes\n",
		"\ufeffprefix\trate\tend date\n+44\t$0.1\t1735689600\n",
		"Prefix,Rate\n\"4\"9\",1\n",
		"Prefix,Rate,Billing\n4a,x,0/0\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, deck string) {
		c, rep, err := ImportCSV(strings.NewReader(deck), Settings{ID: "f"}, nil)
		if err != nil {
			if c != nil || rep != nil {
				t.Fatal("error with a card or report")
			}
			return
		}
		if (c == nil) == rep.OK() {
			t.Fatalf("card %v but report OK %v: %v", c != nil, rep.OK(), rep.Problems)
		}
		if c == nil {
			for _, p := range rep.Problems {
				if p.Line <= 0 || p.Reason == "" {
					t.Fatalf("problem without line or reason: %+v", p)
				}
			}
			return
		}
		if _, err := NewCard(c.Settings(), c.Rows()); err != nil {
			t.Fatalf("rows of an imported card do not rebuild: %v", err)
		}
	})
}

// naiveLookup is the reference for Lookup: a scan of every row.
func naiveLookup(c *Card, number string, at int64) (Row, error) {
	var best *Row
	rows := c.Rows()
	for i := range rows {
		r := &rows[i]
		if !strings.HasPrefix(number, r.Prefix) || !r.InEffect(at) {
			continue
		}
		if best == nil || len(r.Prefix) > len(best.Prefix) || len(r.Prefix) == len(best.Prefix) && r.From > best.From {
			best = r
		}
	}
	switch {
	case best == nil:
		return Row{}, ErrNoRate
	case best.Blocked:
		return *best, ErrBlocked
	}
	return *best, nil
}

func FuzzLookup(f *testing.F) {
	rows := []Row{
		{Prefix: "1", PerMinute: 1}, {Prefix: "12", PerMinute: 2, From: 100}, {Prefix: "123", Blocked: true, To: 200},
		{Prefix: "1234567", PerMinute: 3}, {Prefix: "12345678901234", PerMinute: 4},
		{Prefix: "123456789012345678901", PerMinute: 5}, {Prefix: "4", PerMinute: 6, From: 50, To: 150},
		{Prefix: "4", PerMinute: 7, From: 150}, {Prefix: "49", PerMinute: 8, From: 300}, {Prefix: "0", PerMinute: 9},
	}
	c, err := NewCard(Settings{ID: "f"}, rows)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{"", "1", "12345", "123456789012345678901234", "49", "4x", "+49", "0049", "1234567890123456789012345678"} {
		f.Add(s, int64(0))
		f.Add(s, int64(160))
	}
	f.Fuzz(func(t *testing.T, number string, at int64) {
		r, err := c.Lookup(number, at)
		if !allDigits(number) || number == "" {
			if !errors.Is(err, ErrBadNumber) {
				t.Fatalf("Lookup(%q) = %v, want ErrBadNumber", number, err)
			}
			return
		}
		wr, werr := naiveLookup(c, number, at)
		if r != wr || !errors.Is(err, werr) {
			t.Fatalf("Lookup(%q, %d) = %+v, %v; want %+v, %v", number, at, r, err, wr, werr)
		}
	})
}

func FuzzParseTrace(f *testing.F) {
	f.Add("t1|cust%7Ceu|7|EUR|4930|0.0123|0|30/6/0|4|half-up")
	f.Add("t1||0||1|0|0|1/1/0|0|up")
	f.Fuzz(func(t *testing.T, s string) {
		tr, err := ParseTrace(s)
		if err != nil {
			return
		}
		back, err := ParseTrace(tr.String())
		if err != nil || back != tr {
			t.Fatalf("ParseTrace(%q) = %+v; round trip %+v, %v", s, tr, back, err)
		}
		_ = Rerate(tr, 61)
	})
}
