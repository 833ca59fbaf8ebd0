package cdr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// headerSize is the offset of the first frame in a segment.
const headerSize = int64(len(segmentMagic))

// Journal is the durable local CDR spool: an append-only directory of
// segment files of CRC-framed records. It implements Sink (Write returns once
// the record is fsynced) and Source (Query scans the segments). Readers
// (Journal.Reader) follow it to ship records onwards; a segment is removed
// only when every registered reader has committed past it. A journal with no
// readers keeps every segment: it is then the switch's CDR store.
//
// All methods are safe for concurrent use. One process at a time may open a
// directory: OpenJournal takes an exclusive lock on it.
type Journal struct {
	dir  string
	cfg  journalConfig
	log  *slog.Logger
	m    *journalMetrics
	lock *os.File

	// mu guards the group commit being filled.
	mu       sync.Mutex
	pending  []byte // frames not yet written
	pendingN int    // records in pending
	group    *group // the writers of pending wait on it
	closed   bool
	failed   error // sticky: set when an fsync failed

	kick    chan struct{} // wakes the flusher; capacity 1
	done    chan struct{} // closed when the flusher has exited
	closing chan struct{} // closed by Close, wakes blocked readers

	// Owned by the flusher goroutine after OpenJournal returns.
	file *os.File
	size int64

	// wroteBytes and wroteRecs size the CDRs this journal wrote, for the
	// backlog in records.
	wroteBytes, wroteRecs atomic.Int64
	// smu guards segs, notify and readers.
	smu     sync.Mutex
	segs    []segment // ascending; the last is the active one
	notify  chan struct{}
	readers map[string]*readerState
}

// segment describes one segment file.
type segment struct {
	seq     uint64
	base    int64 // journal bytes in the segments before it, for backlog sums
	size    int64 // durable size: the file size, or the synced size when active
	modTime time.Time
}

// group is one group commit: every writer whose frame is in it waits for
// done and then reads err.
type group struct {
	done chan struct{}
	err  error
}

func newGroup() *group { return &group{done: make(chan struct{})} }

