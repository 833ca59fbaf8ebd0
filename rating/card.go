package rating

import (
	"fmt"
	"slices"
	"strings"
)

// Default increments of a card whose Settings leave them zero.
const (
	DefaultInitial   = 60
	DefaultIncrement = 60
)

// MaxRows is the largest number of rows a card may hold.
const MaxRows = 1<<30 - 1

// Settings are the card-wide parameters of a rate card.
//
// Precision is the number of decimals (0..6) a call's cost is rounded to,
// with Rounding, once, at the end. Initial and Increment are the defaults
// for rows that leave theirs zero; zero here means 60/60.
type Settings struct {
	ID        string
	Revision  int
	Currency  string
	Precision int
	Rounding  Rounding
	Initial   int32
	Increment int32
}

// withDefaults fills the default increments.
func (s Settings) withDefaults() Settings {
	if s.Initial == 0 {
		s.Initial = DefaultInitial
	}
	if s.Increment == 0 {
		s.Increment = DefaultIncrement
	}
	return s
}

// Validate checks s after defaults.
func (s Settings) Validate() error {
	s = s.withDefaults()
	switch {
	case s.Precision < 0 || s.Precision > Digits:
		return fmt.Errorf("%w: card %q: precision %d not in 0..%d", ErrBadSettings, s.ID, s.Precision, Digits)
	case !s.Rounding.Valid():
		return fmt.Errorf("%w: card %q: unknown rounding %d", ErrBadSettings, s.ID, s.Rounding)
	case s.Initial < 0 || s.Increment < 0:
		return fmt.Errorf("%w: card %q: negative default increments", ErrBadSettings, s.ID)
	case s.Currency != "" && !isCurrency(s.Currency):
		return fmt.Errorf("%w: card %q: currency %q is not an ISO 4217 code", ErrBadSettings, s.ID, s.Currency)
	}
	return nil
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// Card is an immutable rate card: its settings, its rows sorted by prefix
// and then by effective date, and the prefix index over them. A Card is
// safe for any number of concurrent readers; a new revision is a new Card
// (see Book).
type Card struct {
	set  Settings
	rows []Row
	ix   index
}

// NewCard validates rows, applies the card's default increments and builds
// the card. Errors name the row (1-based position in rows) and wrap
// ErrBadRow or ErrBadSettings. rows is not retained.
func NewCard(s Settings, rows []Row) (*Card, error) {
	if err := s.Validate(); err != nil {
		return nil, err
	}
	s = s.withDefaults()
	if len(rows) > MaxRows {
		return nil, fmt.Errorf("%w: card %q: %d rows, more than %d", ErrBadRow, s.ID, len(rows), MaxRows)
	}
	for i := range rows {
		r := rows[i]
		s.applyDefaults(&r)
		if f, why := r.check(); f != "" {
			return nil, &RowError{Index: i + 1, Prefix: rows[i].Prefix, Field: f, Reason: why}
		}
	}
	order, dups := sortedOrder(len(rows), func(i int) *Row { return &rows[i] })
	if len(dups) > 0 {
		k := dups[0]
		b := &rows[order[k]]
		return nil, &RowError{Index: int(order[k]) + 1, Prefix: b.Prefix, Field: "prefix",
			Reason: fmt.Sprintf("duplicate of row %d (same prefix and effective date)", order[k-1]+1)}
	}
	out := make([]Row, len(rows))
	for k, i := range order {
		out[k] = rows[i]
		s.applyDefaults(&out[k])
	}
	return build(s, out), nil
}

// build makes a card of rows that are valid, defaulted, sorted and
// duplicate-free; it takes ownership of rows.
func build(s Settings, rows []Row) *Card {
	compact(rows)
	c := &Card{set: s, rows: rows}
	c.ix = newIndex(rows)
	return c
}

func (s *Settings) applyDefaults(r *Row) {
	if r.Initial == 0 {
		r.Initial = s.Initial
	}
	if r.Increment == 0 {
		r.Increment = s.Increment
	}
}

// compact makes the rows share storage: descriptions are interned and all
// prefixes point into one string, a prefix that begins the next row's
// prefix reusing that row's digits. rows must be sorted.
func compact(rows []Row) {
	descs := make(map[string]string)
	offs := make([]int32, len(rows))
	buf := make([]byte, 0, len(rows)*4)
	last := ""
	for i := len(rows) - 1; i >= 0; i-- {
		r := &rows[i]
		if r.Description == last {
			// neighbours mostly share one; skip the map
			r.Description = last
		} else if d, ok := descs[r.Description]; ok {
			r.Description = d
			last = d
		} else {
			d = strings.Clone(r.Description)
			descs[d] = d
			r.Description = d
			last = d
		}
		if i+1 < len(rows) && strings.HasPrefix(rows[i+1].Prefix, r.Prefix) {
			offs[i] = offs[i+1]
			continue
		}
		offs[i] = int32(len(buf))
		buf = append(buf, r.Prefix...)
	}
	text := string(buf)
	for i := range rows {
		rows[i].Prefix = text[offs[i] : int(offs[i])+len(rows[i].Prefix)]
	}
}

// Settings returns the card's settings, with default increments filled.
func (c *Card) Settings() Settings { return c.set }

// ID returns the card's id.
func (c *Card) ID() string { return c.set.ID }

// Len returns the number of rows, counting each effective-dated row.
func (c *Card) Len() int { return len(c.rows) }

// AnyInEffect tells whether a row of the card is in effect at t (Unix
// seconds); it stops at the first.
func (c *Card) AnyInEffect(t int64) bool {
	for i := range c.rows {
		if c.rows[i].InEffect(t) {
			return true
		}
	}
	return false
}

// Rows returns a copy of the rows, sorted by prefix and then by From.
func (c *Card) Rows() []Row { return slices.Clone(c.rows) }

// chain returns the rows of prefix p (all effective dates), or nil.
func (c *Card) chain(p string) []Row {
	last := c.ix.find(p, c.rows)
	if last < 0 {
		return nil
	}
	first := last
	for first > 0 && c.rows[first-1].Prefix == p {
		first--
	}
	return c.rows[first : last+1]
}
