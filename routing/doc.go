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
// Strategies (strategy.go) run after margin protection, per ingress route:
// pin and block, then "lcr" (least cost), "priority" (the route's list,
// lower first) or "weighted" (the first attempt drawn per call by weight),
// then max_attempts; Plan.Strategy names it and Simulate says why each
// carrier is where it is. Attempts carry their carrier's failover codes
// and first-reply, ring and post-dial-delay timeouts for package sip.
//
// Credit control (credit.go): a Wallet reserves a call's credit on its
// customer's accounts in a store.Credit, the first billing block at
// set-up (402 without it) and further blocks while the call is answered,
// so concurrent calls share a balance; when no block is left the call must
// end with its paid time. Every answered call is charged to the ledger
// once, by call id (accounts.go names accounts, entry kinds and keys).
//
// Number translation (translate.go, translate_plan.go): a customer's
// inbound rules run on the dialled number before normalisation and rating
// (a failure is 484) and on the caller; a carrier's outbound rules give
// each attempt the numbers it sends (Attempt.Called, Attempt.Calling; a
// failure leaves the carrier out). Rules compile once per table load;
// rating and CDRs keep the normalised E.164 number.
//
// Carrier health (health.go): Route leaves out the endpoints probes mark
// down (503 All Carriers Down when none is left) and tries last, for a
// cooldown, those whose recent ASR or PDD fails the quality gate
// (quality.go; the ASR counts the carrier's failures, not the callee's
// busy or no answer).
package routing
