package rating

import (
	"cmp"
	"slices"
	"strings"
)

// sortedOrder returns the positions of rows sorted by prefix, then From,
// and dups: every k where row order[k] has the prefix and From of row
// order[k-1]. Rows with equal prefix and From keep their input order.
//
// Prefixes of up to 18 digits sort by a packed integer key (the digits
// padded to 18, then the length), which orders like the strings, with a
// least-significant-digit radix sort that skips the bytes no key varies
// in; the few rows sharing a prefix are then ordered by From.
func sortedOrder(n int, at func(int) *Row) (order []int32, dups []int) {
	ents := make([]sortEntry, n)
	var first, varies uint64
	for i := range ents {
		p := at(i).Prefix
		if len(p) > 18 || !allDigits(p) {
			return sortedOrderSlow(n, at)
		}
		var v uint64
		for j := 0; j < len(p); j++ {
			v = v*10 + uint64(p[j]-'0')
		}
		v *= uint64(pow10pad[18-len(p)])
		key := v<<4 | uint64(len(p))
		if i == 0 {
			first = key
		}
		varies |= key ^ first
		ents[i] = sortEntry{key: key, pos: int32(i)}
	}
	ents = radixSort(ents, varies)
	order = make([]int32, n)
	for i, e := range ents {
		order[i] = e.pos
	}
	for i := 0; i < n; {
		j := i + 1
		for j < n && ents[j].key == ents[i].key {
			j++
		}
		if j-i > 1 {
			run := order[i:j]
			slices.SortStableFunc(run, func(a, b int32) int { return cmp.Compare(at(int(a)).From, at(int(b)).From) })
			for k := i + 1; k < j; k++ {
				if at(int(order[k])).From == at(int(order[k-1])).From {
					dups = append(dups, k)
				}
			}
		}
		i = j
	}
	return order, dups
}

type sortEntry struct {
	key uint64
	pos int32
}

// pow10pad[k] is 10^k for k in 0..18.
var pow10pad = func() (p [19]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// radixSort sorts ents by key, stably, one byte at a time from the lowest,
// skipping bytes that are zero in varies (the same in every key). It may
// return the scratch slice instead of ents.
func radixSort(ents []sortEntry, varies uint64) []sortEntry {
	if len(ents) < 256 {
		slices.SortStableFunc(ents, func(a, b sortEntry) int { return cmp.Compare(a.key, b.key) })
		return ents
	}
	tmp := make([]sortEntry, len(ents))
	for shift := uint(0); shift < 64; shift += 8 {
		if (varies>>shift)&0xff == 0 {
			continue
		}
		var count [256]int
		for i := range ents {
			count[byte(ents[i].key>>shift)]++
		}
		sum := 0
		for b := range count {
			sum, count[b] = sum+count[b], sum
		}
		for i := range ents {
			b := byte(ents[i].key >> shift)
			tmp[count[b]] = ents[i]
			count[b]++
		}
		ents, tmp = tmp, ents
	}
	return ents
}

// sortedOrderSlow sorts rows whose prefixes do not pack by comparing strings.
func sortedOrderSlow(n int, at func(int) *Row) (order []int32, dups []int) {
	order = make([]int32, n)
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortStableFunc(order, func(a, b int32) int {
		ra, rb := at(int(a)), at(int(b))
		if c := strings.Compare(ra.Prefix, rb.Prefix); c != 0 {
			return c
		}
		return cmp.Compare(ra.From, rb.From)
	})
	for k := 1; k < n; k++ {
		a, b := at(int(order[k-1])), at(int(order[k]))
		if a.Prefix == b.Prefix && a.From == b.From {
			dups = append(dups, k)
		}
	}
	return order, dups
}
