package rating

import (
	"strconv"
	"unicode"
	"unicode/utf8"
)

// Row limits, the same for a CSV deck and JSON rows.
const (
	MaxPrefixLen   = 24    // digits
	MaxDescription = 200   // bytes
	MaxIncrement   = 86400 // seconds, for increments and grace
)

// TextProblem says why s is not plain text for a name or description
// ("" when it is): it must be UTF-8 without control characters (NUL,
// CR, LF, tab, …) or line and paragraph separators, which would split
// log lines, CSV rows and headers.
func TextProblem(s string) string {
	if !utf8.ValidString(s) {
		return "not valid UTF-8"
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return "contains a control character " + strconv.QuoteRune(r)
		}
	}
	return ""
}

// Row is one line of a rate card: the price of calls to numbers that start
// with Prefix, while the row is in effect.
//
// Initial is the minimum billed seconds, Increment the step in which time
// past the Initial block is billed, Grace the longest call that is free.
// A zero Initial or Increment takes the card's default when the card is
// built; the rows a Card holds always carry the effective values.
// From and To bound the row in Unix seconds, From inclusive, To exclusive;
// 0 means unbounded. A Blocked row stops a lookup: calls to its prefix are
// refused and Description says why.
type Row struct {
	Prefix        string
	Description   string
	PerMinute     Money
	ConnectionFee Money
	Initial       int32
	Increment     int32
	Grace         int32
	Blocked       bool
	From          int64
	To            int64
}

// InEffect reports whether r applies at unix time t.
func (r *Row) InEffect(t int64) bool {
	return (r.From == 0 || t >= r.From) && (r.To == 0 || t < r.To)
}

// check validates r after defaults were applied. It returns the field at
// fault and the reason, or "" when r is valid.
func (r *Row) check() (field, reason string) {
	switch {
	case r.Prefix == "":
		return "prefix", "empty"
	case len(r.Prefix) > MaxPrefixLen:
		return "prefix", "longer than " + strconv.Itoa(MaxPrefixLen) + " digits"
	case !allDigits(r.Prefix):
		return "prefix", "not digits only"
	case r.PerMinute < 0:
		return "rate", "negative"
	case r.ConnectionFee < 0:
		return "connection fee", "negative"
	case r.Initial <= 0:
		return "initial increment", "must be positive"
	case r.Increment <= 0:
		return "increment", "must be positive"
	case r.Initial > MaxIncrement:
		return "initial increment", "longer than " + strconv.Itoa(MaxIncrement) + " seconds"
	case r.Increment > MaxIncrement:
		return "increment", "longer than " + strconv.Itoa(MaxIncrement) + " seconds"
	case r.Grace < 0:
		return "grace", "negative"
	case r.Grace > MaxIncrement:
		return "grace", "longer than " + strconv.Itoa(MaxIncrement) + " seconds"
	case len(r.Description) > MaxDescription:
		return "description", "longer than " + strconv.Itoa(MaxDescription) + " bytes"
	case TextProblem(r.Description) != "":
		return "description", TextProblem(r.Description)
	case r.From < 0:
		return "effective from", "negative"
	case r.To < 0:
		return "effective to", "negative"
	case r.From != 0 && r.To != 0 && r.From >= r.To:
		return "effective to", "not after effective from"
	}
	return "", ""
}

// samePrice reports whether a and b bill every call identically.
func samePrice(a, b *Row) bool {
	return a.PerMinute == b.PerMinute && a.ConnectionFee == b.ConnectionFee &&
		a.Initial == b.Initial && a.Increment == b.Increment && a.Grace == b.Grace &&
		a.Blocked == b.Blocked
}
