package rating

// index finds the rows of a prefix without hashing or pointer chasing. The
// rows of a card are sorted by prefix; the index splits every prefix into
// its first d digits (the block, d from 1 to 6 by card size) and the rest:
//
//   - prefixes of at most d digits sit in short, a direct table by length
//     and value (111,110 entries when d = 5);
//   - prefixes of d+1 .. d+8 digits form, per block, a contiguous run of
//     rows (blocks gives its bounds); keys holds, for every row, its suffix
//     past the block encoded as pad8(suffix)×10 + length, which sorts like
//     the strings, so a longest-prefix match is usually one binary search
//     in one run of a uint32 slice (see lookupBlock); a block of more than
//     splitRows rows is split ten ways by its next digit (sub);
//   - longer prefixes (rare) sit in a map.
//
// up gives, per block, the length of its longest prefix in short, so a
// number whose match is short costs one probe, not d.
//
// Flags in the top bits of keys and short say whether a prefix has dated
// rows and whether a row is blocked, so an undated match returns without
// reading the row. The index costs 4 bytes per row plus 8×10^d + 4×1.1×10^d
// bytes (about 1.3 MB at d = 5 for a million prefixes).
type index struct {
	d      int
	short  []uint32         // by shortPos: 0 none, else flags | (last row of the prefix + 1)
	blocks [][2]int32       // by value of the first d digits: [start, end) of the rows longer than d, or a split block
	sub    []int32          // split blocks: 11 bounds each, the rows by their digit d+1
	up     []uint8          // by value of the first d digits: length of its longest prefix in short, 0 if none
	keys   []uint32         // per row: flags | suffix key (0 for rows of at most d digits)
	long   map[string]int32 // prefixes longer than d+maxSuffix: last row
	maxLen int
}

const (
	flagDated   = 1 << 31 // some row of this prefix has an effective date
	flagBlocked = 1 << 30 // this row is blocked
	keyMask     = 1<<30 - 1
	maxSuffix   = 8 // suffix digits a key holds
)

// shortBase[l] is the first short slot of prefixes of l digits.
var shortBase = [...]int{0, 0, 10, 110, 1_110, 11_110, 111_110, 1_111_110}

var pow10u = [...]uint32{1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000}

func digitsValue(s string) int {
	v := 0
	for i := 0; i < len(s); i++ {
		v = v*10 + int(s[i]-'0')
	}
	return v
}

// suffixKey encodes the digits past the block; longer than maxSuffix they
// get length code 9, which sorts after every real key of the same stem and
// never matches a search.
func suffixKey(s string) uint32 {
	l := min(len(s), maxSuffix)
	v := uint32(digitsValue(s[:l])) * pow10u[maxSuffix-l]
	if len(s) > maxSuffix {
		return v*10 + 9
	}
	return v*10 + uint32(l)
}

// blockDigits picks d so that a block holds about 8 prefixes on average.
func blockDigits(n int) int {
	d := 1
	for d < 5 && int(pow10[d+1])*8 <= n {
		d++
	}
	return d
}

func newIndex(rows []Row) index {
	n := len(rows)
	d := blockDigits(n)
	x := index{d: d, short: make([]uint32, shortBase[d+1]), blocks: make([][2]int32, pow10[d]),
		up: make([]uint8, pow10[d]), keys: make([]uint32, n)}
	for i := 0; i < n; {
		p := rows[i].Prefix
		j, dated := i, false
		for ; j < n && rows[j].Prefix == p; j++ {
			dated = dated || rows[j].From != 0 || rows[j].To != 0
		}
		x.maxLen = max(x.maxLen, len(p))
		var f, key uint32
		if dated {
			f = flagDated
		}
		if len(p) > d {
			key = suffixKey(p[d:])
			b := &x.blocks[digitsValue(p[:d])]
			if b[1] == 0 {
				b[0] = int32(i)
			}
			b[1] = int32(j)
		}
		for k := i; k < j; k++ {
			x.keys[k] = f | key
			if rows[k].Blocked {
				x.keys[k] |= flagBlocked
			}
		}
		last := j - 1
		switch {
		case len(p) <= d:
			x.short[shortBase[len(p)]+digitsValue(p)] = x.keys[last]&^keyMask | uint32(last+1)
		case len(p) > d+maxSuffix:
			if x.long == nil {
				x.long = make(map[string]int32)
			}
			x.long[p] = int32(last)
		}
		i = j
	}
	x.split()
	// up[v]: the longest l <= d whose first l digits of v are a short prefix.
	for v := range x.up {
		for l := d; l > 0; l-- {
			if x.short[shortBase[l]+v/int(pow10[d-l])] != 0 {
				x.up[v] = uint8(l)
				break
			}
		}
	}
	return x
}

