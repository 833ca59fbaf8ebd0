package rating

import (
	"cmp"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// TestCardRowsHoldNoPointers keeps a card's rows out of the collector's
// way: a pointer added to row would make every collection scan every row
// of every card again.
func TestCardRowsHoldNoPointers(t *testing.T) {
	typ := reflect.TypeFor[row]()
	for i := 0; i < typ.NumField(); i++ {
		switch f := typ.Field(i); f.Type.Kind() {
		case reflect.Bool, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		default:
			t.Errorf("row.%s is a %s: a card's rows must hold no pointers", f.Name, f.Type)
		}
	}
}

// TestCardRowsRoundTrip builds cards of rows whose prefixes begin one
// another, share descriptions or not, are dated and blocked, and checks
// that Rows and Lookup give back exactly what went in.
func TestCardRowsRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for round := 0; round < 20; round++ {
		seen := map[[2]any]bool{}
		var in []Row
		for len(in) < 2_000 {
			p := make([]byte, 1+rng.IntN(MaxPrefixLen))
			for i := range p {
				p[i] = byte('0' + rng.IntN(3)) // few digits: many prefixes begin others
			}
			r := Row{Prefix: string(p), PerMinute: Money(rng.IntN(1_000_000)), ConnectionFee: Money(rng.IntN(100)),
				Initial: int32(1 + rng.IntN(60)), Increment: int32(1 + rng.IntN(60)), Grace: int32(rng.IntN(10)),
				Blocked: rng.IntN(20) == 0}
			switch rng.IntN(4) {
			case 0:
				r.Description = "Shared"
			case 1:
				r.Description = strings.Repeat("é", rng.IntN(MaxDescription/2+1)) // up to the limit, in bytes
			case 2:
				r.Description = "Own " + r.Prefix
			}
			if rng.IntN(5) == 0 {
				r.From = int64(1 + rng.IntN(1000))
				r.To = r.From + int64(1+rng.IntN(1000))
			}
			if k := [2]any{r.Prefix, r.From}; !seen[k] {
				seen[k] = true
				in = append(in, r)
			}
		}
		c, err := NewCard(Settings{ID: "rt"}, in)
		if err != nil {
			t.Fatal(err)
		}
		want := slices.Clone(in)
		slices.SortFunc(want, func(a, b Row) int {
			return cmp.Or(strings.Compare(a.Prefix, b.Prefix), cmp.Compare(a.From, b.From))
		})
		got := c.Rows()
		if !slices.Equal(got, want) {
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("row %d: got %+v, want %+v", i, got[i], want[i])
				}
			}
			t.Fatalf("got %d rows, want %d", len(got), len(want))
		}
		for _, r := range want {
			if r.From != 0 {
				continue
			}
			got, err := c.Lookup(r.Prefix, 0)
			if err != nil && !(r.Blocked && err == ErrBlocked) {
				t.Fatalf("Lookup(%s): %v", r.Prefix, err)
			}
			if got != r {
				t.Fatalf("Lookup(%s) = %+v, want %+v", r.Prefix, got, r)
			}
		}
	}
}
