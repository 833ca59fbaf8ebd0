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

// Three nodes on one Redis answer on a topic: a question from one gets the
// other two's answers (never its own), a node that does not answer in time
// is counted missing, and a node that stopped listening is not waited for.
func TestRedisBus(t *testing.T) {
	rdb := storetest.Redis(t)
	prefix := storetest.RedisPrefix(t, rdb)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	nodes := map[string]*store.Redis{}
	stops := map[string]context.CancelFunc{}
	slow := make(chan struct{})
	defer close(slow)
	for _, id := range []string{"a", "b", "c"} {
		r := store.NewRedis(rdb, prefix)
		nodes[id] = r
		nctx, stop := context.WithCancel(ctx)
		stops[id] = stop
		err := r.Answer(nctx, "t", id, func(actx context.Context, q []byte) []byte {
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
	ask := func(from, q string, wait time.Duration) ([]string, int) {
		t.Helper()
		actx, cancel := context.WithTimeout(ctx, wait)
		defer cancel()
		got, missing, err := nodes[from].Ask(actx, "t", from, []byte(q), 2)
		if err != nil {
			t.Fatalf("%s asks %q: %v", from, q, err)
		}
		var out []string
		for _, a := range got {
			out = append(out, string(a))
		}
		slices.Sort(out)
		return out, missing
	}
	start := time.Now()
	if got, missing := ask("a", "hello\nwith a line", 2*time.Second); strings.Join(got, ",") != "b:hello\nwith a line,c:hello\nwith a line" || missing != 0 {
		t.Fatalf("answers %q, %d missing", got, missing)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("answers took %v: the asker did not stop when all had answered", d)
	}
	if got, missing := ask("b", "slow", 300*time.Millisecond); strings.Join(got, ",") != "a:slow" || missing != 1 {
		t.Fatalf("with c slow: answers %q, %d missing", got, missing)
	}
	stops["c"]()
	time.Sleep(100 * time.Millisecond) // the unsubscribe reaches the server
	if got, missing := ask("a", "again", 2*time.Second); strings.Join(got, ",") != "b:again" || missing != 0 {
		t.Fatalf("with c gone: answers %q, %d missing", got, missing)
	}
	// A node that does not listen itself is not subtracted from the count.
	lone := store.NewRedis(rdb, prefix)
	actx, cancel2 := context.WithTimeout(ctx, 2*time.Second)
	defer cancel2()
	got, missing, err := lone.Ask(actx, "t", "d", []byte("x"), 2)
	if err != nil || len(got) != 2 || missing != 0 {
		t.Fatalf("a node not listening: %q, %d missing, %v", got, missing, err)
	}
}
