package main

import (
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Rate is one row of a generated rate deck.
type Rate struct {
	Prefix      string `json:"prefix"`
	Description string `json:"description"`
	Rate        string `json:"rate"`
}

// country is a country code of the generated deck and the share of its
// prefixes.
type country struct {
	code   string
	name   string
	weight int
}

// countries are real country codes; the deck splits each into area and
// mobile-range prefixes the way carrier decks do (for 1: NPA-NXX).
var countries = []country{
	{"1", "USA/Canada", 30}, {"44", "United Kingdom", 6}, {"49", "Germany", 6}, {"33", "France", 5},
	{"34", "Spain", 4}, {"39", "Italy", 4}, {"7", "Russia", 4}, {"86", "China", 4}, {"91", "India", 4},
	{"55", "Brazil", 3}, {"52", "Mexico", 3}, {"61", "Australia", 2}, {"81", "Japan", 2}, {"82", "South Korea", 2},
	{"234", "Nigeria", 2}, {"254", "Kenya", 1}, {"27", "South Africa", 1}, {"20", "Egypt", 1}, {"90", "Turkey", 1},
	{"966", "Saudi Arabia", 1}, {"971", "UAE", 1}, {"380", "Ukraine", 1}, {"48", "Poland", 1}, {"31", "Netherlands", 1},
	{"32", "Belgium", 1}, {"41", "Switzerland", 1}, {"43", "Austria", 1}, {"46", "Sweden", 1}, {"47", "Norway", 1},
	{"45", "Denmark", 1}, {"358", "Finland", 1}, {"351", "Portugal", 1}, {"30", "Greece", 1}, {"36", "Hungary", 1},
	{"40", "Romania", 1}, {"420", "Czech Republic", 1}, {"353", "Ireland", 1}, {"64", "New Zealand", 1},
	{"65", "Singapore", 1}, {"60", "Malaysia", 1}, {"62", "Indonesia", 2}, {"63", "Philippines", 2},
	{"66", "Thailand", 1}, {"84", "Vietnam", 1}, {"92", "Pakistan", 2}, {"880", "Bangladesh", 1},
	{"94", "Sri Lanka", 1}, {"977", "Nepal", 1},
}

// Deck is a generated pair of cards over the same prefixes, and numbers that
// hit them.
type Deck struct {
	Sell    []Rate   // customer card
	Buy     []Rate   // provider card: every buy rate is below the sell rate
	Numbers []string // dialled numbers, each matching some prefix
}

// makeDeck generates n unique prefixes deterministically (fixed seed): each
// country code gets a share, extended by 1–5 random digits (USA/Canada by
// 6: NPA-NXX), plus the bare country codes so that every number rates.
func makeDeck(n, numbers int) *Deck {
	r := rand.New(rand.NewPCG(20261123, 6))
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	seen := map[string]bool{}
	var prefixes []string
	var names []string
	add := func(p, name string) {
		if !seen[p] {
			seen[p] = true
			prefixes = append(prefixes, p)
			names = append(names, name)
		}
	}
	for _, c := range countries {
		add(c.code, c.name)
	}
	for len(prefixes) < n {
		c := pick(r, total)
		ext := 1 + r.IntN(5)
		kind := "Fixed"
		if c.code == "1" {
			ext = 6
		} else if r.IntN(3) == 0 {
			kind = "Mobile"
		}
		var b strings.Builder
		b.WriteString(c.code)
		for range ext {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		add(b.String(), c.name+" "+kind)
	}
	d := &Deck{}
	for i, p := range prefixes {
		buy := 10 + r.IntN(2000) // 0.0010 .. 0.2009 per minute
		sell := buy + buy/4 + 5
		d.Buy = append(d.Buy, Rate{Prefix: p, Description: names[i], Rate: money4(buy)})
		d.Sell = append(d.Sell, Rate{Prefix: p, Description: names[i], Rate: money4(sell)})
	}
	sorted := append([]string(nil), prefixes...)
	sort.Strings(sorted)
	for range numbers {
		p := prefixes[r.IntN(len(prefixes))]
		var b strings.Builder
		b.WriteString(p)
		for b.Len() < 11+r.IntN(2) {
			b.WriteByte(byte('0' + r.IntN(10)))
		}
		d.Numbers = append(d.Numbers, b.String())
	}
	return d
}

func pick(r *rand.Rand, total int) country {
	x := r.IntN(total)
	for _, c := range countries {
		if x < c.weight {
			return c
		}
		x -= c.weight
	}
	return countries[0]
}

func money4(tenThousandths int) string {
	return fmt.Sprintf("%d.%04d", tenThousandths/10000, tenThousandths%10000)
}

// writeNumbers writes the sipp injection file: one dialled number per line.
func writeNumbers(path string, numbers []string) error {
	var b strings.Builder
	b.WriteString("SEQUENTIAL\n")
	for _, n := range numbers {
		b.WriteString(n)
		b.WriteString(";\n")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
