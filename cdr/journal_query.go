package cdr

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Query implements Source by scanning the journal's segments, most recently
// written record first (close to setup time descending). Only durable
// records are seen, and of several records with one (call_id, attempt) —
// a CDR re-rated after it was written — only the newest. A damaged segment
// is logged and its readable part used.
func (j *Journal) Query(ctx context.Context, q Query) ([]Record, error) {
	q, err := q.normalized()
	if err != nil {
		return nil, err
	}
	var out []Record
	skip := q.Offset
	err = j.each(ctx, q, func(r *Record) error {
		if skip > 0 {
			skip--
			return nil
		}
		out = append(out, *r)
		if len(out) == q.Limit {
			return errStop
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return nil, err
	}
	return out, nil
}

// errStop ends an each scan early without error.
var errStop = errors.New("stop")

// each calls fn for every record matching q's filters (not its paging), in
// Query's order, in one pass over the segments; older versions of a
// (call_id, attempt) are skipped.
func (j *Journal) each(ctx context.Context, q Query, fn func(r *Record) error) error {
	segs, _ := j.snapshot()
	seen := map[recordKey]struct{}{}
	for i := len(segs) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return err
		}
		var matches []Record
		_, err := j.readFrames(segs[i].seq, headerSize, segs[i].size, func(r *Record, _ int64) bool {
			if q.match(r) {
				matches = append(matches, *r)
			}
			return true
		})
		if err != nil {
			if errors.Is(err, os.ErrNotExist) {
				continue // removed since the snapshot
			}
			if !errors.Is(err, ErrBadFrame) && !errors.Is(err, ErrShortFrame) && !errors.Is(err, ErrBadRecord) {
				return fmt.Errorf("querying journal: %w", err)
			}
			j.log.Error("journal segment damaged, query uses its readable part", "segment", segmentName(segs[i].seq), "err", err)
		}
		for k := len(matches) - 1; k >= 0; k-- {
			key := recordKey{matches[k].CallID, matches[k].Attempt}
			if _, dup := seen[key]; dup {
				continue
			}
			seen[key] = struct{}{}
			if err := fn(&matches[k]); err != nil {
				return err
			}
		}
	}
	return nil
}

// recordKey is the idempotent key of a CDR.
type recordKey struct {
	callID  string
	attempt int
}
