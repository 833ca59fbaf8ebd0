package cdr

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"
	"sync"
	"time"
)

// Live is the durable register of calls that are up, so that a switch
// restarted after a crash can write the CDR of every call that was up and
// send BYEs to both of its sides.
//
// The caller puts a call up at answer (Up, with whatever the caller needs to
// close the call later, encoded by the caller) and takes it down once its
// CDR is written (Down). Both return once the change is fsynced; concurrent
// changes share one write and one fsync (group commit). Run writes a
// heartbeat, so that after a crash the calls that were up can be ended at the
// last moment the process was known to be alive; Recovered returns them.
//
// All methods are safe for concurrent use. One process at a time may open a
// directory: OpenLive takes an exclusive lock on it.
type Live struct {
	dir  string
	cfg  liveConfig
	log  *slog.Logger
	m    *liveMetrics
	lock *os.File

	prevAlive time.Time // the previous process's last sign of life; zero after a clean stop

	// mu guards the calls that are up and the group commit being filled.
	// calls already holds the operations in pending.
	mu        sync.Mutex
	calls     map[string]liveEntry
	liveBytes int64 // liveUpSize summed over calls
	pending   []byte
	pendingN  int
	group     *group
	closed    bool

	kick    chan struct{} // wakes the flusher; capacity 1
	done    chan struct{} // closed when the flusher has exited
	closing chan struct{} // closed by Close, stops Run

	// Owned by the flusher goroutine after OpenLive returns.
	file          *os.File
	size          int64
	broken        error // the last write failed: rewrite the log before appending
	comp          *liveCompaction
	nextCompactAt int64

	// hbMu guards the heartbeat file.
	hbMu  sync.Mutex
	hb    *os.File
	hbSeq uint64
}

// LiveCall is a call that was up when a previous process stopped.
type LiveCall struct {
	// Key identifies the call, as given to Up.
	Key string
	// Data is what Up recorded with the call.
	Data []byte
	// UpAt is when Up recorded the call (wall clock, ms).
	UpAt time.Time
	// LastAlive is the last moment the process carrying the call was known
	// to be alive, never earlier than UpAt: the time to end the call at. It
	// equals the lastAlive that Recovered returns unless the call is left
	// over from a process before the previous one, whose own end it keeps.
	LastAlive time.Time
}

// Recovered returns the calls that were up when a previous process stopped
// without closing cleanly, and that process's last sign of life: its last
// heartbeat or, if later, the newest time written in its log. The register
// keeps the calls until the caller removes each with Down once it has
// written its CDR and sent its BYEs; until then Recovered keeps returning
// them (an Up of the same key replaces one). End each call at its LastAlive.
//
// After a clean stop (Close with no call up) Recovered returns no calls and
// a zero time; no calls and a non-zero time mean the previous process
// crashed with none up. Calls are sorted by UpAt, then Key.
func (l *Live) Recovered() (calls []LiveCall, lastAlive time.Time) {
	l.mu.Lock()
	for k, e := range l.calls {
		if e.aliveMs != 0 {
			calls = append(calls, LiveCall{Key: k, Data: bytes.Clone(e.data), UpAt: liveTime(e.upMs), LastAlive: liveTime(e.aliveMs)})
		}
	}
	l.mu.Unlock()
	slices.SortFunc(calls, func(a, b LiveCall) int {
		return cmp.Or(a.UpAt.Compare(b.UpAt), strings.Compare(a.Key, b.Key))
	})
	return calls, l.prevAlive
}

// Up records that the call key is up, with data (copied), and returns once
// that is fsynced. An Up of a key that is up replaces its entry. When ctx
// ends first, Up returns ctx.Err() and the entry may or may not become
// durable; after any error the register still holds the entry, so the
// caller that gives up on the call should Down it.
func (l *Live) Up(ctx context.Context, key string, data []byte) error {
	return l.up(ctx, key, data, true)
}

