package rating

import "math/bits"

// index finds the rows of a prefix. It is not a node trie: a longest-prefix
// match probes one open-addressing hash table once per prefix length that
// occurs in the card, longest first. Each slot is a uint32 holding the
// position+1 of the last row of a prefix's chain in the low idxBits and a
// fingerprint of the hash in the high bits, so a probe rarely touches a row
// that does not match. The table costs 6 bytes per distinct prefix.
//
// Rows of one prefix are adjacent, sorted by From, and share their prefix
// string, so the chain of effective-dated rows is walked backwards from the
// slot's row.
type index struct {
	slots   []uint32
	n       uint64
	idxBits uint32
	idxMask uint32
	lenMask uint32 // bit L is set when some prefix has L digits
	maxLen  int
}

// keyStep extends the key of a digit string by one digit. Keys of
// different strings differ up to 18 digits; beyond, they are only hashes.
func keyStep(k uint64, d byte) uint64 { return k*11 + uint64(d-'0') + 1 }

func keyOf(p string) uint64 {
	var k uint64
	for i := 0; i < len(p); i++ {
		k = keyStep(k, p[i])
	}
	return k
}

// mix is the murmur3 64-bit finaliser.
func mix(k uint64) uint64 {
	k ^= k >> 33
	k *= 0xff51afd7ed558ccd
	k ^= k >> 33
	k *= 0xc4ceb9fe1a85ec53
	k ^= k >> 33
	return k
}

func newIndex(rows []Row) index {
	distinct := 0
	for i := range rows {
		if i+1 == len(rows) || rows[i+1].Prefix != rows[i].Prefix {
			distinct++
		}
	}
	x := index{n: uint64(distinct + distinct/2 + 1)}
	x.slots = make([]uint32, x.n)
	x.idxBits = uint32(bits.Len32(uint32(len(rows))))
	x.idxMask = uint32(1)<<x.idxBits - 1
	for i := range rows {
		p := rows[i].Prefix
		if i+1 < len(rows) && rows[i+1].Prefix == p {
			continue
		}
		x.lenMask |= 1 << len(p)
		x.maxLen = max(x.maxLen, len(p))
		h := mix(keyOf(p))
		pos, _ := bits.Mul64(h, x.n)
		for x.slots[pos] != 0 {
			if pos++; pos == x.n {
				pos = 0
			}
		}
		x.slots[pos] = uint32(i+1) | x.fingerprint(h)<<x.idxBits
	}
	return x
}

func (x *index) fingerprint(h uint64) uint32 {
	if x.idxBits >= 32 {
		return 0
	}
	return uint32(h) >> x.idxBits
}

// find returns the position of the last row of prefix p, or -1.
func (x *index) find(p string, rows []Row) int {
	if len(p) == 0 || len(p) > x.maxLen {
		return -1
	}
	return x.probe(mix(keyOf(p)), p, rows)
}

func (x *index) probe(h uint64, p string, rows []Row) int {
	pos, _ := bits.Mul64(h, x.n)
	fp := x.fingerprint(h)
	slots := x.slots
	for {
		v := slots[pos]
		if v == 0 {
			return -1
		}
		if v>>x.idxBits == fp {
			i := int(v&x.idxMask) - 1
			if rows[i].Prefix == p {
				return i
			}
		}
		if pos++; pos == x.n {
			pos = 0
		}
	}
}

// Lookup returns the row of the longest prefix of number that is in effect
// at atUnix. A longer prefix whose rows are not in effect does not shadow a
// shorter one; of several rows of one prefix in effect, the one with the
// latest From wins, so a future rate takes over by itself at its date.
//
// A blocked row stops the match: Lookup returns it with ErrBlocked. No
// match gives ErrNoRate, a number that is not digits ErrBadNumber. Lookup
// does not allocate and is safe for concurrent use.
func (c *Card) Lookup(number string, atUnix int64) (*Row, error) {
	n := len(number)
	if n == 0 {
		return nil, ErrBadNumber
	}
	lim := min(n, c.ix.maxLen)
	var keys [MaxPrefixLen + 1]uint64
	var k uint64
	for i := 0; i < lim; i++ {
		if number[i]-'0' > 9 {
			return nil, ErrBadNumber
		}
		k = keyStep(k, number[i])
		keys[i+1] = k
	}
	for i := lim; i < n; i++ {
		if number[i]-'0' > 9 {
			return nil, ErrBadNumber
		}
	}
	rows := c.rows
	for l := lim; l > 0; l-- {
		if c.ix.lenMask&(1<<l) == 0 {
			continue
		}
		i := c.ix.probe(mix(keys[l]), number[:l], rows)
		if i < 0 {
			continue
		}
		for j := i; ; j-- {
			r := &rows[j]
			if r.InEffect(atUnix) {
				if r.Blocked {
					return r, ErrBlocked
				}
				return r, nil
			}
			if j == 0 || rows[j-1].Prefix != r.Prefix {
				break
			}
		}
	}
	return nil, ErrNoRate
}
