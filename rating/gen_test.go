package rating

import (
	"bytes"
	"math/rand/v2"
	"strconv"
)

// countries are E.164 country codes with rough weights (how much of a
// wholesale deck they take) and the first national digits of their mobile
// ranges.
var countries = []struct {
	cc, name string
	weight   int
	mobile   string
}{
	{"1", "USA/Canada", 30, "2345678"}, {"7", "Russia", 6, "9"}, {"20", "Egypt", 2, "1"},
	{"27", "South Africa", 2, "678"}, {"31", "Netherlands", 2, "6"}, {"33", "France", 3, "67"},
	{"34", "Spain", 3, "67"}, {"39", "Italy", 3, "3"}, {"44", "United Kingdom", 4, "7"},
	{"49", "Germany", 5, "1"}, {"52", "Mexico", 4, "1"}, {"55", "Brazil", 6, "9"},
	{"61", "Australia", 2, "4"}, {"62", "Indonesia", 4, "8"}, {"63", "Philippines", 3, "9"},
	{"81", "Japan", 2, "789"}, {"86", "China", 8, "1"}, {"91", "India", 8, "6789"},
	{"234", "Nigeria", 2, "789"}, {"254", "Kenya", 1, "7"}, {"380", "Ukraine", 1, "9"},
	{"880", "Bangladesh", 2, "1"}, {"966", "Saudi Arabia", 1, "5"}, {"971", "UAE", 1, "5"},
	{"351", "Portugal", 1, "9"}, {"48", "Poland", 2, "5"}, {"90", "Turkey", 2, "5"},
	{"92", "Pakistan", 2, "3"}, {"84", "Vietnam", 2, "9"}, {"57", "Colombia", 2, "3"},
}

// genRows returns n distinct rows of realistic prefixes (4–9 digits:
// country code, then area or mobile ranges, emitted as runs of adjacent
// blocks the way carriers publish them), deterministically.
func genRows(n int) []Row {
	rng := rand.New(rand.NewPCG(1, 2))
	total := 0
	for _, c := range countries {
		total += c.weight
	}
	descs := make(map[string][2]string)
	for _, c := range countries {
		descs[c.cc] = [2]string{c.name + " Fixed", c.name + " Mobile"}
	}
	seen := make(map[string]struct{}, n)
	rows := make([]Row, 0, n)
	var b []byte
	for len(rows) < n {
		w := rng.IntN(total)
		ci := 0
		for ; w >= countries[ci].weight; ci++ {
			w -= countries[ci].weight
		}
		c := countries[ci]
		mobile := rng.IntN(3) == 0
		// stem of length 3..8, then a run of adjacent last digits
		l := 4 + rng.IntN(6) // final length 4..9
		if l <= len(c.cc)+1 {
			l = len(c.cc) + 2
		}
		b = append(b[:0], c.cc...)
		if mobile {
			b = append(b, c.mobile[rng.IntN(len(c.mobile))])
		} else {
			b = append(b, byte('2'+rng.IntN(8)))
		}
		for len(b) < l-1 {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		first, run := rng.IntN(10), 1+rng.IntN(10)
		rate := Money(1000 + rng.IntN(200_000))
		d := descs[c.cc][0]
		if mobile {
			d = descs[c.cc][1]
		}
		for k := first; k < 10 && k < first+run && len(rows) < n; k++ {
			p := string(append(b, byte('0'+k)))
			if _, dup := seen[p]; dup {
				continue
			}
			seen[p] = struct{}{}
			rows = append(rows, Row{Prefix: p, Description: d, PerMinute: rate, Initial: 30, Increment: 6})
		}
	}
	rng.Shuffle(len(rows), func(i, j int) { rows[i], rows[j] = rows[j], rows[i] })
	return rows
}

// genNumbers returns k dialled numbers of 11–12 digits, each starting with
// a prefix of rows.
func genNumbers(rows []Row, k int) []string {
	rng := rand.New(rand.NewPCG(3, 4))
	out := make([]string, k)
	for i := range out {
		p := rows[rng.IntN(len(rows))].Prefix
		b := []byte(p)
		for len(b) < 11+rng.IntN(2) {
			b = append(b, byte('0'+rng.IntN(10)))
		}
		out[i] = string(b)
	}
	return out
}

// deckCSV renders rows as a rate deck.
func deckCSV(rows []Row) []byte {
	var buf bytes.Buffer
	buf.Grow(len(rows) * 48)
	buf.WriteString("Prefix,Description,Rate,Connection Fee,Billing,Effective Date\n")
	var b []byte
	for i := range rows {
		r := &rows[i]
		b = append(b[:0], r.Prefix...)
		b = append(b, ',')
		b = append(b, r.Description...)
		b = append(b, ',')
		b = r.PerMinute.appendCompact(b)
		b = append(b, ",0,"...)
		b = strconv.AppendInt(b, int64(r.Initial), 10)
		b = append(b, '/')
		b = strconv.AppendInt(b, int64(r.Increment), 10)
		b = append(b, ",2024-01-01\n"...)
		buf.Write(b)
	}
	return buf.Bytes()
}
