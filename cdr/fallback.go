package cdr

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"
)

// Fallback answers queries from Primary (ClickHouse) and, while Primary
// fails, from Secondary (the node's journal: the CDRs this node has not
// shipped yet and its newest segments, not the whole history once
// shipped segments are dropped): the newest CDRs stay readable while
// ClickHouse is down. A query served by Secondary is marked on its context
// (see ServedFrom) so the answer can say it may be partial. Exports never
// read through it: a partial file must not pass for a period's.
type Fallback struct {
	Primary, Secondary Source
	// Name says what Secondary is, for the mark ("journal").
	Name string
	Log  *slog.Logger

	mu        sync.Mutex
	downUntil time.Time // Primary failed: Secondary answers until then
}

// fallbackRest is how long queries skip a Primary that failed (each try
// of a Primary that is down waits out its dial timeout).
const fallbackRest = 10 * time.Second

// primaryDown tells whether Primary failed within fallbackRest.
func (f *Fallback) primaryDown() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return time.Now().Before(f.downUntil)
}

type servedKey struct{}

// ServedFrom returns a context whose queries say, in *from, which source
// other than the primary answered them ("" when the primary did).
func ServedFrom(ctx context.Context, from *string) context.Context {
	return context.WithValue(ctx, servedKey{}, from)
}

func (f *Fallback) fellBack(ctx context.Context, err error) {
	if p, _ := ctx.Value(servedKey{}).(*string); p != nil {
		*p = f.Name
	}
	if err == nil {
		return // resting: said when it failed
	}
	f.mu.Lock()
	f.downUntil = time.Now().Add(fallbackRest)
	f.mu.Unlock()
	if f.Log != nil {
		f.Log.Warn("CDR query answered from the "+f.Name+": the CDR database failed", "error", err)
	}
}

// usable tells whether err leaves the query to the secondary: not a bad
// query, nor the caller giving up.
func usable(ctx context.Context, err error) bool {
	return err != nil && !errors.Is(err, ErrBadQuery) && ctx.Err() == nil
}

// Query answers q from Primary, or from Secondary when Primary fails.
func (f *Fallback) Query(ctx context.Context, q Query) ([]Record, error) {
	if f.primaryDown() {
		f.fellBack(ctx, nil)
		return f.Secondary.Query(ctx, q)
	}
	recs, err := f.Primary.Query(ctx, q)
	if !usable(ctx, err) {
		return recs, err
	}
	f.fellBack(ctx, err)
	return f.Secondary.Query(ctx, q)
}

// each streams q's CDRs from one source, Primary or (when it fails before
// the first record) Secondary, never a mix.
func (f *Fallback) each(ctx context.Context, q Query, fn func(r *Record) error) error {
	src := f.Primary
	if f.primaryDown() {
		f.fellBack(ctx, nil)
		src = f.Secondary
	} else if _, err := f.Primary.Query(ctx, Query{CustomerID: q.CustomerID, Limit: 1}); usable(ctx, err) {
		f.fellBack(ctx, err)
		src = f.Secondary
	}
	return Each(ctx, src, q, fn)
}

// Summary answers q from Primary, or from Secondary when Primary fails;
// each must be a Summarizer.
func (f *Fallback) Summary(ctx context.Context, q SummaryQuery) ([]SummaryRow, error) {
	p, ok := f.Primary.(Summarizer)
	if !ok {
		return nil, errors.New("the CDR database gives no summaries")
	}
	s, ok := f.Secondary.(Summarizer)
	if ok && f.primaryDown() {
		f.fellBack(ctx, nil)
		return s.Summary(ctx, q)
	}
	rows, err := p.Summary(ctx, q)
	if !usable(ctx, err) || !ok {
		return rows, err
	}
	f.fellBack(ctx, err)
	return s.Summary(ctx, q)
}
