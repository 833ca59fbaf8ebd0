package cdr

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Segment files are named by a zero-padded sequence number so that a
// directory listing sorts them in write order.
const segmentExt = ".seg"

func segmentName(seq uint64) string { return fmt.Sprintf("%020d%s", seq, segmentExt) }

// listSegments returns the sequence numbers of the segments in dir, ascending.
func listSegments(dir string) ([]uint64, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("listing journal %q: %w", dir, err)
	}
	var seqs []uint64
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), segmentExt)
		if !ok || !e.Type().IsRegular() {
			continue
		}
		seq, err := strconv.ParseUint(name, 10, 64)
		if err != nil || seq == 0 {
			continue
		}
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	return seqs, nil
}

// createSegment creates the segment file seq with its header, fsyncs it and
// the directory.
func createSegment(dir string, seq uint64) (*os.File, error) {
	path := filepath.Join(dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("creating segment: %w", err)
	}
	if _, err := f.Write(segmentMagic[:]); err != nil {
		f.Close()
		return nil, fmt.Errorf("writing segment header %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, fmt.Errorf("syncing segment %q: %w", path, err)
	}
	if err := syncDir(dir); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// recoverSegment opens the last segment for appending. It scans every frame;
// the first frame that is short or fails its checks, and everything after it,
// is a torn tail: it is copied aside to <segment>.torn for inspection and cut
// off. It returns the file and its size after recovery.
func (j *Journal) recoverSegment(seq uint64) (*os.File, int64, error) {
	path := filepath.Join(j.dir, segmentName(seq))
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return nil, 0, fmt.Errorf("opening segment: %w", err)
	}
	data, err := io.ReadAll(f)
	if err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("reading segment %q: %w", path, err)
	}
	if len(data) < len(segmentMagic) {
		// Torn while being created: the header itself is incomplete.
		if !bytes.HasPrefix(segmentMagic[:], data) {
			f.Close()
			return nil, 0, fmt.Errorf("segment %q: not a journal segment", path)
		}
		if err := rewriteHeader(f); err != nil {
			f.Close()
			return nil, 0, fmt.Errorf("segment %q: %w", path, err)
		}
		j.log.Warn("journal segment header was torn, rewritten", "segment", segmentName(seq), "bytes", len(data))
		return f, int64(len(segmentMagic)), nil
	}
	if !bytes.Equal(data[:len(segmentMagic)], segmentMagic[:]) {
		f.Close()
		return nil, 0, fmt.Errorf("segment %q: not a journal segment", path)
	}
	off := len(segmentMagic)
	records := 0
	var tornErr error
	for off < len(data) {
		_, n, err := decodeFrame(data[off:])
		if err != nil {
			tornErr = err
			break
		}
		off += n
		records++
	}
	if tornErr == nil {
		return f, int64(off), nil
	}
	torn := data[off:]
	tornPath := path + ".torn"
	if err := os.WriteFile(tornPath, torn, 0o640); err != nil {
		j.log.Error("cannot keep torn journal tail", "file", tornPath, "err", err)
	}
	if err := f.Truncate(int64(off)); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("truncating torn tail of %q: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, 0, fmt.Errorf("syncing segment %q: %w", path, err)
	}
	j.m.tornBytes.Add(float64(len(torn)))
	j.log.Warn("journal tail was torn, truncated",
		"segment", segmentName(seq), "offset", off, "bytes", len(torn),
		"records_kept", records, "reason", tornErr, "kept_as", tornPath)
	return f, int64(off), nil
}

func rewriteHeader(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(segmentMagic[:], 0); err != nil {
		return err
	}
	return f.Sync()
}

// readFrames calls fn for each record in segment seq between the byte
// offsets from and to, with the offset just past the record's frame; fn
// returns false to stop. readFrames returns the offset after the last frame
// read. A bad or incomplete frame before to stops the scan with an error
// wrapping ErrBadFrame, ErrShortFrame or ErrBadRecord; the offset then points
// at that frame.
func (j *Journal) readFrames(seq uint64, from, to int64, fn func(r *Record, end int64) bool) (int64, error) {
	if from < int64(len(segmentMagic)) {
		from = int64(len(segmentMagic))
	}
	if from >= to {
		return from, nil
	}
	f, err := os.Open(filepath.Join(j.dir, segmentName(seq)))
	if err != nil {
		return from, err
	}
	defer f.Close()
	br := bufio.NewReaderSize(io.NewSectionReader(f, from, to-from), 256<<10)
	buf := make([]byte, 4096)
	off := from
	var rec Record
	for {
		if _, err := io.ReadFull(br, buf[:frameHeaderSize]); err != nil {
			if errors.Is(err, io.EOF) {
				return off, nil
			}
			return off, frameReadError(seq, off, err)
		}
		n := frameLen(buf)
		if n <= frameHeaderSize || n > frameHeaderSize+MaxRecordSize {
			return off, fmt.Errorf("segment %s offset %d: %w: length %d", segmentName(seq), off, ErrBadFrame, n-frameHeaderSize)
		}
		if n > len(buf) {
			buf = append(buf[:frameHeaderSize], make([]byte, n-frameHeaderSize)...)
		}
		if _, err := io.ReadFull(br, buf[frameHeaderSize:n]); err != nil {
			return off, frameReadError(seq, off, err)
		}
		payload, _, err := decodeFrame(buf[:n])
		if err == nil {
			err = decodeRecord(payload, &rec)
		}
		if err != nil {
			return off, fmt.Errorf("segment %s offset %d: %w", segmentName(seq), off, err)
		}
		off += int64(n)
		if !fn(&rec, off) {
			return off, nil
		}
	}
}

func frameReadError(seq uint64, off int64, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("segment %s offset %d: %w", segmentName(seq), off, ErrShortFrame)
	}
	return fmt.Errorf("reading segment %s: %w", segmentName(seq), err)
}

// frameLen returns the total length a frame header announces.
func frameLen(b []byte) int {
	return frameHeaderSize + int(binary.LittleEndian.Uint32(b))
}

// syncDir fsyncs a directory so that created, renamed and removed entries
// are durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("opening directory %q: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("syncing directory %q: %w", dir, err)
	}
	return nil
}
