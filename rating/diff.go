package rating

import (
	"cmp"
	"strings"
)

// Change classifies a row of a new card against the current card. Rows are
// matched on prefix and effective-from date.
type Change uint8

// The kinds of change. Increased and Decreased compare the rate per minute,
// then the connection fee; Changed is any other difference (description,
// increments, grace, end date, blocking) at the same price.
const (
	Unchanged Change = iota
	New
	Increased
	Decreased
	Removed
	Changed
	numChanges
)

var changeNames = [numChanges]string{"unchanged", "new", "increased", "decreased", "removed", "changed"}

// String returns the lower-case name of c.
func (c Change) String() string {
	if c < numChanges {
		return changeNames[c]
	}
	return "change(?)"
}

// MarshalText encodes c by name.
func (c Change) MarshalText() ([]byte, error) { return []byte(c.String()), nil }

// DiffEntry is one row that differs. Old is nil for New, New is nil for
// Removed; they point into rows shared by all entries and must not be
// modified.
type DiffEntry struct {
	Change Change
	Old    *Row
	New    *Row
}

// Diff compares two cards row by row. Entries lists every row that is not
// Unchanged, sorted by prefix and date; Counts counts every kind.
type Diff struct {
	Counts  [numChanges]int
	Entries []DiffEntry
}

// Count returns how many rows had change c.
func (d *Diff) Count(c Change) int {
	if c >= numChanges {
		return 0
	}
	return d.Counts[c]
}

// DiffCards compares next against current; a nil current makes every row
// of next New.
func DiffCards(current, next *Card) Diff {
	var b []Row
	if next != nil {
		b = next.Rows()
	}
	return diffRows(current, b)
}

// diffRows is DiffCards with next's rows given; the entries point into
// them, and into copies of the current card's rows that differ (only
// those are copied out of the card).
func diffRows(current *Card, b []Row) Diff {
	na := 0
	if current != nil {
		na = len(current.rows)
	}
	var d Diff
	if na == 0 {
		d.Entries = make([]DiffEntry, 0, len(b)) // every row is new
	}
	var olds []int32 // per entry with an Old: the entry, then the current row
	add := func(c Change, o int, n *Row) {
		d.Counts[c]++
		if c != Unchanged {
			if o >= 0 {
				olds = append(olds, int32(len(d.Entries)), int32(o))
			}
			d.Entries = append(d.Entries, DiffEntry{Change: c, New: n})
		}
	}
	i, j := 0, 0
	for i < na || j < len(b) {
		var k int
		switch {
		case i == na:
			k = 1
		case j == len(b):
			k = -1
		default:
			k = strings.Compare(current.prefixOf(i), b[j].Prefix)
			if k == 0 {
				k = cmp.Compare(current.rows[i].from, b[j].From)
			}
		}
		switch {
		case k < 0:
			add(Removed, i, nil)
			i++
		case k > 0:
			add(New, -1, &b[j])
			j++
		default:
			o := current.row(i)
			add(compareRows(&o, &b[j]), i, &b[j])
			i++
			j++
		}
	}
	rows := make([]Row, len(olds)/2)
	for k := range rows {
		rows[k] = current.row(int(olds[2*k+1]))
		d.Entries[olds[2*k]].Old = &rows[k]
	}
	return d
}

func compareRows(o, n *Row) Change {
	switch {
	case n.PerMinute > o.PerMinute:
		return Increased
	case n.PerMinute < o.PerMinute:
		return Decreased
	case n.ConnectionFee > o.ConnectionFee:
		return Increased
	case n.ConnectionFee < o.ConnectionFee:
		return Decreased
	case samePrice(o, n) && o.Description == n.Description && o.To == n.To:
		return Unchanged
	}
	return Changed
}