// OpenJournal opens the journal in dir, creating dir when missing. A torn
// tail of the last segment (a frame cut short or failing its checksum, as a
// crash leaves it) is cut off, kept aside as <segment>.torn and logged; it
// is never an error.
func OpenJournal(dir string, opts ...JournalOption) (*Journal, error) {
	cfg := journalConfig{segmentSize: DefaultSegmentSize, pollInterval: DefaultPollInterval}
	for _, o := range opts {
		o.applyJournal(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = discardLogger()
	}
	if cfg.segmentSize < headerSize+frameHeaderSize {
		return nil, fmt.Errorf("opening journal %q: segment size %d too small", dir, cfg.segmentSize)
	}
	if cfg.pollInterval <= 0 {
		cfg.pollInterval = DefaultPollInterval
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("opening journal: %w", err)
	}
	j := &Journal{
		dir:     dir,
		cfg:     cfg,
		log:     cfg.logger.With("subsystem", "journal"),
		m:       newJournalMetrics(cfg.registerer),
		group:   newGroup(),
		kick:    make(chan struct{}, 1),
		done:    make(chan struct{}),
		closing: make(chan struct{}),
		notify:  make(chan struct{}),
		readers: make(map[string]*readerState),
	}
	if err := j.open(); err != nil {
		j.release()
		return nil, fmt.Errorf("opening journal %q: %w", dir, err)
	}
	go j.run()
	return j, nil
}

func (j *Journal) open() error {
	lock, err := os.OpenFile(filepath.Join(j.dir, "LOCK"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	j.lock = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrLocked
		}
		return fmt.Errorf("locking: %w", err)
	}
	seqs, err := listSegments(j.dir)
	if err != nil {
		return err
	}
	var base int64
	for i, seq := range seqs {
		if i == len(seqs)-1 {
			break
		}
		fi, err := os.Stat(filepath.Join(j.dir, segmentName(seq)))
		if err != nil {
			return err
		}
		j.segs = append(j.segs, segment{seq: seq, base: base, size: fi.Size(), modTime: fi.ModTime()})
		base += fi.Size()
	}
	if len(seqs) == 0 {
		j.file, err = createSegment(j.dir, 1)
		if err != nil {
			return err
		}
		j.size = headerSize
		j.segs = append(j.segs, segment{seq: 1, size: headerSize, modTime: time.Now()})
	} else {
		last := seqs[len(seqs)-1]
		j.file, j.size, err = j.recoverSegment(last)
		if err != nil {
			return err
		}
		j.segs = append(j.segs, segment{seq: last, base: base, size: j.size, modTime: time.Now()})
	}
	j.m.segments.Set(float64(len(j.segs)))
	if err := j.loadReaders(); err != nil {
		return err
	}
	j.smu.Lock()
	for name := range j.readers {
		j.updateBacklogLocked(name)
	}
	j.smu.Unlock()
	j.log.Info("journal open", "dir", j.dir, "segments", len(j.segs), "readers", len(j.readers), "active_size", j.size)
	return nil
}

// release closes the files OpenJournal opened; the lock goes with its file.
func (j *Journal) release() {
	if j.file != nil {
		j.file.Close()
	}
	if j.lock != nil {
		j.lock.Close()
	}
}

// Write appends r to the journal and returns once it is fsynced, sharing the
// fsync with concurrent writers (group commit). When ctx ends first, Write
// returns ctx.Err() and the record may or may not become durable.
func (j *Journal) Write(ctx context.Context, r Record) error {
	if errs := j.WriteAll(ctx, []Record{r}); errs != nil {
		return errs[0]
	}
	return nil
}

// WriteAll appends rs to the journal in one group commit and returns once
// they are fsynced: nil, or each record's error (nil for those written). A
// record too large fails alone; the others fail together (a closed or
// failed journal, a failed fsync, ctx ending first, after which they may or
// may not become durable).
func (j *Journal) WriteAll(ctx context.Context, rs []Record) []error {
	var errs []error
	fail := func(i int, err error) {
		if errs == nil {
			errs = make([]error, len(rs))
		}
		errs[i] = fmt.Errorf("writing cdr %q: %w", rs[i].CallID, err)
	}
	failRest := func(err error) {
		for i := range rs {
			if errs == nil || errs[i] == nil {
				fail(i, err)
			}
		}
	}
	if err := ctx.Err(); err != nil {
		failRest(err)
		return errs
	}
	bp := framePool.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= maxPooledFrames {
			framePool.Put(bp) // a large batch's buffer is not kept
		}
	}()
	buf, n := (*bp)[:0], 0
	for i := range rs {
		start := len(buf)
		buf = appendFrame(buf, &rs[i])
		if size := len(buf) - start - frameHeaderSize; size > MaxRecordSize {
			buf = buf[:start]
			j.m.appendErrors.Inc()
			fail(i, fmt.Errorf("%w: %d bytes", ErrRecordTooLarge, size))
			continue
		}
		n++
	}
	*bp = buf[:0]
	if n == 0 {
		return errs
	}
	j.mu.Lock()
	if j.closed || j.failed != nil {
		err := j.failed
		j.mu.Unlock()
		if err == nil {
			err = ErrClosed
		}
		failRest(err)
		return errs
	}
	j.pending = append(j.pending, buf...)
	j.pendingN += n
	g := j.group
	j.mu.Unlock()

	select {
	case j.kick <- struct{}{}:
	default:
	}
	select {
	case <-g.done:
		if g.err != nil {
			failRest(g.err)
		}
	case <-ctx.Done():
		failRest(ctx.Err())
	}
	return errs
}

// maxPooledFrames is the largest frame buffer framePool keeps.
const maxPooledFrames = 1 << 20

var framePool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

// run is the flusher: it takes the pending frames as one group, writes and
// fsyncs them, and wakes their writers. Writers that arrive during an fsync
// form the next group.
func (j *Journal) run() {
	defer close(j.done)
	var spare []byte
	for range j.kick {
		if j.cfg.commitDelay > 0 {
			time.Sleep(j.cfg.commitDelay)
		}
		j.mu.Lock()
		buf, n, g, closed := j.pending, j.pendingN, j.group, j.closed
		if n > 0 {
			j.pending, j.pendingN, j.group = spare[:0], 0, newGroup()
		}
		j.mu.Unlock()
		if n > 0 {
			g.err = j.flush(buf, n)
			if g.err != nil {
				j.m.appendErrors.Add(float64(n))
			} else {
				j.m.appended.Add(float64(n))
				j.m.groupSize.Observe(float64(n))
			}
			close(g.done)
			spare = buf
			if cap(spare) > 8<<20 {
				spare = nil
			}
		}
		if closed {
			return
		}
	}
}

