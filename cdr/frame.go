package cdr

import (
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// A journal segment is segmentMagic followed by frames. A frame is
//
//	length  uint32 little endian, bytes of payload
//	crc     uint32 little endian, CRC-32C (Castagnoli) of payload
//	payload an encoded Record (codec.go)
//
// A crash can leave only a torn last frame; it fails the length or the CRC
// check and is cut off when the journal is opened.
const (
	frameHeaderSize = 8
	// MaxRecordSize is the largest encoded Record a frame carries.
	MaxRecordSize = 1 << 20
)

// segmentMagic opens every segment file: format name and version.
var segmentMagic = [8]byte{'T', 'L', 'C', 'D', 'R', 'J', 0, 1}

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// appendFrame appends the frame holding r to dst.
func appendFrame(dst []byte, r *Record) []byte {
	dst, start := beginFrame(dst)
	dst = appendRecord(dst, r)
	return endFrame(dst, start)
}

// beginFrame appends room for a frame header to dst. The caller appends the
// payload and then calls endFrame with the returned offset of the frame.
func beginFrame(dst []byte) ([]byte, int) {
	start := len(dst)
	return append(dst, make([]byte, frameHeaderSize)...), start
}

// endFrame fills in the header of the frame that begins at start and whose
// payload runs to the end of dst.
func endFrame(dst []byte, start int) []byte {
	payload := dst[start+frameHeaderSize:]
	binary.LittleEndian.PutUint32(dst[start:], uint32(len(payload)))
	binary.LittleEndian.PutUint32(dst[start+4:], crc32.Checksum(payload, castagnoli))
	return dst
}

// decodeFrame reads the frame at the start of b. It returns the payload
// (aliasing b) and the frame's total size. ErrShortFrame means b ends inside
// the frame; ErrBadFrame means the length or checksum is wrong.
func decodeFrame(b []byte) (payload []byte, n int, err error) {
	if len(b) < frameHeaderSize {
		return nil, 0, fmt.Errorf("%w: %d header bytes", ErrShortFrame, len(b))
	}
	size := binary.LittleEndian.Uint32(b)
	if size == 0 || size > MaxRecordSize {
		return nil, 0, fmt.Errorf("%w: length %d", ErrBadFrame, size)
	}
	n = frameHeaderSize + int(size)
	if len(b) < n {
		return nil, 0, fmt.Errorf("%w: %d of %d bytes", ErrShortFrame, len(b), n)
	}
	payload = b[frameHeaderSize:n]
	if crc32.Checksum(payload, castagnoli) != binary.LittleEndian.Uint32(b[4:]) {
		return nil, 0, fmt.Errorf("%w: checksum mismatch", ErrBadFrame)
	}
	return payload, n, nil
}
