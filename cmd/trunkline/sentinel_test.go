package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
	"github.com/redis/go-redis/v9"
	"github.com/trunkline/trunkline/rating"
	"github.com/trunkline/trunkline/sip/siptest"
)

// A node on Redis through Sentinel (a primary, its replica, one sentinel):
// the primary fails over to the replica while calls are up; calls keep
// flowing (new ones are taken within seconds), and every call is charged
// once: the ledger ends at the payment less every CDR.
func TestSentinelFailover(t *testing.T) {
	if testing.Short() {
		t.Skip("runs redis-servers")
	}
	t.Parallel()
	primary := startRedis(t)
	replica := startRedis(t, "--replicaof", "127.0.0.1", strconv.Itoa(primary.port))
	rep := redis.NewClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(replica.port)})
	t.Cleanup(func() { rep.Close() })
	waitUntil(t, 10*time.Second, "the replica to follow the primary", func() bool {
		info, _ := rep.Info(context.Background(), "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	sentinel := startSentinel(t, primary.port)
	sen := redis.NewSentinelClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(sentinel)})
	t.Cleanup(func() { sen.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	waitUntil(t, 15*time.Second, "the sentinel to know the replica", func() bool {
		rs, err := sen.Replicas(ctx, "trunkline").Result()
		return err == nil && len(rs) == 1
	})

	url := fmt.Sprintf("redis://127.0.0.1:%d/0?master_name=trunkline", sentinel)
	sw := startSwitchYAML(t, fmt.Sprintf("store: %q\ncredit:\n  block_seconds: 300\n", url))
	carrier := siptest.NewCarrier(t, "127.0.0.1", func(*sip.Request) siptest.Script { return siptest.Script{} })
	customer := provisionMoneyTo(t, sw.api, carrier, "0.6", map[string]any{"credit_limit": "0"})
	pay(sw.api, customer, "20.00")
	ua := siptest.NewCustomer(t, "127.0.0.2")
	var calls []*siptest.Call
	for range 3 {
		c, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
		if err != nil {
			t.Fatal(err)
		}
		calls = append(calls, c)
	}

	if err := sen.Failover(ctx, "trunkline").Err(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 20*time.Second, "the replica to become the primary", func() bool {
		addr, err := sen.GetMasterAddrByName(ctx, "trunkline").Result()
		return err == nil && addr[1] == strconv.Itoa(replica.port)
	})
	// New calls are taken again within seconds.
	deadline := time.Now().Add(15 * time.Second)
	for {
		c, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
		if err == nil {
			calls = append(calls, c)
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no call taken 15 s after the failover: %v", err)
		}
		time.Sleep(250 * time.Millisecond)
	}
	for _, c := range calls {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	var want rating.Money
	var answered int
	waitUntil(t, 40*time.Second, "every call to be charged", func() bool {
		answered, want = answeredCDRs(sw.api, customer)
		st := money(t, sw.api, customer)
		return answered == len(calls) && len(st.Entries) == 1+answered && st.Reserved == 0
	})
	if st := money(t, sw.api, customer); st.Balance != mustMoney(t, "20.00")-want || want <= 0 {
		t.Fatalf("balance %s, want 20.00 less the CDRs' %s", st.Balance, want)
	}
}

// startSentinel runs a sentinel watching the primary at port as
// "trunkline", deciding alone (quorum 1), and returns its port.
func startSentinel(t *testing.T, primary int) int {
	t.Helper()
	port, dir := freePort(t), t.TempDir()
	conf := filepath.Join(dir, "sentinel.conf")
	body := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor trunkline 127.0.0.1 %d 1\n"+
		"sentinel down-after-milliseconds trunkline 1000\nsentinel failover-timeout trunkline 5000\n",
		port, dir, filepath.Join(dir, "sentinel.log"), primary)
	if err := os.WriteFile(conf, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("redis-server", conf, "--sentinel")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() { _ = cmd.Process.Kill(); <-done })
	sen := redis.NewSentinelClient(&redis.Options{Addr: "127.0.0.1:" + strconv.Itoa(port)})
	defer sen.Close()
	waitUntil(t, 10*time.Second, "the sentinel", func() bool { return sen.Ping(context.Background()).Err() == nil })
	return port
}
