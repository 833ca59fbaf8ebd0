package routing

import (
	"sync"
	"testing"
	"time"
)

func TestHealthProbeStates(t *testing.T) {
	type step struct {
		alive bool
		want  string
	}
	ok, fail := true, false
	tests := []struct {
		name       string
		down, up   int
		steps      []step
		wantFinalU bool
	}{
		{"unknown up at first answer", 3, 2, []step{{ok, StateUp}}, true},
		{"down after three failures", 3, 2, []step{{ok, StateUp}, {fail, StateUp}, {fail, StateUp}, {fail, StateDown}}, false},
		{"a success resets the failures", 3, 2, []step{{fail, StateUnknown}, {fail, StateUnknown}, {ok, StateUp}, {fail, StateUp}, {fail, StateUp}}, true},
		// An endpoint that never answered OPTIONS stays in use: many
		// carriers drop them.
		{"never answered: stays unknown", 2, 2, []step{{fail, StateUnknown}, {fail, StateUnknown}, {fail, StateUnknown}}, true},
		{"up again after two answers", 1, 2, []step{{ok, StateUp}, {fail, StateDown}, {ok, StateDown}, {ok, StateUp}}, true},
		{"a failure resets the successes", 1, 2, []step{{ok, StateUp}, {fail, StateDown}, {ok, StateDown}, {fail, StateDown}, {ok, StateDown}, {ok, StateUp}}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth(WithThresholds(tt.down, tt.up))
			for i, s := range tt.steps {
				if got := h.Probed("c/a:1", s.alive, "x"); got != s.want {
					t.Fatalf("step %d (alive %v): state %s, want %s", i, s.alive, got, s.want)
				}
			}
			if h.Up("c/a:1") != tt.wantFinalU {
				t.Errorf("Up = %v, want %v", h.Up("c/a:1"), tt.wantFinalU)
			}
			if snap := h.Snapshot("c/a:1"); snap.LastProbeMs == nil || snap.LastResult != "x" {
				t.Errorf("snapshot %+v", snap)
			}
		})
	}
	var nilH *Health
	if !nilH.Up("x") || nilH.Demoted("x") || !NewHealth().Up("never/probed:1") {
		t.Error("unknown endpoints must be up")
	}
}

func TestHealthQualityGate(t *testing.T) {
	tests := []struct {
		name     string
		minASR   float64
		maxPDD   time.Duration
		answered int // of 20 attempts
		pdd      time.Duration
		demoted  bool
	}{
		{"good", 0.3, 5 * time.Second, 10, time.Second, false},
		{"low ASR", 0.3, 0, 5, time.Second, true},
		{"ASR at threshold", 0.25, 0, 5, time.Second, false},
		{"slow PDD", 0, 3 * time.Second, 20, 4 * time.Second, true},
		{"gate off", 0, 0, 0, time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth(WithQualityGate(tt.minASR, tt.maxPDD, 50, 20))
			for i := range 20 {
				if i == 19 && h.Demoted("c/a:1") {
					t.Fatal("demoted before the minimum of samples")
				}
				h.Attempted("c/a:1", attempt(i < tt.answered, tt.pdd))
			}
			if got := h.Demoted("c/a:1"); got != tt.demoted {
				t.Errorf("Demoted = %v, want %v (snapshot %+v)", got, tt.demoted, h.Snapshot("c/a:1"))
			}
		})
	}
	t.Run("window slides", func(t *testing.T) {
		h := NewHealth(WithQualityGate(0.5, 0, 20, 20))
		for range 20 {
			h.Attempted("k", AttemptOutcome{})
		}
		if !h.Demoted("k") {
			t.Fatal("not demoted at ASR 0")
		}
		for range 15 {
			h.Attempted("k", attempt(true, time.Second))
		}
		if h.Demoted("k") {
			t.Errorf("still demoted at ASR 75%% over the window: %+v", h.Snapshot("k"))
		}
		if s := h.Snapshot("k"); s.Samples != 20 || s.ASR == nil || *s.ASR != 0.75 || s.PDDMs == nil || *s.PDDMs != 1000 {
			t.Errorf("snapshot %+v", s)
		}
	})
}

