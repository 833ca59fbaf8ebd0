package rating

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// TestLookupLargeCard checks Lookup on a card big enough for split blocks
// and long prefixes against a map of every prefix's rows.
func TestLookupLargeCard(t *testing.T) {
	rows := genRows(50_000)
	rng := rand.New(rand.NewPCG(5, 6))
	// dated, blocked and long rows over some of the prefixes
	for i := 0; i < 2_000; i++ {
		p := rows[rng.IntN(len(rows))].Prefix
		switch i % 4 {
		case 0:
			rows = append(rows, Row{Prefix: p + "7", PerMinute: 5, From: 1_000})
		case 1:
			rows = append(rows, Row{Prefix: p + "35", Blocked: true, To: 2_000})
		case 2:
			rows = append(rows, Row{Prefix: p[:2], PerMinute: 7, From: 500, To: 1_500})
		default:
			rows = append(rows, Row{Prefix: p + "123456", PerMinute: 9})
		}
	}
	// drop duplicates the additions made
	seen := map[[2]any]bool{}
	uniq := rows[:0]
	for _, r := range rows {
		k := [2]any{r.Prefix, r.From}
		if !seen[k] {
			seen[k] = true
			uniq = append(uniq, r)
		}
	}
	c, err := NewCard(Settings{ID: "large"}, uniq)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.ix.sub) == 0 {
		t.Fatal("no split block; the test does not cover them")
	}
	byPrefix := map[string][]int{}
	all := c.Rows()
	for i := range all {
		byPrefix[all[i].Prefix] = append(byPrefix[all[i].Prefix], i)
	}
	want := func(number string, at int64) (Row, error) {
		for l := len(number); l > 0; l-- {
			idx := byPrefix[number[:l]]
			for k := len(idx) - 1; k >= 0; k-- {
				r := all[idx[k]]
				if r.InEffect(at) {
					if r.Blocked {
						return r, ErrBlocked
					}
					return r, nil
				}
			}
		}
		return Row{}, ErrNoRate
	}
	nums := genNumbers(uniq, 20_000)
	for i := 0; i < 5_000; i++ {
		b := make([]byte, 1+rng.IntN(20))
		for j := range b {
			b[j] = byte('0' + rng.IntN(10))
		}
		nums = append(nums, string(b))
	}
	for i := 0; i < 5_000; i++ {
		nums = append(nums, uniq[rng.IntN(len(uniq))].Prefix+"35123")
	}
	for _, n := range nums {
		for _, at := range []int64{0, 600, 1_200, 2_500} {
			r, err := c.Lookup(n, at)
			wr, werr := want(n, at)
			if r != wr || !errors.Is(err, werr) {
				t.Fatalf("Lookup(%q, %d) = %+v, %v; want %+v, %v", n, at, r, err, wr, werr)
			}
		}
	}
}
