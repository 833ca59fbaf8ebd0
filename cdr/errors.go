package cdr

import "errors"

// ErrClosed is returned by a Journal, Reader or Shipper used after Close.
var ErrClosed = errors.New("cdr: closed")

// ErrLocked is returned by OpenJournal and OpenLive when another process
// holds the directory.
var ErrLocked = errors.New("cdr: journal directory is locked by another process")

// ErrBadFrame reports a journal frame whose length or checksum is wrong.
var ErrBadFrame = errors.New("cdr: bad journal frame")

// ErrShortFrame reports bytes that end before a whole frame: more data is
// needed, or, at the end of a segment, the tail was torn by a crash.
var ErrShortFrame = errors.New("cdr: short journal frame")

// ErrBadRecord reports a frame payload that is not an encoded Record.
var ErrBadRecord = errors.New("cdr: bad record encoding")

// ErrRecordTooLarge is returned by Write for a record whose encoding exceeds
// MaxRecordSize.
var ErrRecordTooLarge = errors.New("cdr: record too large")

// ErrBadQuery reports a Query with negative paging or an inverted time range.
var ErrBadQuery = errors.New("cdr: bad query")

// ErrBadReaderName reports a reader name that is not 1-64 characters of
// [A-Za-z0-9_-].
var ErrBadReaderName = errors.New("cdr: bad reader name")

// ErrBadField reports a CDR field name that is not a CSV column, or one
// given twice.
var ErrBadField = errors.New("cdr: unknown or repeated CDR field")

// ErrBadPeriod reports an export period name or frequency that cannot be
// read.
var ErrBadPeriod = errors.New("cdr: bad export period")

// ErrBadLiveKey is returned by Live.Up for an empty key or one longer than
// MaxLiveKeySize.
var ErrBadLiveKey = errors.New("cdr: bad live call key")

// ErrLiveDataTooLarge is returned by Live.Up for data longer than
// MaxLiveDataSize.
var ErrLiveDataTooLarge = errors.New("cdr: live call data too large")

// ErrBadLiveLog reports a live register log that does not start with the
// format's magic: some other file is in its place.
var ErrBadLiveLog = errors.New("cdr: not a live call register log")
