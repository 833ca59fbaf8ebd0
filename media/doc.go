// Package media is the RTP relay: the switch's side of anchored media.
//
//   - Rewrite moves an SDP body's audio to the switch's address and port
//     (c= and m=; RTCP and ICE attributes dropped; other streams refused)
//     and returns what the party offered: its address, direction, clock.
//   - Ports lends pairs of UDP sockets (RTP even, RTCP odd) from a range.
//   - Session relays one call between two pairs: each party is latched to
//     where it sends from (symmetric RTP; a party that declared a public
//     address may only latch from it), strangers are dropped, reads and
//     writes are batched (recvmmsg/sendmmsg through internal/udpio). The
//     sockets are raw, outside Go's netpoller: pollers, OS threads with
//     an epoll instance each (one per P), relay every session's packets
//     as rtpengine's threads do, with no goroutine wake-up a packet.
//   - Stream keeps one direction's statistics (RFC 3550: packets, bytes,
//     loss from sequence numbers, interarrival jitter; payload types; a
//     MOS estimate), and what the party reported receiving in its RTCP
//     sender and receiver reports (github.com/pion/rtcp). RTP packets are
//     read in place (ParseHeader); the tests make their streams with
//     github.com/pion/rtp.
//
// The SIP layer (sip/relay.go) opens a Session for each call it relays,
// moves every SDP body that crosses through Rewrite (telling each party
// the pair that faces it), ends a call whose Session stays idle past the
// media timeout, and puts both directions' Stream in the final CDR.
package media