func TestHealthApply(t *testing.T) {
	plan := func() *Plan {
		return &Plan{Attempts: []Attempt{{CarrierID: "a", Addr: "h:1"}, {CarrierID: "b", Addr: "h:2"}, {CarrierID: "c", Addr: "h:3"}}}
	}
	order := func(p *Plan) (s string) {
		for _, a := range p.Attempts {
			s += a.CarrierID
		}
		return s
	}
	h := NewHealth(WithThresholds(1, 1), WithQualityGate(0.5, 0, 20, 20))
	if p, err := h.apply(plan()); err != nil || order(p) != "abc" {
		t.Fatalf("all unknown: %v %v", p, err)
	}
	for range 20 {
		h.Attempted("a/h:1", AttemptOutcome{Code: 503})
	}
	h.Probed("b/h:2", true, "200")
	h.Probed("a/h:1", true, "200")
	h.Probed("b/h:2", false, "timeout")
	if p, err := h.apply(plan()); err != nil || order(p) != "ca" {
		t.Fatalf("a demoted, b down: %v %v", order(p), err)
	}
	h.Probed("a/h:1", false, "timeout")
	h.Probed("c/h:3", false, "503")
	p, err := h.apply(plan())
	if code, reason := Status(err); p != nil || code != 503 || reason != "All Carriers Down" {
		t.Fatalf("all down: %v %d %s", p, code, reason)
	}
	h.Probed("b/h:2", true, "200")
	if p, err := h.apply(plan()); err != nil || order(p) != "b" {
		t.Fatalf("b up again: %v %v", p, err)
	}
}

func TestHealthRouteAndSimulate(t *testing.T) {
	h := NewHealth(WithThresholds(1, 1))
	r := NewRouter(testStore(t), WithHealth(h))
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	targets := r.Table().ProbeTargets()
	if len(targets) != 2 || targets[0].Key != "ca/192.0.2.1:5060" || targets[1].EndpointID != "cb-e" {
		t.Fatalf("targets = %+v", targets)
	}
	at := time.Unix(1_700_000_000, 0)
	call := Call{CustomerID: "cu", Dialled: "442079460000", At: at} // only ca is profitable
	h.Probed("cb/192.0.2.1:5060", true, "200")
	h.Probed("ca/192.0.2.1:5060", true, "200")
	h.Probed("cb/192.0.2.1:5060", false, "timeout")
	if p, err := r.Route(t.Context(), call); err != nil || len(p.Attempts) != 1 || p.Attempts[0].CarrierID != "ca" {
		t.Fatalf("cb down: %+v %v", p, err)
	}
	h.Probed("ca/192.0.2.1:5060", false, "timeout")
	if _, err := r.Route(t.Context(), call); err == nil {
		t.Fatal("every carrier down: routed")
	}
	sim, err := r.Simulate(t.Context(), "cu", call.Dialled, at)
	if err != nil || sim.Reject == nil || sim.Reject.Reason != "All Carriers Down" || len(sim.Carriers) == 0 ||
		sim.Carriers[0].Health == nil || sim.Carriers[0].Health.State != StateDown {
		t.Fatalf("simulate all down: %+v %v", sim, err)
	}
	h.Probed("ca/192.0.2.1:5060", true, "200")
	if p, err := r.Route(t.Context(), call); err != nil || p.Attempts[0].CarrierID != "ca" {
		t.Fatalf("ca up again: %+v %v", p, err)
	}
	h.Retain([]string{"cb/192.0.2.1:5060"})
	if !h.Up("ca/192.0.2.1:5060") || h.Up("cb/192.0.2.1:5060") {
		t.Error("Retain")
	}
}

func TestHealthConcurrent(t *testing.T) {
	h := NewHealth(WithQualityGate(0.5, time.Second, 50, 20))
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 500 {
				h.Probed("k", j%3 != 0, "x")
				h.Attempted("k", attempt(i%2 == 0, time.Duration(j)*time.Millisecond))
				_ = h.Up("k") && h.Demoted("k")
				_ = h.Snapshot("k")
			}
		}()
	}
	wg.Wait()
}
