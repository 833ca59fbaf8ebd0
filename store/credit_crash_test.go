package store_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// crashDirEnv names the data directory a child of TestCreditCrash writes
// to; crashRoundEnv tells its keys apart from other rounds'.
const (
	crashDirEnv   = "TRUNKLINE_CREDIT_CRASH_DIR"
	crashRoundEnv = "TRUNKLINE_CREDIT_CRASH_ROUND"
)

// TestCreditCrash kills a process that is posting (SIGKILL, no chance to
// close anything) and checks that every Post it had acknowledged is in the
// ledger exactly once, that the ledger has no gap, and that repeating every
// acknowledged Post adds nothing. It runs three rounds on the same data.
func TestCreditCrash(t *testing.T) {
	if dir := os.Getenv(crashDirEnv); dir != "" {
		crashWriter(t, dir, os.Getenv(crashRoundEnv))
		return
	}
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	acked := map[string]int64{} // key → total, over all rounds
	for round := range 3 {
		n := crashRound(t, dir, round, acked)
		t.Logf("round %d: %d posts acknowledged before the kill", round, n)
		checkAfterCrash(t, dir, acked)
	}
}

// crashRound runs one writer child, kills it after 200 acknowledged Posts
// (or 3 s), and adds what it acknowledged to acked.
func crashRound(t *testing.T, dir string, round int, acked map[string]int64) int {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCreditCrash$")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir, crashRoundEnv+"="+strconv.Itoa(round))
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(3*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	n := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() { // lines written before the kill are still read after it
		key, amount, ok := strings.Cut(sc.Text(), " ")
		if !strings.HasPrefix(key, "call/") || !ok {
			continue // the test framework's own output
		}
		total, err := strconv.ParseInt(amount, 10, 64)
		if err != nil {
			t.Fatalf("child printed %q", sc.Text())
		}
		acked[key] = total
		if n++; n == 200 {
			cmd.Process.Kill() // SIGKILL
		}
	}
	err = cmd.Wait()
	if n == 0 {
		t.Fatalf("the writer acknowledged nothing (exit: %v)", err)
	}
	if err == nil {
		t.Fatal("the writer exited by itself before it was killed")
	}
	return n
}

// crashWriter is the child: 8 goroutines post distinct keys to one account
// and print each key and total once Post has returned, until killed.
func crashWriter(t *testing.T, dir, round string) {
	e, err := store.OpenEmbedded(dir, store.WithCreditCommitDelay(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	c := e.Credit()
	var mu sync.Mutex
	w := bufio.NewWriter(os.Stdout)
	var wg sync.WaitGroup
	deadline := time.Now().Add(10 * time.Second) // never runs forever
	for g := range 8 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				key := fmt.Sprintf("call/%s/%d/%d", round, g, i)
				amount := -int64(g*1000 + i + 1)
				if _, err := c.Post(t.Context(), "acct", "", store.Entry{Kind: "charge", Key: key, Amount: amount}); err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				fmt.Fprintf(w, "%s %d\n", key, amount)
				w.Flush() // one write per line, after the Post returned
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

// checkAfterCrash opens the killed writer's data and checks its ledger
// against what it acknowledged.
func checkAfterCrash(t *testing.T, dir string, acked map[string]int64) {
	t.Helper()
	e, err := store.OpenEmbedded(dir, store.WithCreditCommitDelay(2*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close()
	c := e.Credit()
	ctx := t.Context()
	es, err := c.Entries(ctx, "acct", 0, 0)
	if err != nil {
		t.Fatal(err)
	}
	var bal int64
	seen := map[string]int{}
	for i, en := range es {
		if en.Seq != uint64(i+1) {
			t.Fatalf("entry %d has seq %d", i+1, en.Seq)
		}
		if bal += en.Amount; en.Balance != bal {
			t.Fatalf("entry %d has balance %d, want %d", en.Seq, en.Balance, bal)
		}
		if seen[en.Key]++; seen[en.Key] > 1 {
			t.Errorf("key %s posted twice", en.Key)
		}
	}
	if a, err := c.Account(ctx, "acct"); err != nil || a.Balance != bal || a.Entries != uint64(len(es)) {
		t.Errorf("Account = %+v, %v; entries: %d summing to %d", a, err, len(es), bal)
	}
	for key, total := range acked {
		if seen[key] != 1 {
			t.Errorf("acknowledged key %s is in %d entries", key, seen[key])
		}
		got, ok, err := c.Posted(ctx, "acct", key)
		if got != total || !ok || err != nil {
			t.Errorf("Posted(%s) = %d, %v, %v; acknowledged %d", key, got, ok, err, total)
		}
		en, err := c.Post(ctx, "acct", "", store.Entry{Kind: "charge", Key: key, Amount: total})
		if err != nil || en.Seq != 0 {
			t.Errorf("repeating acknowledged Post %s = %+v, %v; want no entry", key, en, err)
		}
	}
}
