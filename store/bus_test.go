package store_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// Three nodes on one Redis, on the client OpenRedis makes (its read
// timeouts), answer on a topic: a question gets the answers of the peers
// named (never the asker's own, nor a stranger's), a peer that does not
// answer in time or does not listen is named missing, and a subscriber
// that is no node (a monitoring tool) changes nothing.
func TestRedisBus(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.RedisPrefix(t, rdb)
	url := "redis://" + storetest.RedisAddr(t) + "/0"
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodes := map[string]*store.Redis{}
	stops := map[string]context.CancelFunc{}
	slow := make(chan struct{})
	defer close(slow)
	for _, id := range []string{"a", "b", "c", "stranger"} {
		r, err := store.OpenRedis(ctx, url, prefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		nodes[id] = r
		nctx, stop := context.WithCancel(ctx)
		stops[id] = stop
		err = r.Answer(nctx, "t", id, func(actx context.Context, q []byte) []byte {
			if id == "c" && string(q) == "slow" {
				select {
				case <-slow:
				case <-actx.Done():
				}
			}
			return []byte(id + ":" + string(q))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	watcher := rdb.PSubscribe(ctx, prefix+"*")
	defer watcher.Close()
	if _, err := watcher.Receive(ctx); err != nil {
		t.Fatal(err)
	}
	ask := func(from, q string, wait time.Duration, peers ...string) (string, string) {
		t.Helper()
		actx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		got, missing, err := nodes[from].Ask(actx, "t", from, []byte(q), peers)
		if err != nil {
			t.Fatalf("%s asks %q: %v", from, q, err)
		}
		var out []string
		for node, a := range got {
			if !strings.HasPrefix(string(a), node+":") {
				t.Errorf("answer %q filed under %s", a, node)
			}
			out = append(out, string(a))
		}
		slices.Sort(out)
		return strings.Join(out, ","), strings.Join(missing, ",")
	}
	start := time.Now()
	if got, missing := ask("a", "hello\nwith a line", 2*time.Second, "a", "b", "c"); got != "b:hello\nwith a line,c:hello\nwith a line" || missing != "" {
		t.Fatalf("answers %q, missing %q", got, missing)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("answers took %v: the asker did not stop when all had answered", d)
	}
	// c answers only after the asker gave up; d is live but not listening.
	for range 3 { // a read that waits on the client's timeouts would fail here
		if got, missing := ask("b", "slow", 600*time.Millisecond, "a", "b", "c", "d"); got != "a:slow" || missing != "c,d" {
			t.Fatalf("with c slow and d deaf: answers %q, missing %q", got, missing)
		}
	}
	stops["c"]()
	if got, missing := ask("a", "again", 2*time.Second, "a", "b"); got != "b:again" || missing != "" {
		t.Fatalf("c gone, not a peer: answers %q, missing %q", got, missing)
	}
	if got, missing := ask("a", "alone", time.Second, "a"); got != "" || missing != "" {
		t.Fatalf("no peers: answers %q, missing %q", got, missing)
	}
}
