package cdr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
)

func openTestLive(t testing.TB, dir string, opts ...LiveOption) *Live {
	t.Helper()
	l, err := OpenLive(dir, opts...)
	if err != nil {
		t.Fatalf("OpenLive: %v", err)
	}
	t.Cleanup(func() { l.Close() })
	return l
}

// crashCopy copies the register's files in dir to a new directory, as a
// process killed at this moment leaves them (every acknowledged change has
// been written), and returns that directory.
func crashCopy(t testing.TB, dir string) string {
	t.Helper()
	dst := t.TempDir()
	for _, name := range []string{liveLogName, liveHBName} {
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, name), b, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func liveData(key string) []byte { return []byte("data of " + key) }

func mustUp(t testing.TB, l *Live, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := l.Up(context.Background(), k, liveData(k)); err != nil {
			t.Fatalf("Up %s: %v", k, err)
		}
	}
}

func mustDown(t testing.TB, l *Live, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if err := l.Down(context.Background(), k); err != nil {
			t.Fatalf("Down %s: %v", k, err)
		}
	}
}

// checkRecovered checks that Recovered returns exactly keys, each with
// liveData, and with times that are consistent, and returns lastAlive.
func checkRecovered(t testing.TB, l *Live, keys ...string) time.Time {
	t.Helper()
	calls, lastAlive := l.Recovered()
	var got []string
	for _, c := range calls {
		got = append(got, c.Key)
		if !bytes.Equal(c.Data, liveData(c.Key)) {
			t.Errorf("%s: data %q", c.Key, c.Data)
		}
		if c.UpAt.IsZero() || c.LastAlive.Before(c.UpAt) || c.LastAlive.After(lastAlive) {
			t.Errorf("%s: up at %v, last alive %v, register's last alive %v", c.Key, c.UpAt, c.LastAlive, lastAlive)
		}
	}
	slices.Sort(got)
	keys = slices.Sorted(slices.Values(keys))
	if !slices.Equal(got, keys) {
		t.Fatalf("Recovered keys %v, want %v", got, keys)
	}
	if len(keys) > 0 && lastAlive.IsZero() {
		t.Fatalf("Recovered %d calls with a zero lastAlive", len(keys))
	}
	return lastAlive
}

func TestLiveRecoveredAfterReopen(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir)
	checkRecovered(t, l)
	mustUp(t, l, "a", "b", "c", "d")
	mustDown(t, l, "b", "unknown", "d")
	if err := l.Up(context.Background(), "a", []byte("replaced")); err != nil {
		t.Fatal(err)
	}
	mustUp(t, l, "a") // and back

	t.Run("after a crash", func(t *testing.T) {
		l2 := openTestLive(t, crashCopy(t, dir))
		checkRecovered(t, l2, "a", "c")
	})
	t.Run("after Close with calls up", func(t *testing.T) {
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l2 := openTestLive(t, dir)
		checkRecovered(t, l2, "a", "c")
		mustDown(t, l2, "a")
		checkRecovered(t, l2, "c")
		mustUp(t, l2, "e") // a call of this process is not a recovered one
		checkRecovered(t, l2, "c")
		mustDown(t, l2, "c", "e")
		if err := l2.Close(); err != nil {
			t.Fatal(err)
		}
		l3 := openTestLive(t, dir)
		if calls, lastAlive := l3.Recovered(); len(calls) != 0 || !lastAlive.IsZero() {
			t.Fatalf("after a clean stop: %d calls, last alive %v", len(calls), lastAlive)
		}
	})
}

func TestLiveClose(t *testing.T) {
	for _, tc := range []struct {
		name  string
		up    []string
		clean bool
	}{
		{"nothing up", nil, true},
		{"one call up", []string{"x"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTestLive(t, dir)
			mustUp(t, l, "x", "y")
			mustDown(t, l, "x", "y")
			mustUp(t, l, tc.up...)
			before := time.Now().Truncate(time.Millisecond)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			if err := l.Close(); err != nil {
				t.Fatalf("second Close: %v", err)
			}
			if err := l.Up(context.Background(), "z", nil); !errors.Is(err, ErrClosed) {
				t.Fatalf("Up after Close: %v", err)
			}
			if err := l.Down(context.Background(), "x"); !errors.Is(err, ErrClosed) {
				t.Fatalf("Down after Close: %v", err)
			}
			lastAlive := checkRecovered(t, openTestLive(t, dir), tc.up...)
			if tc.clean != lastAlive.IsZero() || !tc.clean && lastAlive.Before(before) {
				t.Fatalf("last alive %v, closed at %v, clean stop %v", lastAlive, before, tc.clean)
			}
		})
	}
}