// splitRows is the size above which a block is split by its next digit, so
// that the search in the crowded blocks of a deck (country code 1, mobile
// ranges) stays within a cache line or two.
const splitRows = 16

// split divides every block of more than splitRows rows into ten ranges by
// the digit past the block; blocks[v] then holds {-1 - offset in sub, 0}.
// Every row of a block is longer than d, so the ten ranges partition it.
func (x *index) split() {
	for v := range x.blocks {
		b := x.blocks[v]
		if b[1]-b[0] <= splitRows {
			continue
		}
		off := len(x.sub)
		x.sub = append(x.sub, b[0])
		i := b[0]
		for dg := uint32(1); dg <= 10; dg++ {
			// the first row whose digit d+1 is at least dg
			for i < b[1] && (x.keys[i]&keyMask)/(pow10u[maxSuffix-1]*10) < dg {
				i++
			}
			x.sub = append(x.sub, i)
		}
		x.blocks[v] = [2]int32{int32(-1 - off), 0}
	}
}

// span returns the rows of block bv whose digit d+1 is first (an ASCII
// digit), as [start, end).
func (x *index) span(bv int, first byte) (int32, int32) {
	b := x.blocks[bv]
	if b[0] >= 0 {
		return b[0], b[1]
	}
	off := int(-1-b[0]) + int(first-'0')
	return x.sub[off], x.sub[off+1]
}

// find returns the position of the last row of prefix p, or -1.
func (x *index) find(p string) int {
	if len(p) == 0 || len(p) > x.maxLen || !allDigits(p) {
		return -1
	}
	switch {
	case len(p) <= x.d:
		return int(x.short[shortBase[len(p)]+digitsValue(p)]&keyMask) - 1
	case len(p) > x.d+maxSuffix:
		if i, ok := x.long[p]; ok {
			return int(i)
		}
		return -1
	}
	start, end := x.span(digitsValue(p[:x.d]), p[x.d])
	key := suffixKey(p[x.d:])
	keys := x.keys[start:end]
	lo := searchKeys(keys, key)
	if lo > 0 && keys[lo-1]&keyMask == key {
		return int(start) + lo - 1
	}
	return -1
}

// searchKeys returns how many keys are at most key (keys are sorted). The
// loop is branch-free so the compiler emits conditional moves.
func searchKeys(keys []uint32, key uint32) int {
	n := len(keys)
	if n == 0 {
		return 0
	}
	base := 0
	for n > 1 {
		half := n >> 1
		if keys[base+half]&keyMask <= key {
			base += half
		}
		n -= half
	}
	if keys[base]&keyMask <= key {
		return base + 1
	}
	return base
}

// Lookup returns the row of the longest prefix of number that is in effect
// at atUnix. A longer prefix whose rows are not in effect does not shadow a
// shorter one; of several rows of one prefix in effect, the one with the
// latest From wins, so a future rate takes over by itself at its date.
//
// A blocked row stops the match: Lookup returns it with ErrBlocked. No
// match gives ErrNoRate, a number that is not digits ErrBadNumber. Lookup
// does not allocate and is safe for concurrent use.
func (c *Card) Lookup(number string, atUnix int64) (Row, error) {
	i, err := c.lookup(number, atUnix)
	if i < 0 {
		return Row{}, err
	}
	return c.row(i), err
}

