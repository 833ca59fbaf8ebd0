// Package cdr owns the call detail record: the Record type, the durable local
// journal every CDR is appended to, sinks that ship journalled CDRs onwards
// (ClickHouse, files) and queries over them.
//
// # Journal
//
// The Journal is a directory of segment files named by sequence number
// (00000000000000000001.seg, …). A segment starts with an 8-byte magic and
// holds frames: a little-endian uint32 payload length, a CRC-32C of the
// payload, and the payload, a compact binary Record (codec.go). Writes are
// group-committed: concurrent writers share one write and one fsync, and each
// Write returns only once its record is on disk. Segments rotate by size. On
// open, a torn tail of the last segment is cut off (and kept as .torn).
//
// Readers are named, persisted cursors (<name>.reader files) from which
// shippers take batches and commit positions after delivery, so shipping is
// at least once; a segment is removed once every registered reader has
// committed past it. Sinks deduplicate on (CallID, Attempt).
//
// # Live calls
//
// Live is the durable register of answered calls, so that a switch restarted
// after a crash can write the CDR of every call that was up and send BYEs to
// both sides. The switch calls Up at answer (with its own encoding of what it
// needs to end the call) and Down once the CDR is written; both are
// group-committed and return once fsynced. The register is an append-only
// log of CRC-framed up/down frames, replayed on open (a torn tail is
// dropped) and compacted to the calls that are up at open and, in the
// background, whenever it grows past a size. Run rewrites a small heartbeat
// file every interval; Recovered returns the calls a crashed process left and
// the last moment it was known alive, never earlier than a call's own Up.
// Close marks a clean stop when no call is up.
//
// ActiveCall is a call in progress as the switch lists it for the admin API
// (not durable: a snapshot of the switch's memory).
//
// # Queries and exports
//
// Sources (the Journal, ClickHouse) answer filtered, paged queries and
// summaries per customer or carrier. The Exporter delivers scheduled CSV
// files of a customer's CDRs over SFTP or FTP, one file per closed period
// in the customer's timezone, and logs each run in the store.
package cdr
