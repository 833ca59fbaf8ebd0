// Package udpio is batched UDP I/O for the SIP transport and the media
// relay: recvmmsg and sendmmsg issued as raw system calls on the
// socket's non-blocking descriptor, with the netpoller used only to wait
// when nothing is there (syscall.RawConn calls the function again once the
// socket is ready).
//
// Why not golang.org/x/net/ipv4's ReadBatch/WriteBatch: they enter each
// system call through the runtime's blocking-syscall path. On loopback a
// sendmmsg does the receiver's work inline and often lasts longer than
// sysmon's 20 µs tick, so with one P (the switch pinned to one core) sysmon
// takes the P away mid-call, hands it to another thread and keeps polling
// every 20 µs: thousands of thread switches a second at 1,000 calls/s.
// Neither call can block on a non-blocking socket, so the raw path is
// safe; and it converts addresses without allocating.
package udpio
