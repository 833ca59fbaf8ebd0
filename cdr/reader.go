package cdr

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"
)

// Position is a place in the journal: a segment's sequence number and a byte
// offset in it. The zero Position is before every record.
type Position struct {
	Segment uint64 `json:"segment"`
	Offset  int64  `json:"offset"`
}

// Less reports whether p is before q.
func (p Position) Less(q Position) bool {
	return p.Segment < q.Segment || p.Segment == q.Segment && p.Offset < q.Offset
}

// Reader is a named cursor over the journal for one downstream sink. Next
// reads ahead from the last position it returned; Commit records, durably, a
// position up to which the sink has everything. After a restart a reader
// resumes from its last committed position, so delivery is at least once.
//
// A Reader is meant for one goroutine; its methods are nonetheless safe for
// concurrent use.
type Reader struct {
	j    *Journal
	name string

	mu   sync.Mutex
	next Position
}

// readerState is the journal's view of a registered reader.
type readerState struct {
	committed Position
	reader    *Reader
}

const readerExt = ".reader"

var readerNameRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,64}$`)

// Reader returns the cursor named name, registering it on first use: its
// position is then persisted in the journal directory (as <name>.reader) and
// starts at the oldest record still in the journal. From then on segments are
// kept until this reader has committed past them; RemoveReader unregisters it.
// Calls with the same name return the same *Reader.
func (j *Journal) Reader(name string) (*Reader, error) {
	if !readerNameRE.MatchString(name) {
		return nil, fmt.Errorf("%w: %q", ErrBadReaderName, name)
	}
	j.mu.Lock()
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	j.smu.Lock()
	defer j.smu.Unlock()
	st, ok := j.readers[name]
	if !ok {
		pos := Position{Segment: j.segs[0].seq, Offset: headerSize}
		if err := j.persistPosition(name, pos); err != nil {
			return nil, err
		}
		st = &readerState{committed: pos}
		j.readers[name] = st
		j.updateBacklogLocked(name)
		j.log.Info("journal reader registered", "reader", name, "segment", pos.Segment)
	}
	if st.reader == nil {
		st.reader = &Reader{j: j, name: name, next: st.committed}
	}
	return st.reader, nil
}

// RemoveReader unregisters the reader name and deletes its position, so it
// no longer holds segments back. A *Reader obtained before must not be used.
func (j *Journal) RemoveReader(name string) error {
	j.smu.Lock()
	_, ok := j.readers[name]
	delete(j.readers, name)
	j.smu.Unlock()
	if !ok {
		return nil
	}
	j.m.backlog.DeleteLabelValues(name)
	j.m.backlogRecs.DeleteLabelValues(name)
	if err := os.Remove(filepath.Join(j.dir, name+readerExt)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing reader %q: %w", name, err)
	}
	j.removeObsolete()
	return nil
}

// Name returns the reader's name.
func (r *Reader) Name() string { return r.name }

// Next returns up to max records after the reader's read-ahead position and
// the position just past the last of them, to pass to Commit once the
// records are delivered. With nothing new it blocks until a record is
// appended, ctx ends (ctx.Err()) or the journal closes (ErrClosed). max <= 0
// means 1000.
func (r *Reader) Next(ctx context.Context, max int) ([]Record, Position, error) {
	if max <= 0 {
		max = 1000
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	var timer *time.Timer
	for {
		segs, notify := r.j.snapshot()
		recs, err := r.read(segs, max)
		if err != nil || len(recs) > 0 {
			return recs, r.next, err
		}
		if timer == nil {
			timer = time.NewTimer(r.j.cfg.pollInterval)
			defer timer.Stop()
		} else {
			timer.Reset(r.j.cfg.pollInterval)
		}
		select {
		case <-ctx.Done():
			return nil, r.next, ctx.Err()
		case <-r.j.closing:
			return nil, r.next, ErrClosed
		case <-notify:
		case <-timer.C:
		}
	}
}

// read reads up to max records from r.next over the segments segs.
func (r *Reader) read(segs []segment, max int) ([]Record, error) {
	pos := r.next
	out := make([]Record, 0, min(max, 1024))
	for i := 0; i < len(segs) && len(out) < max; i++ {
		s := segs[i]
		if s.seq < pos.Segment {
			continue
		}
		if s.seq > pos.Segment {
			pos = Position{Segment: s.seq, Offset: headerSize}
		}
		if pos.Offset >= s.size {
			continue
		}
		end, err := r.j.readFrames(s.seq, pos.Offset, s.size, func(rec *Record, end int64) bool {
			out = append(out, *rec)
			pos.Offset = end
			return len(out) < max
		})
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue
			}
			if i == len(segs)-1 {
				r.next = pos
				return out, fmt.Errorf("reader %q: %w", r.name, err)
			}
			// A closed segment is damaged: ship what can be read.
			r.j.m.corrupt.Inc()
			r.j.log.Error("journal segment damaged, skipping its rest", "reader", r.name,
				"segment", segmentName(s.seq), "offset", end, "err", err)
			pos.Offset = s.size
		}
	}
	r.next = pos
	return out, nil
}

// Rewind moves the read-ahead position back to the last committed one, so
// that Next returns again what was read but not committed.
func (r *Reader) Rewind() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.j.smu.Lock()
	defer r.j.smu.Unlock()
	if st, ok := r.j.readers[r.name]; ok {
		r.next = st.committed
	}
}

// Commit durably records that everything before pos has been delivered.
// Segments every reader has committed past are then removed (subject to the
// retention option). Committing a position before the last committed one is
// allowed and moves the reader back.
func (r *Reader) Commit(pos Position) error {
	j := r.j
	j.mu.Lock()
	closed := j.closed
	j.mu.Unlock()
	if closed {
		return ErrClosed
	}
	j.smu.Lock()
	st, ok := j.readers[r.name]
	if !ok {
		j.smu.Unlock()
		return fmt.Errorf("committing reader %q: not registered", r.name)
	}
	if active := j.segs[len(j.segs)-1]; active.seq < pos.Segment || active.seq == pos.Segment && active.size < pos.Offset {
		j.smu.Unlock()
		return fmt.Errorf("committing reader %q: position %d:%d is past the end of the journal", r.name, pos.Segment, pos.Offset)
	}
	err := j.persistPosition(r.name, pos)
	if err == nil {
		st.committed = pos
		j.updateBacklogLocked(r.name)
	}
	j.smu.Unlock()
	if err != nil {
		return err
	}
	j.removeObsolete()
	return nil
}

// persistPosition writes name's position atomically: temporary file, fsync,
// rename, directory fsync.
func (j *Journal) persistPosition(name string, pos Position) error {
	data, _ := json.Marshal(pos)
	path := filepath.Join(j.dir, name+readerExt)
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("saving reader %q: %w", name, err)
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err == nil {
		err = syncDir(j.dir)
	}
	if err != nil {
		return fmt.Errorf("saving reader %q: %w", name, err)
	}
	return nil
}

// loadReaders reads the persisted reader positions.
func (j *Journal) loadReaders() error {
	entries, err := os.ReadDir(j.dir)
	if err != nil {
		return err
	}
	for _, e := range entries {
		name, ok := strings.CutSuffix(e.Name(), readerExt)
		if !ok || !readerNameRE.MatchString(name) {
			continue
		}
		data, err := os.ReadFile(filepath.Join(j.dir, e.Name()))
		if err != nil {
			return fmt.Errorf("loading reader %q: %w", name, err)
		}
		var pos Position
		if err := json.Unmarshal(data, &pos); err != nil {
			return fmt.Errorf("loading reader %q: %w", name, err)
		}
		j.readers[name] = &readerState{committed: pos}
	}
	return nil
}

// updateBacklogLocked sets the backlog gauge of reader name. j.smu is held.
func (j *Journal) updateBacklogLocked(name string) {
	st := j.readers[name]
	last := j.segs[len(j.segs)-1]
	end := last.base + last.size
	var at int64
	for _, s := range j.segs {
		if s.seq >= st.committed.Segment {
			if s.seq == st.committed.Segment {
				at = s.base + max(st.committed.Offset, headerSize)
			} else {
				at = s.base
			}
			break
		}
		at = s.base + s.size
	}
	bytes := max(end-at, 0)
	j.m.backlog.WithLabelValues(name).Set(float64(bytes))
	if recs := j.wroteRecs.Load(); recs > 0 {
		mean := float64(j.wroteBytes.Load()) / float64(recs)
		j.m.backlogRecs.WithLabelValues(name).Set(math.Round(float64(bytes) / mean))
	}
}

// removeObsolete removes closed segments that every registered reader has
// committed past and that are older than the retention. With no registered
// reader nothing is removed.
func (j *Journal) removeObsolete() {
	j.smu.Lock()
	if len(j.readers) == 0 {
		j.smu.Unlock()
		return
	}
	var minSeg uint64
	first := true
	for _, st := range j.readers {
		if first || st.committed.Segment < minSeg {
			minSeg, first = st.committed.Segment, false
		}
	}
	cutoff := time.Now().Add(-j.cfg.retention)
	var remove []uint64
	for len(j.segs) > 1 && j.segs[0].seq < minSeg && (j.cfg.retention <= 0 || j.segs[0].modTime.Before(cutoff)) {
		remove = append(remove, j.segs[0].seq)
		j.segs = j.segs[1:]
	}
	j.m.segments.Set(float64(len(j.segs)))
	j.smu.Unlock()
	if len(remove) == 0 {
		return
	}
	for _, seq := range remove {
		if err := os.Remove(filepath.Join(j.dir, segmentName(seq))); err != nil && !errors.Is(err, os.ErrNotExist) {
			j.log.Error("removing journal segment", "segment", segmentName(seq), "err", err)
			continue
		}
		j.log.Debug("journal segment removed", "segment", segmentName(seq))
	}
	if err := syncDir(j.dir); err != nil {
		j.log.Warn("syncing journal directory after removal", "err", err)
	}
}
