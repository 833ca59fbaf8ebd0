// Package load is a SIP load generator for the calls-per-second bench: a
// UAC that places calls and a UAS that answers them over UDP, each saying
// what sipp says with bench/scenarios/uac.xml and uas.xml, fast enough not
// to be the ceiling of the switch under test (sipp tops out near 7,000
// calls/s on the bench machine; issue 14). bench/cmd/sipload runs them.
//
// Design, for speed on one core:
//   - transport.go: one UDP socket per side, read with recvmmsg in batches
//     of 64 and written with sendmmsg (golang.org/x/net/ipv4); messages are
//     appended to one buffer per sending goroutine and sent together.
//   - side.go, uac.go, uacread.go, uas.go: a fixed set of goroutines,
//     never one per call, shared by both sides (side.go): a reader that
//     handles each batch to the end under the side's lock, and a pacer
//     that every millisecond places the calls due (rate × elapsed time, so
//     a late tick catches up), fires timers and checks timeouts. Calls
//     live in a map by Call-ID.
//   - timers.go: retransmissions (T1 doubling; capped at T2 for BYE and the
//     2xx) and the hold, in FIFO lanes by delay, O(1) each, never cancelled:
//     a timer is void once its call has changed state.
//   - scan.go: a scanner that reads the start line, Via (its branch), From,
//     To (its tag), Call-ID, CSeq, Contact, Record-Route and Content-Length
//     from the bytes without allocating; no full parser on the hot path.
//   - render.go, dialog.go: messages appended from parts rendered once, and
//     the dialog a 2xx sets up (RFC 3261 §12.1.2: the route set from
//     Record-Route reversed, the Contact as remote target).
//   - stats.go, hist.go: sipp's counters (created, succeeded, failed by
//     reason, retransmissions) and INVITE→2xx and INVITE→1xx times in a
//     log-linear histogram (µs, taken by the generator on its own core).
package load
