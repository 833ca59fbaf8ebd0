package cdr

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"time"
)

// The heartbeat file, live.hb, holds two slots of 32 bytes, at offsets 0
// and 512:
//
//	magic "TLLIVH\x00\x01" | seq uint64 | ms int64 | flags uint32 | crc uint32
//
// little endian; ms is wall-clock unix milliseconds, flags bit 0 marks a
// clean stop, crc is the CRC-32C of the 28 bytes before it. Each heartbeat
// takes the next seq and overwrites slot seq%2 in place (pwrite, fsync), so a
// write torn by a crash spoils only its own slot and the other still holds
// the heartbeat before it. The valid slot with the higher seq is the
// heartbeat.
const (
	liveHBName   = "live.hb"
	liveHBSlot   = 32
	liveHBStride = 512
	liveHBSize   = 2 * liveHBStride
	liveHBClean  = 1
)

var liveHBMagic = [8]byte{'T', 'L', 'L', 'I', 'V', 'H', 0, 1}

// liveHeartbeat is the content of one slot.
type liveHeartbeat struct {
	seq   uint64
	ms    int64
	clean bool
}

func encodeHeartbeat(h liveHeartbeat) []byte {
	b := make([]byte, 0, liveHBSlot)
	b = append(b, liveHBMagic[:]...)
	b = binary.LittleEndian.AppendUint64(b, h.seq)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.ms))
	var flags uint32
	if h.clean {
		flags |= liveHBClean
	}
	b = binary.LittleEndian.AppendUint32(b, flags)
	return binary.LittleEndian.AppendUint32(b, crc32.Checksum(b, castagnoli))
}

func decodeHeartbeat(b []byte) (liveHeartbeat, bool) {
	if len(b) < liveHBSlot || !bytes.Equal(b[:8], liveHBMagic[:]) ||
		crc32.Checksum(b[:liveHBSlot-4], castagnoli) != binary.LittleEndian.Uint32(b[liveHBSlot-4:]) {
		return liveHeartbeat{}, false
	}
	return liveHeartbeat{
		seq:   binary.LittleEndian.Uint64(b[8:]),
		ms:    int64(binary.LittleEndian.Uint64(b[16:])),
		clean: binary.LittleEndian.Uint32(b[24:])&liveHBClean != 0,
	}, true
}

// readHeartbeat returns the newest valid slot of a heartbeat file's bytes,
// or the zero heartbeat when neither is valid.
func readHeartbeat(b []byte) liveHeartbeat {
	var best liveHeartbeat
	for off := 0; off < liveHBSize && off < len(b); off += liveHBStride {
		if h, ok := decodeHeartbeat(b[off:]); ok && h.seq >= best.seq {
			best = h
		}
	}
	return best
}

// openHeartbeat opens (creating it when missing) the heartbeat file and
// returns the heartbeat the previous process left in it.
func (l *Live) openHeartbeat() (liveHeartbeat, error) {
	path := filepath.Join(l.dir, liveHBName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return liveHeartbeat{}, fmt.Errorf("opening live heartbeat: %w", err)
	}
	l.hb = f
	b := make([]byte, liveHBSize)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return liveHeartbeat{}, fmt.Errorf("reading live heartbeat: %w", err)
	}
	if n < liveHBSize {
		if err := f.Truncate(liveHBSize); err != nil {
			return liveHeartbeat{}, fmt.Errorf("sizing live heartbeat: %w", err)
		}
		if err := f.Sync(); err != nil {
			return liveHeartbeat{}, fmt.Errorf("syncing live heartbeat: %w", err)
		}
		if err := syncDir(l.dir); err != nil {
			return liveHeartbeat{}, err
		}
	}
	return readHeartbeat(b[:n]), nil
}

// beat writes a heartbeat of the current time, with the clean-stop mark if
// clean, and fsyncs it.
func (l *Live) beat(clean bool) error {
	l.hbMu.Lock()
	defer l.hbMu.Unlock()
	if l.hb == nil {
		return ErrClosed
	}
	seq := l.hbSeq + 1
	slot := encodeHeartbeat(liveHeartbeat{seq: seq, ms: time.Now().UnixMilli(), clean: clean})
	_, err := l.hb.WriteAt(slot, int64(seq%2)*liveHBStride)
	if err == nil {
		err = l.hb.Sync()
	}
	if err != nil {
		l.m.writeErrors.WithLabelValues("heartbeat").Inc()
		l.log.Error("live heartbeat write failed", "err", err)
		return fmt.Errorf("writing live heartbeat: %w", err)
	}
	l.hbSeq = seq
	return nil
}

// Run writes the heartbeat every heartbeat interval (WithLiveHeartbeat)
// until ctx ends or the register is closed. A failed write is logged and
// counted; the next tick tries again.
func (l *Live) Run(ctx context.Context) {
	t := time.NewTicker(l.cfg.heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-l.closing:
			return
		case <-t.C:
			l.beat(false)
		}
	}
}
