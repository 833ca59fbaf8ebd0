package cdr

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// OpenLive opens the register in dir, creating dir when missing. It replays
// the log (a torn tail is dropped, kept aside as live.log.torn and logged),
// rewrites it to hold only the calls that are up, stamps those left by a
// process that did not stop cleanly with that process's last sign of life
// (see Recovered), and writes a first heartbeat.
func OpenLive(dir string, opts ...LiveOption) (*Live, error) {
	cfg := liveConfig{heartbeat: DefaultLiveHeartbeat, compactSize: DefaultLiveCompactSize}
	for _, o := range opts {
		o.applyLive(&cfg)
	}
	if cfg.logger == nil {
		cfg.logger = discardLogger()
	}
	if cfg.heartbeat <= 0 {
		cfg.heartbeat = DefaultLiveHeartbeat
	}
	if cfg.compactSize <= 0 {
		cfg.compactSize = DefaultLiveCompactSize
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("opening live register: %w", err)
	}
	l := &Live{
		dir:           dir,
		cfg:           cfg,
		log:           cfg.logger.With("subsystem", "live"),
		m:             newLiveMetrics(cfg.registerer),
		group:         newGroup(),
		kick:          make(chan struct{}, 1),
		done:          make(chan struct{}),
		closing:       make(chan struct{}),
		nextCompactAt: cfg.compactSize,
	}
	if err := l.open(); err != nil {
		l.release()
		return nil, fmt.Errorf("opening live register %q: %w", dir, err)
	}
	go l.run()
	return l, nil
}

func (l *Live) open() error {
	lock, err := os.OpenFile(filepath.Join(l.dir, "live.lock"), os.O_RDWR|os.O_CREATE, 0o640)
	if err != nil {
		return err
	}
	l.lock = lock
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return ErrLocked
		}
		return fmt.Errorf("locking: %w", err)
	}
	hb, err := l.openHeartbeat()
	if err != nil {
		return err
	}
	r, err := l.replay()
	if err != nil {
		return err
	}
	alive := max(hb.ms, r.maxMs)
	if !hb.clean || len(r.calls) > 0 {
		l.prevAlive = liveTime(alive)
	}
	// Every call in the log was put up by an earlier process. Those without
	// an end yet get the previous process's.
	for k, e := range r.calls {
		if e.aliveMs == 0 {
			e.aliveMs = max(alive, e.upMs, 1)
			r.calls[k] = e
		}
	}
	l.calls, l.liveBytes = r.calls, r.bytes
	f, err := writeLiveTmp(l.dir, encodeLiveLog(l.calls, l.liveBytes))
	if err != nil {
		return err
	}
	if err := l.install(f, liveHeaderSize+l.liveBytes); err != nil {
		return err
	}
	l.m.calls.Set(float64(len(l.calls)))
	l.hbSeq = hb.seq
	if err := l.beat(false); err != nil {
		return err
	}
	l.log.Info("live register open", "dir", l.dir, "recovered_calls", len(l.calls),
		"clean_stop", hb.clean && len(r.calls) == 0, "last_alive", l.prevAlive)
	return nil
}

// replay reads the log and drops a torn tail, keeping it aside.
func (l *Live) replay() (*liveReplay, error) {
	path := filepath.Join(l.dir, liveLogName)
	b, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("reading live log: %w", err)
	}
	r, err := replayLive(b)
	if err != nil {
		return nil, fmt.Errorf("%q: %w", path, err)
	}
	if r.torn != nil {
		torn := b[r.good:]
		tornPath := filepath.Join(l.dir, liveTornName)
		if err := os.WriteFile(tornPath, torn, 0o640); err != nil {
			l.log.Error("cannot keep torn live log tail", "file", tornPath, "err", err)
		}
		l.m.tornBytes.Add(float64(len(torn)))
		l.log.Warn("live log tail was torn, dropped", "offset", r.good, "bytes", len(torn),
			"reason", r.torn, "kept_as", tornPath)
	}
	return r, nil
}

// release closes the files OpenLive opened; the lock goes with its file.
func (l *Live) release() {
	if l.file != nil {
		l.file.Close()
	}
	if l.hb != nil {
		l.hb.Close()
	}
	if l.lock != nil {
		l.lock.Close()
	}
}
