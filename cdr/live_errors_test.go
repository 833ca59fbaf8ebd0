package cdr

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestLiveErrors(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir)
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		key  string
		data []byte
		want error
	}{
		{"empty key", "", nil, ErrBadLiveKey},
		{"long key", strings.Repeat("k", MaxLiveKeySize+1), nil, ErrBadLiveKey},
		{"longest key", strings.Repeat("k", MaxLiveKeySize), nil, nil},
		{"too much data", "a", make([]byte, MaxLiveDataSize+1), ErrLiveDataTooLarge},
		{"most data", "b", make([]byte, MaxLiveDataSize), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := l.Up(ctx, tc.key, tc.data); !errors.Is(err, tc.want) || (err == nil) != (tc.want == nil) {
				t.Fatalf("Up: %v, want %v", err, tc.want)
			}
		})
	}
	t.Run("locked", func(t *testing.T) {
		if _, err := OpenLive(dir); !errors.Is(err, ErrLocked) {
			t.Fatalf("second OpenLive: %v, want ErrLocked", err)
		}
	})
	t.Run("not a live log", func(t *testing.T) {
		other := t.TempDir()
		os.WriteFile(filepath.Join(other, liveLogName), []byte("something else entirely"), 0o640)
		if _, err := OpenLive(other); !errors.Is(err, ErrBadLiveLog) {
			t.Fatalf("OpenLive: %v, want ErrBadLiveLog", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := l.Up(cctx, "c", nil); !errors.Is(err, context.Canceled) {
			t.Fatalf("Up: %v", err)
		}
	})
}

// After a failed write the register rewrites its log from memory before
// the next append: the calls it holds, including those whose Up or Down
// failed, are what a restart finds.
func TestLiveHealsAfterWriteError(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir)
	mustUp(t, l, "a", "x")
	l.file.Close() // the flusher is idle: its next write fails
	if err := l.Up(context.Background(), "b", liveData("b")); err == nil {
		t.Fatal("Up on a closed log file succeeded")
	}
	if n := testutil.ToFloat64(l.m.writeErrors.WithLabelValues("log")); n != 1 {
		t.Fatalf("%v log write errors, want 1", n)
	}
	mustUp(t, l, "c")
	checkRecovered(t, openTestLive(t, crashCopy(t, dir)), "a", "b", "c", "x")

	l.file.Close()
	if err := l.Down(context.Background(), "x"); err == nil {
		t.Fatal("Down on a closed log file succeeded")
	}
	mustDown(t, l, "a", "b", "c")
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	if calls, lastAlive := openTestLive(t, dir).Recovered(); len(calls) != 0 || !lastAlive.IsZero() {
		t.Fatalf("after a clean stop: %d calls, last alive %v", len(calls), lastAlive)
	}
}
