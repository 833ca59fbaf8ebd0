// Package routing turns an authenticated call into a plan: the normalised
// number, the customer's sell rate and an ordered list of carrier attempts
// with their buy rates. It decides; package sip acts on the decision. The
// live configuration is an immutable Table swapped atomically on reload, so
// calls in flight never see half a change.
//
// Margin protection (margin.go) compares sell and buy costs over billed
// durations, so increments, grace and connection fees count: a carrier
// that would carry the call at less than the required margin at the first
// billed block or at the expected call length is skipped (Plan.Skipped),
// and break-even durations (breakeven.go) say from when a carrier pays.
// Least-cost order (order.go) compares the same billed costs. A
// customer's maximum rate and maximum call cost refuse calls (spend.go).
//
// Credit control (credit.go): a Wallet reserves a call's credit on its
// customer's accounts in a store.Credit, the first billing block at
// set-up (402 without it) and further blocks while the call is answered,
// so concurrent calls share a balance; when no block is left the call must
// end with its paid time. Every answered call is charged to the ledger
// once, by call id (accounts.go names accounts, entry kinds and keys).
//
// Carrier health (health.go): Route leaves out the endpoints probes mark
// down (503 All Carriers Down when none is left) and tries last those
// whose recent ASR or PDD fails the quality gate.
package routing
