package cdr

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
)

// The live call log, live.log, is liveLogMagic followed by frames as in the
// journal (frame.go: uint32 length, CRC-32C, payload). A payload is one
// operation, integers little endian, times in wall-clock unix milliseconds:
//
//	up    0x01 | up_ms int64 | alive_ms int64 | key_len uint16 | key | data
//	down  0x02 | ms int64 | key_len uint16 | key
//
// alive_ms is 0 for a call that this process put up. OpenLive stamps the calls
// left by a process that crashed with that process's last sign of life and
// writes them back with it, so a second crash before they are dealt with
// cannot move their end later.
//
// Replaying the frames in order gives the calls that are up. The first frame
// that is short, fails its checks or does not decode ends the replay: it and
// what follows are a torn tail.
const (
	liveLogName  = "live.log"
	liveTmpName  = "live.log.tmp"
	liveTornName = "live.log.torn"

	liveOpUp   = 1
	liveOpDown = 2

	liveUpFixed   = 1 + 8 + 8 + 2
	liveDownFixed = 1 + 8 + 2

	liveHeaderSize = int64(len(liveLogMagic))
)

// liveLogMagic opens the live call log: format name and version.
var liveLogMagic = [8]byte{'T', 'L', 'L', 'I', 'V', 'E', 0, 1}

// liveEntry is a call that is up.
type liveEntry struct {
	data    []byte // owned by the register, never modified
	upMs    int64  // when Up recorded it
	aliveMs int64  // for a recovered call, when its process was last alive; else 0
}

// liveUpSize is the size of the up frame of key and data.
func liveUpSize(key string, data []byte) int64 {
	return frameHeaderSize + liveUpFixed + int64(len(key)) + int64(len(data))
}

func appendLiveUp(dst []byte, key string, e liveEntry) []byte {
	dst, start := beginFrame(dst)
	dst = append(dst, liveOpUp)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.upMs))
	dst = binary.LittleEndian.AppendUint64(dst, uint64(e.aliveMs))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	dst = append(dst, key...)
	dst = append(dst, e.data...)
	return endFrame(dst, start)
}

func appendLiveDown(dst []byte, key string, ms int64) []byte {
	dst, start := beginFrame(dst)
	dst = append(dst, liveOpDown)
	dst = binary.LittleEndian.AppendUint64(dst, uint64(ms))
	dst = binary.LittleEndian.AppendUint16(dst, uint16(len(key)))
	dst = append(dst, key...)
	return endFrame(dst, start)
}

// liveOp is one decoded operation; key and e.data alias the payload.
type liveOp struct {
	op  byte
	key []byte
	ms  int64 // up_ms or the down's ms
	e   liveEntry
}

func decodeLiveOp(p []byte) (liveOp, error) {
	var o liveOp
	fixed := liveDownFixed
	if len(p) > 0 && p[0] == liveOpUp {
		fixed = liveUpFixed
	}
	if len(p) < fixed {
		return o, fmt.Errorf("%w: live op of %d bytes", ErrBadRecord, len(p))
	}
	o.op = p[0]
	o.ms = int64(binary.LittleEndian.Uint64(p[1:]))
	if o.op == liveOpUp {
		o.e.upMs = o.ms
		o.e.aliveMs = int64(binary.LittleEndian.Uint64(p[9:]))
	} else if o.op != liveOpDown {
		return o, fmt.Errorf("%w: live op %d", ErrBadRecord, o.op)
	}
	n := int(binary.LittleEndian.Uint16(p[fixed-2:]))
	if n == 0 || n > MaxLiveKeySize || n > len(p)-fixed {
		return o, fmt.Errorf("%w: live key of %d bytes", ErrBadRecord, n)
	}
	o.key = p[fixed : fixed+n]
	rest := p[fixed+n:]
	switch {
	case o.op == liveOpDown && len(rest) > 0:
		return o, fmt.Errorf("%w: %d bytes after live down", ErrBadRecord, len(rest))
	case len(rest) > MaxLiveDataSize:
		return o, fmt.Errorf("%w: live data of %d bytes", ErrBadRecord, len(rest))
	}
	o.e.data = rest
	return o, nil
}

// liveReplay is the state a log replays to.
type liveReplay struct {
	calls map[string]liveEntry // data copied out of the log
	bytes int64                // liveUpSize summed over calls
	maxMs int64                // newest time in any frame
	good  int                  // length of the log up to the end of the last good frame
	torn  error                // why the replay stopped before the end; nil if it did not
}

// replayLive rebuilds the calls that are up from the bytes of a log. It
// fails only when b is not a live call log at all (ErrBadLiveLog); a torn or
// corrupt tail ends the replay and is reported in torn.
func replayLive(b []byte) (*liveReplay, error) {
	r := &liveReplay{calls: make(map[string]liveEntry)}
	if len(b) < len(liveLogMagic) {
		if !bytes.HasPrefix(liveLogMagic[:], b) {
			return nil, ErrBadLiveLog
		}
		if len(b) > 0 {
			r.torn = fmt.Errorf("%w: %d header bytes", ErrShortFrame, len(b))
		}
		return r, nil
	}
	if !bytes.Equal(b[:len(liveLogMagic)], liveLogMagic[:]) {
		return nil, ErrBadLiveLog
	}
	off := len(liveLogMagic)
	for off < len(b) {
		p, n, err := decodeFrame(b[off:])
		if err != nil {
			r.torn = err
			break
		}
		o, err := decodeLiveOp(p)
		if err != nil {
			r.torn = err
			break
		}
		r.maxMs = max(r.maxMs, o.ms, o.e.aliveMs)
		if old, ok := r.calls[string(o.key)]; ok {
			r.bytes -= liveUpSize(string(o.key), old.data)
			delete(r.calls, string(o.key))
		}
		if o.op == liveOpUp {
			o.e.data = bytes.Clone(o.e.data)
			r.calls[string(o.key)] = o.e
			r.bytes += liveUpSize(string(o.key), o.e.data)
		}
		off += n
	}
	r.good = off
	return r, nil
}

// encodeLiveLog returns a whole log holding calls, whose up frames take size
// bytes.
func encodeLiveLog(calls map[string]liveEntry, size int64) []byte {
	b := make([]byte, 0, liveHeaderSize+size)
	b = append(b, liveLogMagic[:]...)
	for k, e := range calls {
		b = appendLiveUp(b, k, e)
	}
	return b
}

// writeLiveTmp writes log to live.log.tmp in dir and fsyncs it. The file is
// left open for installLive.
func writeLiveTmp(dir string, log []byte) (*os.File, error) {
	path := filepath.Join(dir, liveTmpName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("creating live log: %w", err)
	}
	if _, err := f.Write(log); err != nil {
		discardLiveTmp(dir, f)
		return nil, fmt.Errorf("writing live log: %w", err)
	}
	if err := f.Sync(); err != nil {
		discardLiveTmp(dir, f)
		return nil, fmt.Errorf("syncing live log: %w", err)
	}
	return f, nil
}

// discardLiveTmp closes and removes a temporary log that will not be used.
func discardLiveTmp(dir string, f *os.File) {
	f.Close()
	os.Remove(filepath.Join(dir, liveTmpName))
}
