package rating

import (
	"errors"
	"fmt"
)

// ErrNoRate reports that no row of a card matches a number at a time.
var ErrNoRate = errors.New("no rate for number")

// ErrBlocked reports that the longest prefix in effect for a number is
// blocked. Lookup returns it together with the blocking row, whose
// Description carries the reason.
var ErrBlocked = errors.New("destination blocked")

// ErrBadNumber reports a number that is empty or holds a non-digit.
var ErrBadNumber = errors.New("number is not E.164 digits")

// ErrBadRow reports a rate row that fails validation; errors returned by
// NewCard wrap it inside a *RowError.
var ErrBadRow = errors.New("bad rate row")

// ErrBadSettings reports card settings that fail validation.
var ErrBadSettings = errors.New("bad card settings")

// ErrBadTrace reports a rating trace string that cannot be parsed.
var ErrBadTrace = errors.New("bad rating trace")

// ErrBadHeader reports a rate-deck CSV whose header cannot be mapped.
var ErrBadHeader = errors.New("bad rate deck header")

// ErrBadMarkup reports a markup rule that cannot be applied.
var ErrBadMarkup = errors.New("bad markup rule")

// RowError names the row (1-based position in the slice given to NewCard),
// its prefix, the field at fault and why. errors.Is(err, ErrBadRow) holds.
type RowError struct {
	Index  int
	Prefix string
	Field  string
	Reason string
}

func (e *RowError) Error() string {
	return fmt.Sprintf("row %d (prefix %q): %s: %s", e.Index, e.Prefix, e.Field, e.Reason)
}

// Unwrap makes errors.Is(err, ErrBadRow) true.
func (e *RowError) Unwrap() error { return ErrBadRow }
