package rating

import (
	"fmt"
	"strings"
)

// Default increments of a card whose Settings leave them zero.
const (
	DefaultInitial   = 60
	DefaultIncrement = 60
)

// MaxRows is the largest number of rows a card may hold: 16 times the
// largest real decks, and few enough that a card's prefixes and
// descriptions, at most MaxRows × (MaxPrefixLen + MaxDescription) bytes,
// are addressed by 32-bit offsets (see row).
const MaxRows = 16 << 20

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
//
// The rows hold no pointers (prefixes and descriptions are offsets into
// two strings), so the garbage collector never scans them: a 1M-row card
// of Rows added 17 ms of marking to every collection of the process
// holding it.
type Card struct {
	set   Settings
	rows  []row
	text  string // every prefix; a prefix that begins the next row's shares its digits
	descs string // every distinct description
	ix    index
}

// row is a Row as a card keeps it (see Card).
type row struct {
	perMinute, fee            Money
	from, to                  int64
	initial, increment, grace int32
	prefix                    uint32 // offset in Card.text
	desc                      uint32 // offset in Card.descs
	plen, dlen                uint8  // MaxPrefixLen, MaxDescription < 256
	blocked                   bool
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
// duplicate-free.
func build(s Settings, rows []Row) *Card {
	c := &Card{set: s}
	c.ix = newIndex(rows)
	c.pack(rows)
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

// pack stores rows in c: descriptions are interned and all prefixes sit
// in one string, a prefix that begins the next row's prefix reusing that
// row's digits. rows must be sorted.
func (c *Card) pack(rows []Row) {
	seen := make(map[string]uint32)
	c.rows = make([]row, len(rows))
	buf := make([]byte, 0, len(rows)*4)
	var descs []byte
	last, lastAt := "", uint32(0)
	for i := len(rows) - 1; i >= 0; i-- {
		r := &rows[i]
		out := &c.rows[i]
		*out = row{perMinute: r.PerMinute, fee: r.ConnectionFee, from: r.From, to: r.To,
			initial: r.Initial, increment: r.Increment, grace: r.Grace,
			plen: uint8(len(r.Prefix)), dlen: uint8(len(r.Description)), blocked: r.Blocked}
		if i+1 < len(rows) && r.Description == last {
			// neighbours mostly share one; skip the map
			out.desc = lastAt
		} else if at, ok := seen[r.Description]; ok {
			out.desc = at
		} else {
			out.desc = uint32(len(descs))
			descs = append(descs, r.Description...)
			seen[r.Description] = out.desc
		}
		last, lastAt = r.Description, out.desc
		if i+1 < len(rows) && strings.HasPrefix(rows[i+1].Prefix, r.Prefix) {
			out.prefix = c.rows[i+1].prefix
			continue
		}
		out.prefix = uint32(len(buf))
		buf = append(buf, r.Prefix...)
	}
	c.text, c.descs = string(buf), string(descs)
}

// prefixOf returns the prefix of row i.
func (c *Card) prefixOf(i int) string {
	r := &c.rows[i]
	return c.text[r.prefix : r.prefix+uint32(r.plen)]
}

// row returns row i as a Row; it does not allocate.
func (c *Card) row(i int) Row {
	r := &c.rows[i]
	return Row{Prefix: c.prefixOf(i), Description: c.descs[r.desc : r.desc+uint32(r.dlen)],
		PerMinute: r.perMinute, ConnectionFee: r.fee, Initial: r.initial, Increment: r.increment,
		Grace: r.grace, Blocked: r.blocked, From: r.from, To: r.to}
}

func (r *row) inEffect(t int64) bool {
	return (r.from == 0 || t >= r.from) && (r.to == 0 || t < r.to)
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
		if c.rows[i].inEffect(t) {
			return true
		}
	}
	return false
}

// Rows returns a copy of the rows, sorted by prefix and then by From.
func (c *Card) Rows() []Row {
	out := make([]Row, len(c.rows))
	for i := range c.rows {
		out[i] = c.row(i)
	}
	return out
}

// chain returns the rows of prefix p (all effective dates) as the range
// [first, end) of c.rows; it is empty when p has none.
func (c *Card) chain(p string) (first, end int) {
	last := c.ix.find(p)
	if last < 0 {
		return 0, 0
	}
	first = last
	for first > 0 && c.prefixOf(first-1) == p {
		first--
	}
	return first, last + 1
}