// UpAsync is Up without the wait: the entry is durable once the group it
// joined is written (within the commit delay and one fsync). A caller that
// cannot act on the wait (the switch at a call's answer) uses it.
func (l *Live) UpAsync(key string, data []byte) error {
	return l.up(context.Background(), key, data, false)
}

func (l *Live) up(ctx context.Context, key string, data []byte, wait bool) error {
	switch {
	case key == "" || len(key) > MaxLiveKeySize:
		return fmt.Errorf("live call up: %w: %d bytes", ErrBadLiveKey, len(key))
	case len(data) > MaxLiveDataSize:
		return fmt.Errorf("live call up %q: %w: %d bytes", key, ErrLiveDataTooLarge, len(data))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	e := liveEntry{data: bytes.Clone(data), upMs: time.Now().UnixMilli()}
	// A map assignment stores the key it is given even when the key is
	// there: a copy keeps the register from pinning the caller's buffer.
	k := strings.Clone(key)
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("live call up %q: %w", key, ErrClosed)
	}
	if old, ok := l.calls[key]; ok {
		l.liveBytes -= liveUpSize(key, old.data)
		e.upMs = old.upMs // an update keeps the time the call was first up
	}
	l.calls[k] = e
	l.liveBytes += liveUpSize(key, e.data)
	l.pending = appendLiveUp(l.pending, key, e)
	return l.commit(ctx, "up", key, wait)
}

// Down removes the call key and returns once that is fsynced. A key that is
// not up is no error and costs no write. When ctx ends first, Down returns
// ctx.Err() and the removal may or may not become durable.
func (l *Live) Down(ctx context.Context, key string) error {
	return l.down(ctx, key, true)
}

// DownAsync is Down without the wait. A removal lost in a crash leaves the
// call in the register: a caller that removes a call once its CDR is
// written must then find that CDR before ending the call again.
func (l *Live) DownAsync(key string) error {
	return l.down(context.Background(), key, false)
}

func (l *Live) down(ctx context.Context, key string, wait bool) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	ms := time.Now().UnixMilli()
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return fmt.Errorf("live call down %q: %w", key, ErrClosed)
	}
	old, ok := l.calls[key]
	if !ok {
		l.mu.Unlock()
		return nil
	}
	delete(l.calls, key)
	l.liveBytes -= liveUpSize(key, old.data)
	l.pending = appendLiveDown(l.pending, key, ms)
	return l.commit(ctx, "down", key, wait)
}

// commit is called with mu held and an operation appended to pending; it
// releases mu and, when wait is set, waits for the operation's group
// commit.
func (l *Live) commit(ctx context.Context, op, key string, wait bool) error {
	l.pendingN++
	g := l.group
	l.m.calls.Set(float64(len(l.calls)))
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default:
	}
	if !wait {
		return nil
	}
	select {
	case <-g.done:
		if g.err != nil {
			return fmt.Errorf("live call %s %q: %w", op, key, g.err)
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Close writes the pending changes and a last heartbeat, which marks a
// clean stop when no call is up, and releases the directory. Later Ups and
// Downs fail with ErrClosed. Close is idempotent.
func (l *Live) Close() error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.closing)
	select {
	case l.kick <- struct{}{}:
	default:
	}
	<-l.done
	l.mu.Lock()
	up := len(l.calls)
	l.mu.Unlock()
	clean := up == 0 && l.broken == nil
	err := l.beat(clean)
	l.hbMu.Lock()
	if cerr := l.hb.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing live heartbeat: %w", cerr)
	}
	l.hb = nil
	l.hbMu.Unlock()
	if cerr := l.file.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing live log: %w", cerr)
	}
	if cerr := l.lock.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("closing live lock: %w", cerr)
	}
	l.log.Info("live register closed", "calls_up", up, "clean_stop", clean)
	return err
}

// liveTime converts unix milliseconds to a time; 0 is the zero time.
func liveTime(ms int64) time.Time {
	if ms == 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
