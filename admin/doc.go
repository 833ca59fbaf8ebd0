// Package admin serves Trunkline's operator HTTP API: JSON resources under
// /api/v1 (customers with their IPs and routes, carriers with their
// endpoints, rate cards with their rates, CDRs; customers' payments and
// balance ledgers when the server has a store.Credit; the switch's calls in
// progress, listed and hung up, when it has LiveCalls), the OpenAPI document at
// /api/v1/openapi.json, Prometheus metrics at /metrics and health at /healthz
// and /readyz.
//
// Every /api/v1 request needs an "Authorization: Bearer <token>" header whose
// SHA-256 is one of the stored tokens; EnsureToken creates the first token.
// Errors are always {"error":{"code":…,"message":…}} with a fitting status.
// After every successful write the server calls the OnChange hook so the
// switch rebuilds its live tables from the store; payments and ledger
// adjustments move money, not configuration, and do not call it.
//
// Money (payments.go, ledger.go, money.go) goes through store.Credit:
// completing a payment posts its net under the payment's key first and
// records the payment completed second, so a retry after any failure
// credits nothing twice, even from another node (Post is idempotent by key).
//
// Writes of one Server are serialised, so the conflict checks they make
// (duplicate prefixes, cards still in use) hold within one process. Several
// nodes writing through their own Server to a shared store can still race.
package admin