// lookup is Lookup returning the row's position, -1 for none.
func (c *Card) lookup(number string, atUnix int64) (int, error) {
	n := len(number)
	if n == 0 {
		return -1, ErrBadNumber
	}
	for i := 0; i < n; i++ {
		if number[i]-'0' > 9 {
			return -1, ErrBadNumber
		}
	}
	x := &c.ix
	d := x.d
	if x.long != nil {
		for l := min(n, x.maxLen); l > d+maxSuffix; l-- {
			if i, ok := x.long[number[:l]]; ok {
				if r, ok, err := c.pick(int(i), x.keys[i], atUnix); ok {
					return r, err
				}
			}
		}
	}
	bv := 0
	if n >= d {
		bv = digitsValue(number[:d])
	}
	if m := min(n, x.maxLen) - d; m > 0 {
		if r, ok, err := c.lookupBlock(bv, number[d:d+min(m, maxSuffix)], atUnix); ok {
			return r, err
		}
	}
	var vals [8]int
	lim := min(n, d)
	for i := 0; i < lim; i++ {
		vals[i+1] = vals[i]*10 + int(number[i]-'0')
	}
	if n >= d {
		// The longest short prefix of the block, found without probing.
		lim = int(x.up[bv])
		if lim == 0 {
			return -1, ErrNoRate
		}
	}
	for l := lim; l > 0; l-- {
		if e := x.short[shortBase[l]+vals[l]]; e != 0 {
			if r, ok, err := c.pick(int(e&keyMask)-1, e, atUnix); ok {
				return r, err
			}
		}
	}
	return -1, ErrNoRate
}

// lookupBlock finds the longest prefix of block bv that begins suffix (the
// dialled digits past the block, at most maxSuffix) and is in effect.
//
// One search finds p, the greatest key not above the suffix. In string
// order every prefix of the suffix that the block holds is then also a
// prefix of p, so when p does not begin the suffix the next candidate is
// no longer than their common part: the search restarts there, below p.
// Most lookups take one search, whatever the length of the match.
func (c *Card) lookupBlock(bv int, suffix string, atUnix int64) (int, bool, error) {
	x := &c.ix
	start, end := x.span(bv, suffix[0])
	if start >= end {
		return -1, false, nil
	}
	keys := x.keys[start:end]
	l := uint32(len(suffix))
	nv := uint32(digitsValue(suffix)) * pow10u[maxSuffix-l] // suffix padded to maxSuffix digits
	for l > 0 {
		lo := searchKeys(keys, nv*10+l)
		if lo == 0 {
			break
		}
		k := keys[lo-1] & keyMask
		kl, kv := k%10, k/10
		keys = keys[:lo]
		if kl <= l && nv-kv < pow10u[maxSuffix-kl] { // kv <= nv, as p <= suffix
			// p begins the suffix: the longest match, if in effect.
			if r, ok, err := c.pick(int(start)+lo-1, keys[lo-1], atUnix); ok {
				return r, true, err
			}
			l = kl - 1
		} else {
			// Common part of p and the suffix, shorter than both.
			cl := min(kl, l) - 1
			for cl > 0 && kv/pow10u[maxSuffix-cl] != nv/pow10u[maxSuffix-cl] {
				cl--
			}
			l = cl
		}
		nv = nv / pow10u[maxSuffix-l] * pow10u[maxSuffix-l]
	}
	return -1, false, nil
}

// pick returns the position of the row of the prefix whose last row is i
// and whose flags are f, in effect at t; ok is false when none is.
func (c *Card) pick(i int, f uint32, t int64) (at int, ok bool, err error) {
	if f&flagDated == 0 {
		if f&flagBlocked != 0 {
			return i, true, ErrBlocked
		}
		return i, true, nil
	}
	for j := i; ; j-- {
		if r := &c.rows[j]; r.inEffect(t) {
			if r.blocked {
				return j, true, ErrBlocked
			}
			return j, true, nil
		}
		if j == 0 || c.prefixOf(j-1) != c.prefixOf(j) {
			return -1, false, nil
		}
	}
}
