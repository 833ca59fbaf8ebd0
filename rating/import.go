package rating

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Problem is one reason a deck row was rejected: the line of the CSV file
// (the header is line 1), the column as named in the header, the value and
// why it was refused.
type Problem struct {
	Line   int    `json:"line"`
	Column string `json:"column,omitempty"`
	Value  string `json:"value,omitempty"`
	Reason string `json:"reason"`
}

func (p Problem) String() string {
	if p.Column == "" {
		return fmt.Sprintf("line %d: %s", p.Line, p.Reason)
	}
	return fmt.Sprintf("line %d: %s %q: %s", p.Line, p.Column, p.Value, p.Reason)
}

// Report tells what ImportCSV did with every line of a deck. Columns maps
// each header column to the field it fills; Ignored lists the columns no
// field takes. A deck with any Problem yields no card: nothing is dropped
// silently.
type Report struct {
	Rows     int               `json:"rows"`
	Columns  map[string]string `json:"columns"`
	Ignored  []string          `json:"ignored,omitempty"`
	Problems []Problem         `json:"problems,omitempty"`
	Diff     Diff              `json:"-"`
}

// OK reports whether the deck had no problem.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

// ImportCSV reads a rate deck and builds a card with settings s, off the
// live path; publish it with Book.Swap. The header row is mapped by name
// with common aliases (see columnAliases); the separator may be ',', ';'
// or a tab. The billing increments come from a "Billing" column such as
// "30/6" or from separate initial and increment columns; empty cells take
// the card defaults.
//
// Every line is checked and every problem reported with its line and
// column. If any line is bad, ImportCSV returns a nil card and the full
// report. The report's Diff compares the new card with current (which may
// be nil). The error is non-nil only when the input or its header cannot
// be read, the deck has more than MaxRows lines of rows (good or bad), or
// s is invalid.
func ImportCSV(r io.Reader, s Settings, current *Card) (*Card, *Report, error) {
	if err := s.Validate(); err != nil {
		return nil, nil, err
	}
	s = s.withDefaults()
	br := bufio.NewReaderSize(r, 1<<16)
	cr := csv.NewReader(br)
	cr.Comma = sniffComma(br)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err != nil {
		if err == io.EOF {
			return nil, nil, fmt.Errorf("%w: empty deck", ErrBadHeader)
		}
		return nil, nil, fmt.Errorf("%w: %w", ErrBadHeader, err)
	}
	rep := &Report{Columns: map[string]string{}}
	cols, err := mapHeader(header, rep)
	if err != nil {
		return nil, nil, err
	}
	p := deckParser{s: s, cols: cols, header: slicesClone(header), rep: rep}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) && !errors.Is(err, csv.ErrFieldCount) {
			rep.Rows++
			rep.Problems = append(rep.Problems, Problem{Line: pe.Line, Reason: pe.Err.Error()})
			continue
		}
		if err != nil && !errors.Is(err, csv.ErrFieldCount) {
			return nil, nil, fmt.Errorf("reading rate deck: %w", err)
		}
		line, _ := cr.FieldPos(0)
		if isBlank(rec) {
			continue
		}
		rep.Rows++
		if rep.Rows > MaxRows {
			return nil, nil, fmt.Errorf("%w: more than %d rows", ErrBadRow, MaxRows)
		}
		p.row(line, rec)
	}
	order, dups := sortedOrder(p.rows.n, p.rows.at)
	for _, k := range dups {
		b := p.rows.at(int(order[k]))
		rep.Problems = append(rep.Problems, Problem{Line: int(p.lines[order[k]]), Column: p.colName(fPrefix),
			Value: b.Prefix, Reason: fmt.Sprintf("duplicate of line %d", p.lines[order[k-1]])})
	}
	if !rep.OK() {
		sortProblems(rep.Problems)
		return nil, rep, nil
	}
	out := make([]Row, len(order))
	for k, i := range order {
		out[k] = *p.rows.at(int(i))
	}
	p.rows = rowChunks{}
	c := build(s, out)
	rep.Diff = diffRows(current, out)
	return c, rep, nil
}

// sniffComma picks ',', ';' or tab, whichever the first line holds most of.
func sniffComma(br *bufio.Reader) rune {
	b, _ := br.Peek(4096)
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	best, n := ',', bytes.Count(b, []byte{','})
	for _, c := range []rune{';', '\t'} {
		if k := bytes.Count(b, []byte{byte(c)}); k > n {
			best, n = c, k
		}
	}
	return best
}

func isBlank(rec []string) bool {
	for _, f := range rec {
		if strings.TrimSpace(f) != "" {
			return false
		}
	}
	return true
}

func slicesClone(s []string) []string {
	out := make([]string, len(s))
	for i, v := range s {
		out[i] = strings.Clone(v)
	}
	return out
}

// deckParser turns CSV records into rows, collecting problems.
type deckParser struct {
	s      Settings
	cols   [numFields]int // column of each field, -1 if absent
	header []string
	rep    *Report
	rows   rowChunks
	lines  []int32
	// last date parsed, since decks repeat one date on many lines
	lastDate string
	lastUnix int64
}

func (p *deckParser) colName(f field) string {
	if c := p.cols[f]; c >= 0 {
		return p.header[c]
	}
	return fieldNames[f]
}

func (p *deckParser) problem(line int, f field, value, reason string) {
	p.rep.Problems = append(p.rep.Problems, Problem{Line: line, Column: p.colName(f), Value: clip(value), Reason: reason})
}

// maxProblemValue is as much of a bad value as a problem repeats.
const maxProblemValue = 64

// clip cuts v to maxProblemValue bytes (on a rune boundary), marked "…".
func clip(v string) string {
	if len(v) <= maxProblemValue {
		return v
	}
	n := maxProblemValue
	for n > 0 && !utf8.RuneStart(v[n]) {
		n--
	}
	return v[:n] + "…"
}

