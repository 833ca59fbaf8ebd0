package cdr

import (
	"context"
	"errors"
	"fmt"
	"os"
)

// Query implements Source by scanning the journal's segments, most recently
// written record first (close to setup time descending). Only durable
// records are seen. A damaged segment is logged and its readable part used.
func (j *Journal) Query(ctx context.Context, q Query) ([]Record, error) {
	q, err := q.normalized()
	if err != nil {
		return nil, err
	}
	segs, _ := j.snapshot()
	var out []Record
	skip := q.Offset
	for i := len(segs) - 1; i >= 0; i-- {
		if err := ctx.Err(); err != nil {
			return nil, err
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
				return nil, fmt.Errorf("querying journal: %w", err)
			}
			j.log.Error("journal segment damaged, query uses its readable part", "segment", segmentName(segs[i].seq), "err", err)
		}
		for k := len(matches) - 1; k >= 0; k-- {
			if skip > 0 {
				skip--
				continue
			}
			out = append(out, matches[k])
			if len(out) == q.Limit {
				return out, nil
			}
		}
	}
	return out, nil
}
