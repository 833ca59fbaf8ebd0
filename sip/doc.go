// Package sip is the switch's SIP edge, built on github.com/emiago/sipgo:
// listeners (UDP, TCP), a transaction-stateful proxy core following RFC 3261
// §16 (Via and Record-Route handling, Max-Forwards, serial forking to carriers
// with failover, CANCEL propagation), the table of live calls, and the CDR
// written when a call ends. Routing decisions come from package routing; this
// package only acts on them.
package sip
