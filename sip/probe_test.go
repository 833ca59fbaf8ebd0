package sip

import (
	"context"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/trunkline/trunkline/routing"
)

// optionsPeer is a carrier endpoint that answers OPTIONS with code while
// code is not 0, and is silent otherwise.
type optionsPeer struct {
	c    *net.UDPConn
	code atomic.Int32
	got  chan string
}

func newOptionsPeer(t *testing.T, code int) *optionsPeer {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	p := &optionsPeer{c: c, got: make(chan string, 100)}
	p.code.Store(int32(code))
	go func() {
		b := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDP(b)
			if err != nil {
				return
			}
			m := string(b[:n])
			select {
			case p.got <- m:
			default:
			}
			if code := int(p.code.Load()); code != 0 && strings.HasPrefix(m, "OPTIONS ") {
				_, _ = c.WriteTo([]byte(resp(m, code, "Whatever", "p1", "")), from)
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return p
}

// waitState waits until key is in state want.
func waitState(t *testing.T, h *routing.Health, key, want string, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for h.Snapshot(key).State != want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: state %+v, want %s within %s", key, h.Snapshot(key), want, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProberMarksDownAndUp(t *testing.T) {
	t.Parallel()
	reg := prometheus.NewRegistry()
	s, err := New(rvAuth{}, rvRouter{}, &rvSink{}, withTimers(50*time.Millisecond, 300*time.Millisecond),
		WithLogger(slog.New(slog.DiscardHandler)), WithRegistry(reg))
	if err != nil {
		t.Fatal(err)
	}
	listen(t, s)
	alive, notFound, busy := newOptionsPeer(t, 200), newOptionsPeer(t, 404), newOptionsPeer(t, 503)
	targets := []routing.ProbeTarget{
		{Key: "a/" + alive.c.LocalAddr().String(), CarrierID: "a", Addr: alive.c.LocalAddr().String(), Transport: "udp"},
		{Key: "n/" + notFound.c.LocalAddr().String(), CarrierID: "n", Addr: notFound.c.LocalAddr().String(), Transport: "udp"},
		{Key: "b/" + busy.c.LocalAddr().String(), CarrierID: "b", Addr: busy.c.LocalAddr().String(), Transport: "udp"},
	}
	h := routing.NewHealth(routing.WithThresholds(2, 2))
	p := NewProber(s, func() []routing.ProbeTarget { return targets }, h,
		WithProbeInterval(100*time.Millisecond), WithProbeTimeout(80*time.Millisecond), WithProbeConcurrency(2))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); p.Run(ctx) }()
	t.Cleanup(func() { cancel(); wg.Wait() })

	m := <-alive.got
	for _, want := range []string{"OPTIONS sip:127.0.0.1:", "Max-Forwards: 70\r\n", "CSeq: 1 OPTIONS\r\n", "Via: SIP/2.0/UDP ", ";branch=z9hG4bK", "From: <sip:ping@"} {
		if !strings.Contains(m, want) {
			t.Errorf("probe lacks %q:\n%s", want, m)
		}
	}
	waitState(t, h, targets[0].Key, routing.StateUp, 2*time.Second)
	waitState(t, h, targets[1].Key, routing.StateUp, 2*time.Second) // any answer is alive
	waitState(t, h, targets[2].Key, routing.StateDown, 2*time.Second)

	alive.code.Store(0) // stops answering
	began := time.Now()
	waitState(t, h, targets[0].Key, routing.StateDown, 2*time.Second)
	// Two failed rounds: at most two intervals (and their jitter) plus a timeout.
	if d := time.Since(began); d > 2*110*time.Millisecond+80*time.Millisecond+150*time.Millisecond {
		t.Errorf("marked down after %s", d)
	}
	if snap := h.Snapshot(targets[0].Key); snap.LastResult != "timeout" || snap.Failures < 2 {
		t.Errorf("snapshot %+v", snap)
	}
	alive.code.Store(200)
	waitState(t, h, targets[0].Key, routing.StateUp, 2*time.Second)

	// Never faster than the interval: count the probes of a second.
	drain := func(ch chan string) {
		for {
			select {
			case <-ch:
			default:
				return
			}
		}
	}
	drain(notFound.got)
	time.Sleep(time.Second)
	if n := len(notFound.got); n > 11 || n < 7 {
		t.Errorf("%d probes in 1 s at a 100 ms interval", n)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	found := map[string]bool{}
	for _, mf := range mfs {
		found[mf.GetName()] = true
	}
	if !found["trunkline_carrier_probes_total"] || !found["trunkline_carrier_endpoints"] {
		t.Errorf("metrics missing: %v", found)
	}
}

// attemptRecorder is an AttemptSink that remembers.
type attemptRecorder struct {
	mu  sync.Mutex
	got []string
	pdd []time.Duration
}

func (r *attemptRecorder) Attempted(key string, o routing.AttemptOutcome) {
	r.mu.Lock()
	defer r.mu.Unlock()
	key += " " + strconv.Itoa(o.Code)
	if o.Rang {
		key += " rang"
	}
	r.got = append(r.got, key)
	r.pdd = append(r.pdd, o.PDD)
}

func TestAttemptSink(t *testing.T) {
	t.Parallel()
	rec := &attemptRecorder{}
	_, sw, cust, cars, _ := setup(t, 2, WithAttemptSink(rec))
	in := invite(cust, "q1", "z9hG4bKq1")
	cust.send(sw, in)
	inv, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE at the first carrier")
	}
	cars[0].send(sw, resp(inv, 503, "Service Unavailable", "c0", ""))
	inv, ok = cars[1].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE at the second carrier")
	}
	time.Sleep(20 * time.Millisecond)
	cars[1].send(sw, resp(inv, 180, "Ringing", "c1", ""))
	if _, ok := cust.next("SIP/2.0 180", 2*time.Second); !ok { // then the 200: see below
		t.Fatal("no 180 at the customer")
	}
	cars[1].send(sw, resp(inv, 200, "OK", "c1", cars[1].addr()))
	if _, ok := cust.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 at the customer")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	want := []string{"k0/" + cars[0].addr() + " 503", "k1/" + cars[1].addr() + " 200 rang"}
	if strings.Join(rec.got, ",") != strings.Join(want, ",") {
		t.Fatalf("attempts %v, want %v", rec.got, want)
	}
	if rec.pdd[0] != 0 || rec.pdd[1] < 20*time.Millisecond {
		t.Errorf("PDDs %v", rec.pdd)
	}
}

