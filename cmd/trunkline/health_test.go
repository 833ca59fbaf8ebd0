package main

import (
	"context"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
)

// endpointHealthOf is the health the API shows of a carrier's only
// endpoint.
func endpointHealthOf(t *testing.T, sw *testSwitch, carrier string) map[string]any {
	t.Helper()
	var out struct {
		Endpoints []struct {
			ID     string         `json:"id"`
			Health map[string]any `json:"health"`
		} `json:"endpoints"`
	}
	sw.api.do("GET", "/api/v1/carriers/"+carrier+"/endpoints", nil, 200, &out)
	if len(out.Endpoints) != 1 || out.Endpoints[0].Health == nil {
		t.Fatalf("endpoints: %+v", out)
	}
	return out.Endpoints[0].Health
}

func waitEndpointState(t *testing.T, sw *testSwitch, carrier, want string, within time.Duration) map[string]any {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		h := endpointHealthOf(t, sw, carrier)
		if h["state"] == want {
			return h
		}
		if time.Now().After(deadline) {
			t.Fatalf("carrier %s endpoint: health %v, want state %s within %s", carrier, h, want, within)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func invitesTo(p *rawPeer) int {
	n := 0
	for _, m := range p.all() {
		if strings.HasPrefix(m, "INVITE ") {
			n++
		}
	}
	return n
}

// A carrier endpoint that stops answering OPTIONS is skipped within
// probe_interval × down_after, without waiting for its INVITE to time out,
// and used again once it answers.
func TestCarrierHealthProbing(t *testing.T) {
	t.Parallel()
	const interval, timeout, downAfter = 200 * time.Millisecond, 100 * time.Millisecond, 2
	sw := startSwitchYAML(t, "health:\n  probe_interval: 200ms\n  probe_timeout: 100ms\n  down_after: 2\n  up_after: 2\n")
	var aSilent atomic.Bool
	answer := carrierAnswers(200, false, "")
	a := newRawPeer(t, "127.0.0.1", func(p *rawPeer, m string, from *net.UDPAddr) {
		if !aSilent.Load() {
			answer(p, m, from)
		}
	})
	b := newRawPeer(t, "127.0.0.1", answer)
	_, carrierA, carrierB := provision(t, sw, a, b)
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call := func(wantA, wantB int) time.Duration {
		t.Helper()
		began := time.Now()
		c, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
		if err != nil {
			t.Fatal(err)
		}
		took := time.Since(began)
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if invitesTo(a) != wantA || invitesTo(b) != wantB {
			t.Fatalf("INVITEs: A %d, B %d; want %d, %d", invitesTo(a), invitesTo(b), wantA, wantB)
		}
		return took
	}

	h := waitEndpointState(t, sw, carrierA, "up", 3*time.Second)
	if h["last_result"] != "200" || h["last_probe_ms"] == nil || h["failures"] != 0.0 {
		t.Errorf("A healthy: %v", h)
	}
	waitEndpointState(t, sw, carrierB, "up", 3*time.Second)
	call(1, 0) // A, the cheaper

	aSilent.Store(true)
	began := time.Now()
	h = waitEndpointState(t, sw, carrierA, "down", 3*time.Second)
	if d, most := time.Since(began), downAfter*(interval+interval/10)+timeout+300*time.Millisecond; d > most {
		t.Errorf("A marked down after %s, want within %s", d, most)
	}
	if h["last_result"] != "timeout" {
		t.Errorf("A down: %v", h)
	}
	if took := call(1, 1); took > time.Second { // the invite timeout is 2 s
		t.Errorf("call over B took %s: A was tried", took)
	}

	aSilent.Store(false)
	waitEndpointState(t, sw, carrierA, "up", 3*time.Second)
	call(2, 1)
	if h := endpointHealthOf(t, sw, carrierB); h["state"] != "up" {
		t.Errorf("B: %v", h)
	}
}
