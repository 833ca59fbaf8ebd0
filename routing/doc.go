// Package routing turns an authenticated call into a plan: the normalised
// number, the customer's sell rate and an ordered list of carrier attempts
// with their buy rates. It decides; package sip acts on the decision. The
// live configuration is an immutable Table swapped atomically on reload, so
// calls in flight never see half a change.
package routing
