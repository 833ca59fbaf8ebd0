package cdr

import (
	"bytes"
	"maps"
	"testing"
)

// testLiveLog returns a log with ups, a replaced up and downs.
func testLiveLog() []byte {
	b := append([]byte(nil), liveLogMagic[:]...)
	b = appendLiveUp(b, "a", liveEntry{data: []byte("data a"), upMs: 1000})
	b = appendLiveUp(b, "b", liveEntry{upMs: 1001, aliveMs: 5000})
	b = appendLiveUp(b, "a", liveEntry{data: []byte("new a"), upMs: 1002})
	b = appendLiveDown(b, "b", 1003)
	b = appendLiveDown(b, "zz", 1004)
	return appendLiveUp(b, "c", liveEntry{data: []byte{0, 1, 2}, upMs: 1005})
}

func TestLiveReplay(t *testing.T) {
	log := testLiveLog()
	r, err := replayLive(log)
	if err != nil || r.torn != nil || r.good != len(log) {
		t.Fatalf("replay: %v, torn %v, good %d of %d", err, r.torn, r.good, len(log))
	}
	want := map[string]liveEntry{
		"a": {data: []byte("new a"), upMs: 1002},
		"c": {data: []byte{0, 1, 2}, upMs: 1005},
	}
	if !maps.EqualFunc(r.calls, want, equalLiveEntry) || r.maxMs != 5000 {
		t.Fatalf("replayed %+v max %d, want %+v max 5000", r.calls, r.maxMs, want)
	}
	if r.bytes != liveUpSize("a", want["a"].data)+liveUpSize("c", want["c"].data) {
		t.Fatalf("live bytes %d", r.bytes)
	}
}

func equalLiveEntry(a, b liveEntry) bool {
	return bytes.Equal(a.data, b.data) && a.upMs == b.upMs && a.aliveMs == b.aliveMs
}

// FuzzLiveReplay checks that no log bytes panic the replay, that the calls
// it yields respect the limits, that the good prefix replays to the same
// calls without a torn tail, and that the calls written back as a log
// replay to themselves.
func FuzzLiveReplay(f *testing.F) {
	log := testLiveLog()
	f.Add(log)
	f.Add(log[:len(log)-3])
	f.Add(liveLogMagic[:5])
	f.Add([]byte("not a live log at all"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := replayLive(b)
		if err != nil {
			return
		}
		if r.good > len(b) || (r.torn == nil) != (r.good == len(b)) {
			t.Fatalf("good %d of %d, torn %v", r.good, len(b), r.torn)
		}
		var size int64
		for k, e := range r.calls {
			if k == "" || len(k) > MaxLiveKeySize || len(e.data) > MaxLiveDataSize {
				t.Fatalf("call %q with %d bytes", k, len(e.data))
			}
			size += liveUpSize(k, e.data)
		}
		if size != r.bytes {
			t.Fatalf("live bytes %d, calls take %d", r.bytes, size)
		}
		again, err := replayLive(b[:r.good])
		if err != nil || again.torn != nil || !maps.EqualFunc(again.calls, r.calls, equalLiveEntry) {
			t.Fatalf("good prefix replays to %v, %v", again, err)
		}
		again, err = replayLive(encodeLiveLog(r.calls, r.bytes))
		if err != nil || again.torn != nil || !maps.EqualFunc(again.calls, r.calls, equalLiveEntry) {
			t.Fatalf("rewritten log replays to %v, %v", again, err)
		}
	})
}

// FuzzLiveHeartbeat checks that no heartbeat file bytes panic its reader and
// that a slot it accepts encodes back to the same bytes.
func FuzzLiveHeartbeat(f *testing.F) {
	f.Add(encodeHeartbeat(liveHeartbeat{seq: 3, ms: 1_700_000_000_000, clean: true}))
	f.Add(make([]byte, liveHBSize))
	f.Fuzz(func(t *testing.T, b []byte) {
		readHeartbeat(b)
		h, ok := decodeHeartbeat(b)
		if !ok {
			return
		}
		enc := encodeHeartbeat(h)
		if !bytes.Equal(enc[:24], b[:24]) || (enc[24]&liveHBClean != 0) != h.clean {
			t.Fatalf("%+v encodes to %x, read from %x", h, enc, b[:liveHBSlot])
		}
	})
}
