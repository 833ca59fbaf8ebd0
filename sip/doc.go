// Package sip is the switch's SIP edge: a class-4 border that owns both legs
// of every call (a signalling B2BUA, see README.md for the design and its
// reasons), the table of live calls and their dialogs, and the CDR written
// when a call ends. Routing decisions come from package routing; what may
// cross from one leg to the other is package border's; this package only
// acts on them.
//
// It moves messages itself and uses github.com/emiago/sipgo to parse them:
//   - transport.go: one UDP socket read with recvmmsg by a few goroutines,
//     each handling what it reads to the end (no goroutine per message);
//     datagrams leave through one writer with sendmmsg; TCP streams are read
//     by a goroutine each and dialled in the background.
//   - tcplimits.go: accepted TCP connections are limited per source, known
//     sources (customers, carriers) apart from the rest; a connection is
//     closed when idle without a call, or when a message stalls part way.
//   - txn.go: server and client transactions (retransmissions, the ACK of a
//     non-2xx answer, completed transactions absorbing retransmissions).
//   - calls.go: a call, its legs (side) and the table that finds a dialog
//     by Call-ID and the switch's tag.
//   - invite.go: a call from the customer's INVITE through carrier attempts
//     with failover to its answer, driven by events under the call's lock.
//   - indialog.go, ack.go: in-dialog requests matched, checked and carried
//     to the other leg as that leg's own; the 2xx/ACK exchange of each
//     INVITE, leg by leg.
//   - cross.go, render.go: what crosses (headers, body) and how the switch
//     writes each leg's messages from that leg's identifiers.
//   - record.go, live.go, drain.go: the CDR at the end of a call; answered
//     calls in a durable register, ended with a CDR and BYEs after a crash;
//     graceful stop.
//   - response.go: a scanner that reads responses from their bytes.
package sip