// The callee's outcomes reach the sink with their code and ringing, so the
// quality gate can tell them from the carrier's failures: busy after
// ringing, and the switch's own 408 when the ring timeout ends an attempt
// that rang.
func TestAttemptSinkCalleeOutcomes(t *testing.T) {
	t.Parallel()
	rec := &attemptRecorder{}
	_, sw, cust, cars, _ := setup(t, 1, WithAttemptSink(rec), WithTimeouts(time.Second, 200*time.Millisecond))
	cust.send(sw, invite(cust, "qb1", "z9hG4bKqb1"))
	inv, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	cars[0].send(sw, resp(inv, 180, "Ringing", "c0", ""))
	// The 486 only once the 180 is through: two readers may take two
	// datagrams sent back to back in either order (TestAttemptSink too).
	if _, ok := cust.next("SIP/2.0 180", 2*time.Second); !ok {
		t.Fatal("no 180 at the customer")
	}
	cars[0].send(sw, resp(inv, 486, "Busy Here", "c0", ""))
	if _, ok := cust.next("SIP/2.0 486", 2*time.Second); !ok {
		t.Fatal("no 486 at the customer")
	}
	cust.send(sw, invite(cust, "qb2", "z9hG4bKqb2"))
	inv, ok = cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no second INVITE at the carrier")
	}
	cars[0].send(sw, resp(inv, 180, "Ringing", "c0", ""))
	if _, ok := cust.next("SIP/2.0 408", 2*time.Second); !ok {
		t.Fatal("no 408 at the customer after the ring timeout")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	key := "k0/" + cars[0].addr()
	want := []string{key + " 486 rang", key + " 408 rang"}
	if strings.Join(rec.got, ",") != strings.Join(want, ",") {
		t.Fatalf("attempts %v, want %v", rec.got, want)
	}
	for i, o := range []routing.AttemptOutcome{{Code: 486, Rang: true}, {Code: 408, Rang: true}} {
		if o.CarrierFailed() {
			t.Errorf("attempt %d (%+v) counted against the carrier", i, o)
		}
	}
}