func (p *deckParser) row(line int, rec []string) {
	get := func(f field) string {
		c := p.cols[f]
		if c < 0 || c >= len(rec) {
			return ""
		}
		return strings.TrimSpace(rec[c])
	}
	bad := len(p.rep.Problems)
	if len(rec) < len(p.header) {
		p.rep.Problems = append(p.rep.Problems, Problem{Line: line,
			Reason: fmt.Sprintf("%d fields, header has %d", len(rec), len(p.header))})
	}
	var r Row
	r.Prefix = strings.TrimPrefix(get(fPrefix), "+")
	r.Description = get(fDescription)
	if v := get(fBlocked); v != "" {
		b, ok := parseBlocked(v)
		if !ok {
			p.problem(line, fBlocked, v, "not a yes/no value")
		}
		r.Blocked = b
	}
	if v := get(fRate); v != "" || !r.Blocked {
		m, err := parseDeckMoney(v)
		if err != nil {
			p.problem(line, fRate, v, err.Error())
		}
		r.PerMinute = m
	}
	if v := get(fFee); v != "" {
		m, err := parseDeckMoney(v)
		if err != nil {
			p.problem(line, fFee, v, err.Error())
		}
		r.ConnectionFee = m
	}
	if v := get(fBilling); v != "" {
		i, n, ok := parseBilling(v)
		if !ok {
			p.problem(line, fBilling, v, `not "initial/increment" seconds`)
		}
		r.Initial, r.Increment = i, n
	}
	for _, f := range [...]field{fInitial, fIncrement, fGrace} {
		v := get(f)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 32)
		if err != nil || n < 0 {
			p.problem(line, f, v, "not a whole number of seconds")
			continue
		}
		switch f {
		case fInitial:
			r.Initial = int32(n)
		case fIncrement:
			r.Increment = int32(n)
		default:
			r.Grace = int32(n)
		}
	}
	for _, f := range [...]field{fFrom, fTo} {
		v := get(f)
		if v == "" {
			continue
		}
		t, err := p.parseDate(v)
		if err != nil {
			p.problem(line, f, v, err.Error())
			continue
		}
		if f == fFrom {
			r.From = t
		} else {
			r.To = t
		}
	}
	if v := get(fCurrency); v != "" && p.s.Currency != "" && !strings.EqualFold(v, p.s.Currency) {
		p.problem(line, fCurrency, v, "card currency is "+p.s.Currency)
	}
	if len(p.rep.Problems) > bad {
		return
	}
	p.s.applyDefaults(&r)
	if f, why := r.check(); f != "" {
		p.problem(line, checkField[f], fieldValue(&r, f, get), why)
		return
	}
	p.rows.add(r)
	p.lines = append(p.lines, int32(line))
}

// checkField maps the field names of Row.check to deck fields.
var checkField = map[string]field{
	"prefix": fPrefix, "rate": fRate, "connection fee": fFee, "initial increment": fInitial,
	"increment": fIncrement, "grace": fGrace, "effective from": fFrom, "effective to": fTo,
	"description": fDescription,
}

func fieldValue(r *Row, f string, get func(field) string) string {
	if f == "prefix" {
		return r.Prefix
	}
	return get(checkField[f])
}

func parseDeckMoney(v string) (Money, error) {
	if v == "" {
		return 0, errors.New("empty")
	}
	for _, sym := range [...]string{"$", "€", "£"} {
		v = strings.TrimPrefix(v, sym)
	}
	m, err := ParseMoney(v)
	if err != nil {
		if strings.Contains(err.Error(), "decimal places") {
			return 0, fmt.Errorf("more than %d decimal places", Digits)
		}
		return 0, errors.New("not a decimal amount")
	}
	if m < 0 {
		return 0, errors.New("negative")
	}
	return m, nil
}

// parseBilling reads "30/6" (also "30-6", "30:6", "30+6") or "60" (60/60).
func parseBilling(v string) (initial, increment int32, ok bool) {
	a, b, found := strings.Cut(v, "/")
	for _, sep := range [...]string{"-", ":", "+"} {
		if found {
			break
		}
		a, b, found = strings.Cut(v, sep)
	}
	if !found {
		b = a
	}
	i, err1 := strconv.ParseInt(strings.TrimSpace(a), 10, 32)
	n, err2 := strconv.ParseInt(strings.TrimSpace(b), 10, 32)
	if err1 != nil || err2 != nil || i <= 0 || n <= 0 {
		return 0, 0, false
	}
	return int32(i), int32(n), true
}

func parseBlocked(v string) (blocked, ok bool) {
	switch strings.ToLower(v) {
	case "1", "y", "yes", "true", "t", "x", "blocked", "block", "disabled", "inactive":
		return true, true
	case "0", "n", "no", "false", "f", "active", "enabled", "allowed", "ok", "open":
		return false, true
	}
	return false, false
}

func sortProblems(ps []Problem) {
	// Duplicates are found after all lines were read; keep line order.
	slices.SortStableFunc(ps, func(a, b Problem) int { return cmp.Compare(a.Line, b.Line) })
}

// rowChunks stores parsed rows in fixed-size chunks, so a large deck never
// copies them while it grows.
type rowChunks struct {
	chunks [][]Row
	n      int
}

const chunkRows = 1 << 14

func (c *rowChunks) add(r Row) {
	if c.n%chunkRows == 0 {
		c.chunks = append(c.chunks, make([]Row, 0, chunkRows))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, r)
	c.n++
}

func (c *rowChunks) at(i int) *Row { return &c.chunks[i/chunkRows][i%chunkRows] }
