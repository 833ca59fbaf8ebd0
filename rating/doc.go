// Package rating prices calls: exact fixed-point money, rate cards with
// effective-dated rows, longest-prefix lookup, the billing formula, rate
// deck CSV import with a per-row report and a diff, customer cards derived
// from provider cards by a markup rule, and a rating trace that lets any
// CDR be re-rated to the same cost.
//
// The package is pure: it imports nothing of the project and does no I/O
// beyond the io.Reader given to ImportCSV.
//
// # Money and rounding
//
// Money counts millionths of a currency unit in an int64. A call's cost is
// computed exactly (in 128 bits) as
//
//	cost = connection fee + billed × rate per minute / 60
//
// and rounded once, at the end, to the card's Precision with its Rounding
// (up, down, half-up, half-even). Charge.Exact60 records the unrounded
// value and Charge.Trace the inputs.
//
// # Billing
//
// d = answered seconds. If d ≤ grace the call is free. Otherwise billed =
// max(d, initial), rounded up to a multiple of the subsequent increment past
// the initial block (30/6: 1–30 s bill 30, 31–36 bill 36, 37 bills 42).
//
// # Cards
//
// A Card is immutable and safe for concurrent readers. Card.Lookup returns
// the row of the longest prefix in effect at a time, without allocating; a
// row not yet in effect never shadows a shorter prefix, and a blocked row
// stops the match with ErrBlocked. A new revision is built off the live path
// (NewCard, ImportCSV, Derive) and published with Book.Swap.
package rating
