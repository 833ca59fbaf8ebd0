package load

import "errors"

// ErrMalformed is wrapped by every error of Scan: the datagram is not a SIP
// message the generator reads.
var ErrMalformed = errors.New("malformed SIP message")

// scanError says what Scan did not take; it wraps ErrMalformed. The values
// are fixed, so scanning allocates nothing even when it fails.
type scanError struct{ what string }

func (e *scanError) Error() string { return ErrMalformed.Error() + ": " + e.what }
func (e *scanError) Unwrap() error { return ErrMalformed }

var (
	errIncomplete    = &scanError{"no blank line after the headers"}
	errStartLine     = &scanError{"bad start line"}
	errHeaderLine    = &scanError{"header line without a name and colon"}
	errFolded        = &scanError{"folded header line"}
	errLineEnding    = &scanError{"lines ending in CRLF and in LF"}
	errControl       = &scanError{"control character in the start line or a header"}
	errTooMany       = &scanError{"too many Via or Record-Route lines"}
	errDuplicate     = &scanError{"repeated From, To, Call-ID, CSeq or Content-Length"}
	errMissing       = &scanError{"missing Via, From, To, Call-ID or CSeq"}
	errCSeq          = &scanError{"bad CSeq"}
	errContentLength = &scanError{"bad Content-Length"}
	errBodyShort     = &scanError{"body shorter than its Content-Length"}
)

// ErrBadTarget is returned by NewUAC for a target it cannot send to.
var ErrBadTarget = errors.New("target must be an IPv4 host:port")
