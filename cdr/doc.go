// Package cdr owns the call detail record: the Record type, the durable local
// journal every CDR is appended to, sinks that ship journalled CDRs onwards
// (ClickHouse, files) and queries over them.
package cdr
