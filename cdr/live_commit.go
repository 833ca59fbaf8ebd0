package cdr

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// liveCompaction is a compaction running in the background: a goroutine
// writes the calls that were up at one group commit to live.log.tmp and
// fsyncs it, while the flusher goes on appending later groups to the log and
// keeps a copy of them in tail. Once the snapshot is on disk, the flusher
// appends tail to it, fsyncs it and renames it over the log.
type liveCompaction struct {
	done chan error // delivers the snapshot's result once; capacity 1
	file *os.File   // the snapshot, set before done delivers nil
	size int64      // bytes of the snapshot
	tail []byte     // groups appended to the log since the snapshot
}

// run is the flusher: it takes the pending operations as one group, writes
// and fsyncs them, and wakes their callers. Operations that arrive during an
// fsync form the next group. It also starts and finishes compactions.
func (l *Live) run() {
	defer close(l.done)
	var spare []byte
	for {
		var compDone chan error
		if l.comp != nil {
			compDone = l.comp.done
		}
		select {
		case <-l.kick:
			if l.cfg.commitDelay > 0 {
				time.Sleep(l.cfg.commitDelay)
			}
		case err := <-compDone:
			l.finishCompaction(err)
			continue
		}
		l.mu.Lock()
		buf, n, g, closed := l.pending, l.pendingN, l.group, l.closed
		if n > 0 {
			l.pending, l.pendingN, l.group = spare[:0], 0, newGroup()
		}
		// calls now matches the log as it will be once buf is appended.
		var snap []byte
		if l.broken != nil || (!closed && l.comp == nil && l.size >= l.nextCompactAt &&
			l.size >= 2*(liveHeaderSize+l.liveBytes)) {
			snap = encodeLiveLog(l.calls, l.liveBytes)
		}
		l.mu.Unlock()

		start := time.Now()
		var err error
		switch {
		case l.broken != nil:
			// A write failed, so the log's content on disk is unknown:
			// replace it with the calls, which include buf's operations.
			l.abandonCompaction()
			err = l.rewrite(snap)
		case n > 0:
			err = l.append(buf)
			if err == nil && l.comp != nil {
				l.comp.tail = append(l.comp.tail, buf...)
			}
			if err == nil && snap != nil {
				l.startCompaction(snap)
			}
		case snap != nil:
			l.startCompaction(snap)
		}
		if n > 0 {
			if err == nil {
				l.m.ops.Add(float64(n))
				l.m.groupSize.Observe(float64(n))
				l.m.fsync.Observe(time.Since(start).Seconds())
			}
			g.err = err
			close(g.done)
			spare = buf
			if cap(spare) > 8<<20 {
				spare = nil
			}
		}
		if closed {
			l.abandonCompaction()
			return
		}
	}
}

// append writes one group at the end of the log and fsyncs it.
func (l *Live) append(buf []byte) error {
	if _, err := l.file.WriteAt(buf, l.size); err != nil {
		return l.fail("appending to live log", err)
	}
	if err := l.file.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages;
		// the log is rewritten from memory before anything else is appended.
		return l.fail("syncing live log", err)
	}
	l.size += int64(len(buf))
	l.m.logBytes.Set(float64(l.size))
	return nil
}

// fail marks the log broken after a failed write: every later group first
// rewrites the whole log from memory, until that succeeds.
func (l *Live) fail(what string, err error) error {
	err = fmt.Errorf("%s: %w", what, err)
	if l.broken == nil {
		l.log.Error("live log write failed; rewriting it from memory before the next append", "err", err)
	}
	l.broken = err
	l.m.writeErrors.WithLabelValues("log").Inc()
	return err
}

// rewrite replaces the log with snap, a whole log, and clears broken.
func (l *Live) rewrite(snap []byte) error {
	f, err := writeLiveTmp(l.dir, snap)
	if err == nil {
		err = l.install(f, int64(len(snap)))
	}
	if err != nil {
		return l.fail("rewriting live log", err)
	}
	l.broken = nil
	l.log.Info("live log rewritten from memory", "bytes", len(snap))
	return nil
}

// install renames the fsynced temporary log f, of size bytes, over the log
// and appends to it from now on. When only syncing the directory fails, f is
// the log nevertheless and the error says so.
func (l *Live) install(f *os.File, size int64) error {
	if err := os.Rename(filepath.Join(l.dir, liveTmpName), filepath.Join(l.dir, liveLogName)); err != nil {
		discardLiveTmp(l.dir, f)
		return fmt.Errorf("installing live log: %w", err)
	}
	if l.file != nil {
		l.file.Close()
	}
	l.file, l.size = f, size
	l.m.logBytes.Set(float64(size))
	return syncDir(l.dir)
}

// startCompaction writes snap, the calls as of the group just appended, to
// the temporary log in the background.
func (l *Live) startCompaction(snap []byte) {
	c := &liveCompaction{done: make(chan error, 1), size: int64(len(snap))}
	l.comp = c
	go func() {
		f, err := writeLiveTmp(l.dir, snap)
		c.file = f
		c.done <- err
	}()
}

// finishCompaction completes the compaction whose snapshot has been
// written with result err. On failure the old log stays in use and the
// next attempt waits until the log has grown by the compaction size again.
func (l *Live) finishCompaction(err error) {
	c := l.comp
	l.comp = nil
	if err == nil && len(c.tail) > 0 {
		if _, err = c.file.WriteAt(c.tail, c.size); err == nil {
			err = c.file.Sync()
		}
		if err != nil {
			discardLiveTmp(l.dir, c.file)
			err = fmt.Errorf("appending to compacted live log: %w", err)
		}
	}
	if err == nil {
		before := l.size
		if err = l.install(c.file, c.size+int64(len(c.tail))); err == nil {
			l.nextCompactAt = l.cfg.compactSize
			l.m.compactions.Inc()
			l.log.Debug("live log compacted", "from", before, "to", l.size)
			return
		}
		if l.file == c.file {
			// Renamed, but the rename may not be durable.
			l.fail("compacting live log", err)
			return
		}
	}
	l.m.writeErrors.WithLabelValues("log").Inc()
	l.nextCompactAt = l.size + l.cfg.compactSize
	l.log.Warn("live log compaction failed; appending to the old log", "err", err)
}

// abandonCompaction waits for a running compaction's snapshot and throws
// it away.
func (l *Live) abandonCompaction() {
	c := l.comp
	if c == nil {
		return
	}
	l.comp = nil
	if err := <-c.done; err == nil {
		discardLiveTmp(l.dir, c.file)
	}
}
