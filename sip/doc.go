// Package sip is the switch's SIP edge: a transaction-stateful proxy core
// following RFC 3261 §16 (Via and Record-Route handling, Max-Forwards, serial
// forking to carriers with failover, CANCEL propagation), the table of live
// calls, and the CDR written when a call ends. Routing decisions come from
// package routing; this package only acts on them.
//
// It moves messages itself and uses github.com/emiago/sipgo to parse and
// render them:
//   - transport.go: one UDP socket read with recvmmsg by a few goroutines,
//     each handling what it reads to the end (no goroutine per message);
//     datagrams leave through one writer with sendmmsg; TCP streams are read
//     by a goroutine each and dialled in the background.
//   - tcplimits.go: accepted TCP connections are limited per source, known
//     sources (customers, carriers) apart from the rest; a connection is
//     closed when idle without a call, or when a message stalls part way.
//   - txn.go: server and client transactions (retransmissions, the ACK of a
//     non-2xx answer, completed transactions absorbing retransmissions).
//   - invite.go, indialog.go: a call is driven by events (carrier responses,
//     CANCEL, BYE, timers) under its own lock.
//   - wire.go, response.go: forwarded requests are rendered from the parsed
//     request without copying it; responses are relayed from their bytes,
//     less the switch's Via, when a scanner can read them.
package sip
