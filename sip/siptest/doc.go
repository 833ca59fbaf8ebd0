// Package siptest provides scripted SIP user agents for tests of the switch:
// a Carrier (UAS that rings, answers, rejects or holds as told) and a
// Customer (UAC that places calls, cancels and hangs up). Both run on sipgo
// over UDP on loopback addresses and follow the route set the switch
// record-routes, so in-dialog requests pass through it.
package siptest