func TestLiveTornTail(t *testing.T) {
	keys := []string{"k0", "k1", "k2", "k3", "k4"}
	last := int(liveUpSize("k4", liveData("k4")))
	for _, tc := range []struct {
		name string
		torn int // bytes of the last frame left in the file, -1: flip its last byte
	}{
		{"cut in the payload", last - 3},
		{"cut in the header", 5},
		{"cut after the header", frameHeaderSize},
		{"bad checksum", -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			l := openTestLive(t, dir)
			mustUp(t, l, keys...)
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join(dir, liveLogName)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want := len(b) - last + tc.torn
			if tc.torn < 0 {
				b[len(b)-1] ^= 0xff
				want = len(b)
			}
			if err := os.WriteFile(path, b[:want], 0o640); err != nil {
				t.Fatal(err)
			}
			reg := prometheus.NewRegistry()
			l2 := openTestLive(t, dir, WithLiveRegisterer(reg))
			checkRecovered(t, l2, keys[:4]...)
			wantTorn := min(last, want-(len(b)-last))
			if got := testutil.ToFloat64(l2.m.tornBytes); got != float64(wantTorn) {
				t.Errorf("torn bytes metric %v, want %d", got, wantTorn)
			}
			if fi, err := os.Stat(filepath.Join(dir, liveTornName)); err != nil || fi.Size() != int64(wantTorn) {
				t.Errorf("kept torn tail: %v, %v; want %d bytes", fi, err, wantTorn)
			}
			// The rewritten log is whole: the next open finds no tail.
			l2.Close()
			l3 := openTestLive(t, dir, WithLiveRegisterer(prometheus.NewRegistry()))
			checkRecovered(t, l3, keys[:4]...)
			if got := testutil.ToFloat64(l3.m.tornBytes); got != 0 {
				t.Errorf("torn bytes after rewrite %v", got)
			}
		})
	}
}

func TestLiveCompaction(t *testing.T) {
	const compactSize = 4 << 10
	dir := t.TempDir()
	l := openTestLive(t, dir, WithLiveCompactSize(compactSize))
	var keys, up []string
	for i := range 300 {
		keys = append(keys, fmt.Sprintf("call-%03d", i))
	}
	mustUp(t, l, keys...)
	for i, k := range keys {
		if i%6 != 0 {
			mustDown(t, l, k)
		} else {
			up = append(up, k)
		}
	}
	if n := testutil.ToFloat64(l.m.compactions); n < 2 {
		t.Fatalf("%v compactions, want several", n)
	}
	fi, err := os.Stat(filepath.Join(dir, liveLogName))
	if err != nil {
		t.Fatal(err)
	}
	// Without compaction the log holds 550 frames (~25 KiB).
	if fi.Size() > 2*compactSize {
		t.Fatalf("log is %d bytes after compactions", fi.Size())
	}
	checkRecovered(t, openTestLive(t, crashCopy(t, dir)), up...)
	l.Close()
	checkRecovered(t, openTestLive(t, dir), up...)
}

// Many writers during background compactions: every group appended while a
// snapshot was being written must reach the compacted log.
func TestLiveConcurrentCompaction(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir, WithLiveCompactSize(2<<10))
	const writers, per = 16, 150
	errs := make(chan error, writers)
	for w := range writers {
		go func() {
			ctx := context.Background()
			for i := range per {
				k := fmt.Sprintf("w%02d-%03d", w, i)
				err := l.Up(ctx, k, liveData(k))
				if err == nil && i%5 != 0 {
					err = l.Down(ctx, k)
				}
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	var up []string
	for w := range writers {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
		for i := 0; i < per; i += 5 {
			up = append(up, fmt.Sprintf("w%02d-%03d", w, i))
		}
	}
	if n := testutil.ToFloat64(l.m.compactions); n < 2 {
		t.Fatalf("%v compactions, want several", n)
	}
	checkRecovered(t, openTestLive(t, crashCopy(t, dir)), up...)
}

// An Up of a call that is up (the switch re-records a call whose target
// changed) keeps the time it was first up: recovery looks for its CDR from
// there.
func TestLiveUpdateKeepsUpTime(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir)
	mustUp(t, l, "a")
	time.Sleep(20 * time.Millisecond)
	if err := l.UpAsync("a", []byte("refreshed")); err != nil {
		t.Fatal(err)
	}
	mustUp(t, l, "b") // a waited group after the update: both are durable
	calls, _ := openTestLive(t, crashCopy(t, dir)).Recovered()
	var a, b LiveCall
	for _, c := range calls {
		switch c.Key {
		case "a":
			a = c
		case "b":
			b = c
		}
	}
	if string(a.Data) != "refreshed" || !a.UpAt.Before(b.UpAt.Add(-10*time.Millisecond)) {
		t.Fatalf("a up at %v with %q, b up at %v", a.UpAt, a.Data, b.UpAt)
	}
}
