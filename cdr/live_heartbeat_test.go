package cdr

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func readTestHeartbeat(t testing.TB, dir string) liveHeartbeat {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, liveHBName))
	if err != nil {
		t.Fatal(err)
	}
	return readHeartbeat(b)
}

// runHeartbeat runs l until the heartbeat in dir has advanced by at least
// d past its time at the start, stops it and returns the last heartbeat time.
func runHeartbeat(t testing.TB, l *Live, dir string, d time.Duration) time.Time {
	t.Helper()
	from := readTestHeartbeat(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	stopped := make(chan struct{})
	go func() { l.Run(ctx); close(stopped) }()
	deadline := time.Now().Add(5 * time.Second)
	h := from
	for h.ms < from.ms+d.Milliseconds() {
		if time.Now().After(deadline) {
			t.Fatalf("heartbeat went from %d to %d in 5 s", from.ms, h.ms)
		}
		time.Sleep(5 * time.Millisecond)
		h = readTestHeartbeat(t, dir)
	}
	cancel()
	<-stopped
	if h.seq <= from.seq || h.clean {
		t.Fatalf("heartbeat %+v after %+v", h, from)
	}
	return time.UnixMilli(readTestHeartbeat(t, dir).ms)
}

func TestLiveHeartbeat(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir, WithLiveHeartbeat(20*time.Millisecond))
	mustUp(t, l, "a")
	beat := runHeartbeat(t, l, dir, 100*time.Millisecond)
	l2 := openTestLive(t, crashCopy(t, dir))
	if lastAlive := checkRecovered(t, l2, "a"); !lastAlive.Equal(beat) {
		t.Fatalf("last alive %v, want the last heartbeat %v", lastAlive, beat)
	}
	calls, _ := l2.Recovered()
	if !calls[0].LastAlive.Equal(beat) || !beat.After(calls[0].UpAt.Add(90*time.Millisecond)) {
		t.Fatalf("call up at %v, last alive %v; last heartbeat %v", calls[0].UpAt, calls[0].LastAlive, beat)
	}
}

// With no heartbeat since the call went up, the call's own time bounds the
// register's last sign of life from below.
func TestLiveLastAliveNotBeforeUp(t *testing.T) {
	dir := t.TempDir()
	l := openTestLive(t, dir, WithLiveHeartbeat(time.Hour))
	time.Sleep(30 * time.Millisecond)
	mustUp(t, l, "a")
	l2 := openTestLive(t, crashCopy(t, dir))
	calls, lastAlive := l2.Recovered()
	hb := time.UnixMilli(readTestHeartbeat(t, dir).ms)
	if len(calls) != 1 || lastAlive.Before(calls[0].UpAt) || !calls[0].UpAt.After(hb) {
		t.Fatalf("calls %+v, last alive %v, heartbeat %v", calls, lastAlive, hb)
	}
}

// A call left over from a crash keeps the end of the process that carried
// it when the next process crashes too, while the next process's own calls
// end at its last heartbeat.
func TestLiveRecoveredKeepsItsEnd(t *testing.T) {
	dirA := t.TempDir()
	a := openTestLive(t, dirA, WithLiveHeartbeat(10*time.Millisecond))
	mustUp(t, a, "x")
	endA := runHeartbeat(t, a, dirA, 30*time.Millisecond)

	dirB := crashCopy(t, dirA)
	b := openTestLive(t, dirB, WithLiveHeartbeat(10*time.Millisecond))
	if got := checkRecovered(t, b, "x"); !got.Equal(endA) {
		t.Fatalf("first recovery: last alive %v, want %v", got, endA)
	}
	mustUp(t, b, "y")
	endB := runHeartbeat(t, b, dirB, 100*time.Millisecond)

	c := openTestLive(t, crashCopy(t, dirB))
	if got := checkRecovered(t, c, "x", "y"); !got.Equal(endB) {
		t.Fatalf("second recovery: last alive %v, want %v", got, endB)
	}
	calls, _ := c.Recovered()
	for _, call := range calls {
		want := map[string]time.Time{"x": endA, "y": endB}[call.Key]
		if !call.LastAlive.Equal(want) {
			t.Errorf("%s: last alive %v, want %v", call.Key, call.LastAlive, want)
		}
	}
}

func TestLiveHeartbeatSlots(t *testing.T) {
	b := make([]byte, liveHBSize)
	copy(b, encodeHeartbeat(liveHeartbeat{seq: 6, ms: 600}))
	copy(b[liveHBStride:], encodeHeartbeat(liveHeartbeat{seq: 7, ms: 700, clean: true}))
	torn := append([]byte(nil), b...)
	torn[liveHBStride+20] ^= 1
	for _, tc := range []struct {
		name string
		b    []byte
		want liveHeartbeat
	}{
		{"newest slot", b, liveHeartbeat{seq: 7, ms: 700, clean: true}},
		{"torn newest slot", torn, liveHeartbeat{seq: 6, ms: 600}},
		{"short file", b[:liveHBSlot], liveHeartbeat{seq: 6, ms: 600}},
		{"empty file", nil, liveHeartbeat{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := readHeartbeat(tc.b); got != tc.want {
				t.Fatalf("readHeartbeat: %+v, want %+v", got, tc.want)
			}
		})
	}
}