// flush writes one group to the active segment, rotating first when the
// group would take it past the segment size, and fsyncs it.
func (j *Journal) flush(buf []byte, n int) error {
	j.mu.Lock()
	failed := j.failed
	j.mu.Unlock()
	if failed != nil {
		return failed
	}
	start := time.Now()
	if j.size > headerSize && j.size+int64(len(buf)) > j.cfg.segmentSize {
		if err := j.rotate(); err != nil {
			j.log.Error("journal rotation failed, appending to the current segment", "err", err)
		}
	}
	if _, err := j.file.WriteAt(buf, j.size); err != nil {
		// Undo a partial write so the segment stays a sequence of frames.
		if terr := j.file.Truncate(j.size); terr != nil {
			j.setFailed(fmt.Errorf("truncating after failed append: %w", terr))
		}
		j.log.Error("journal append failed", "records", n, "err", err)
		return fmt.Errorf("appending to journal: %w", err)
	}
	if err := j.file.Sync(); err != nil {
		// After a failed fsync the kernel may have dropped the dirty pages:
		// nothing written since the last good fsync can be trusted.
		j.setFailed(fmt.Errorf("fsync: %w", err))
		j.log.Error("journal fsync failed; journal is now read-only", "err", err)
		return fmt.Errorf("syncing journal: %w", err)
	}
	j.size += int64(len(buf))
	j.m.fsync.Observe(time.Since(start).Seconds())
	j.wroteBytes.Add(int64(len(buf)))
	j.wroteRecs.Add(int64(n))

	j.smu.Lock()
	last := &j.segs[len(j.segs)-1]
	last.size = j.size
	last.modTime = start
	close(j.notify)
	j.notify = make(chan struct{})
	for name := range j.readers {
		j.updateBacklogLocked(name)
	}
	j.smu.Unlock()
	return nil
}

// Err returns why the journal takes no more records (a failed fsync: the
// disk), nil while it writes.
func (j *Journal) Err() error {
	j.mu.Lock()
	defer j.mu.Unlock()
	return j.failed
}

func (j *Journal) setFailed(err error) {
	j.mu.Lock()
	if j.failed == nil {
		j.failed = err
	}
	j.mu.Unlock()
}

// rotate closes the active segment and starts the next one.
func (j *Journal) rotate() error {
	j.smu.Lock()
	cur := j.segs[len(j.segs)-1]
	j.smu.Unlock()
	f, err := createSegment(j.dir, cur.seq+1)
	if err != nil {
		return err
	}
	if err := j.file.Close(); err != nil {
		j.log.Warn("closing journal segment", "segment", segmentName(cur.seq), "err", err)
	}
	j.file, j.size = f, headerSize
	j.smu.Lock()
	j.segs = append(j.segs, segment{seq: cur.seq + 1, base: cur.base + cur.size, size: headerSize, modTime: time.Now()})
	j.m.segments.Set(float64(len(j.segs)))
	j.smu.Unlock()
	j.log.Debug("journal segment rotated", "closed", segmentName(cur.seq), "size", cur.size)
	j.removeObsolete()
	return nil
}

// Close flushes pending writes, stops the journal and releases the
// directory. Writers still waiting get the result of the final flush; later
// calls fail with ErrClosed. Close is idempotent.
func (j *Journal) Close() error {
	j.mu.Lock()
	if j.closed {
		j.mu.Unlock()
		return nil
	}
	j.closed = true
	j.mu.Unlock()
	close(j.closing)
	select {
	case j.kick <- struct{}{}:
	default:
	}
	<-j.done
	var err error
	if cerr := j.file.Close(); cerr != nil {
		err = fmt.Errorf("closing journal: %w", cerr)
	}
	if cerr := j.lock.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing journal lock: %w", cerr)
	}
	return err
}

// Dir returns the journal's directory.
func (j *Journal) Dir() string { return j.dir }

// snapshot returns a copy of the segment list and the channel the next
// group commit closes.
func (j *Journal) snapshot() ([]segment, chan struct{}) {
	j.smu.Lock()
	defer j.smu.Unlock()
	return append([]segment(nil), j.segs...), j.notify
}
