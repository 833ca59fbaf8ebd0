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
// # Queries and exports
//
// Sources (the Journal, ClickHouse) answer filtered, paged queries and
// summaries per customer or carrier. The Exporter delivers scheduled CSV
// files of a customer's CDRs over SFTP or FTP, one file per closed period
// in the customer's timezone, and logs each run in the store.
package cdr
