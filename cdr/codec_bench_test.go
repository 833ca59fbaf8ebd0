package cdr

import "testing"

// BenchmarkRecordEncode measures encoding one CDR into a reused buffer, the
// journal's per-record cost before the write and fsync.
func BenchmarkRecordEncode(b *testing.B) {
	r := testRecord(7)
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = appendRecord(buf[:0], &r)
	}
	b.SetBytes(int64(len(buf)))
}

// BenchmarkRecordDecode measures decoding one encoded CDR.
func BenchmarkRecordDecode(b *testing.B) {
	r := testRecord(7)
	p := appendRecord(nil, &r)
	var out Record
	b.ReportAllocs()
	b.SetBytes(int64(len(p)))
	for b.Loop() {
		if err := decodeRecord(p, &out); err != nil {
			b.Fatal(err)
		}
	}
}
