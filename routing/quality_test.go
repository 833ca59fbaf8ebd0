package routing

import (
	"testing"
	"time"
)

// attempt is an answered attempt, or one the carrier failed with a 503,
// with PDD pdd (the carrier rang when it is not 0).
func attempt(answered bool, pdd time.Duration) AttemptOutcome {
	if answered {
		return AttemptOutcome{Code: 200, Rang: pdd > 0, PDD: pdd}
	}
	return AttemptOutcome{Code: 503, Rang: pdd > 0, PDD: pdd}
}

func TestAttemptOutcomeCarrierFailed(t *testing.T) {
	tests := []struct {
		code   int
		rang   bool
		failed bool
	}{
		{200, true, false},
		{200, false, false},
		{0, false, true},   // no response, transport error
		{0, true, true},    // never a callee's outcome
		{408, false, true}, // the carrier's timeout before ringing
		{408, true, false}, // no answer after ringing
		{486, true, false},
		{486, false, false},
		{600, false, false},
		{603, true, false},
		{480, true, false}, // no answer after ringing
		{480, false, true}, // the switch fails over on it: the carrier's
		{487, true, false}, // the caller gave up
		{404, false, true}, // "no route to destination" looks the same
		{484, false, true},
		{410, false, true},
		{604, false, true},
		{500, false, true},
		{502, true, true},
		{503, false, true},
		{504, false, true},
		{302, false, true},
		{403, false, true},
		{407, false, true},
		{488, false, true},
		{606, false, true},
	}
	for _, tt := range tests {
		o := AttemptOutcome{Code: tt.code, Rang: tt.rang}
		if got := o.CarrierFailed(); got != tt.failed {
			t.Errorf("%+v: CarrierFailed = %v, want %v", o, got, tt.failed)
		}
	}
}

// Only the carrier's failures count against its ASR: an endpoint whose
// callees are busy or do not answer is not demoted, one that fails calls
// is, and callee outcomes mixed with failures count neither way.
func TestQualityGateCarrierFailures(t *testing.T) {
	busy := AttemptOutcome{Code: 486, Rang: true, PDD: time.Second}
	noAnswer := AttemptOutcome{Code: 408, Rang: true, PDD: time.Second}
	declined := AttemptOutcome{Code: 603, PDD: 0}
	answered := attempt(true, time.Second)
	tests := []struct {
		name     string
		attempts []AttemptOutcome
		demoted  bool
	}{
		{"carrier errors", repeat(20, AttemptOutcome{Code: 503}), true},
		{"no response", repeat(20, AttemptOutcome{}), true},
		{"408 before ringing", repeat(20, AttemptOutcome{Code: 408}), true},
		{"busy callees", repeat(20, busy), false},
		{"no answer after ringing", repeat(20, noAnswer), false},
		{"declined", repeat(20, declined), false},
		// 10 answered of 20 judged is 50%: the busy and unanswered
		// attempts would make it 10 of 50.
		{"callee outcomes left out", mix(repeat(10, AttemptOutcome{Code: 500}), repeat(15, busy), repeat(15, noAnswer), repeat(10, answered)), false},
		{"too few judged", mix(repeat(30, busy), repeat(19, AttemptOutcome{Code: 500})), false},
		{"enough judged among callee outcomes", mix(repeat(30, busy), repeat(20, AttemptOutcome{Code: 500})), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := NewHealth(WithQualityGate(0.4, 0, 50, 20))
			for _, o := range tt.attempts {
				h.Attempted("c/a:1", o)
			}
			if got := h.Demoted("c/a:1"); got != tt.demoted {
				t.Errorf("Demoted = %v, want %v (snapshot %+v)", got, tt.demoted, h.Snapshot("c/a:1"))
			}
		})
	}
	t.Run("snapshot", func(t *testing.T) {
		h := NewHealth(WithQualityGate(0.4, 0, 50, 20))
		for _, o := range mix(repeat(3, answered), repeat(4, busy), repeat(1, AttemptOutcome{Code: 503})) {
			h.Attempted("k", o)
		}
		s := h.Snapshot("k")
		if s.Samples != 8 || s.Judged != 4 || s.ASR == nil || *s.ASR != 0.75 || s.Demoted || s.DemotedUntilMs != nil {
			t.Errorf("snapshot %+v", s)
		}
	})
}

// A demotion ends after the cooldown, though the endpoint got no attempt
// since: it is tried in its place again and judged on fresh attempts only.
func TestQualityGateCooldown(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := NewHealth(WithQualityGate(0.5, 0, 50, 20), WithDemotionCooldown(15*time.Minute))
	h.now = func() time.Time { return now }
	for range 20 {
		h.Attempted("k", AttemptOutcome{Code: 503})
	}
	if !h.Demoted("k") {
		t.Fatal("not demoted at ASR 0")
	}
	if s := h.Snapshot("k"); s.DemotedUntilMs == nil || *s.DemotedUntilMs != now.Add(15*time.Minute).UnixMilli() {
		t.Fatalf("snapshot while demoted: %+v", s)
	}
	// Further failures within the cooldown do not prolong it.
	now = now.Add(10 * time.Minute)
	h.Attempted("k", AttemptOutcome{Code: 503})
	now = now.Add(5*time.Minute - time.Millisecond)
	if !h.Demoted("k") {
		t.Fatal("demotion ended before the cooldown")
	}
	now = now.Add(time.Millisecond)
	if h.Demoted("k") {
		t.Fatal("still demoted after the cooldown")
	}
	if s := h.Snapshot("k"); s.Samples != 0 || s.ASR != nil || s.Demoted || s.DemotedUntilMs != nil {
		t.Fatalf("the window keeps the samples of the demotion: %+v", s)
	}
	// Judged afresh: answered attempts count from an empty window, and a
	// few failures among them do not demote it.
	for i := range 20 {
		h.Attempted("k", attempt(i%4 != 0, time.Second))
	}
	if h.Demoted("k") {
		t.Fatalf("demoted again at ASR 75%%: %+v", h.Snapshot("k"))
	}
	// Failing again, it is demoted again, for a new cooldown.
	for range 40 {
		h.Attempted("k", AttemptOutcome{})
	}
	if s := h.Snapshot("k"); !s.Demoted || *s.DemotedUntilMs != now.Add(15*time.Minute).UnixMilli() {
		t.Fatalf("failing after recovery: %+v", s)
	}
	if NewHealth().cooldown != DefaultDemotionCooldown {
		t.Error("default cooldown")
	}
}

// A demoted endpoint is moved after the others only until its cooldown
// ends.
func TestQualityGateCooldownApply(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := NewHealth(WithQualityGate(0.5, 0, 20, 20), WithDemotionCooldown(time.Minute))
	h.now = func() time.Time { return now }
	for range 20 {
		h.Attempted("a/h:1", AttemptOutcome{Code: 500})
	}
	plan := func() *Plan {
		return &Plan{Attempts: []Attempt{{CarrierID: "a", Addr: "h:1"}, {CarrierID: "b", Addr: "h:2"}}}
	}
	if p, _ := h.apply(plan()); p.Attempts[0].CarrierID != "b" {
		t.Fatalf("demoted a first: %+v", p.Attempts)
	}
	now = now.Add(time.Minute)
	if p, _ := h.apply(plan()); p.Attempts[0].CarrierID != "a" {
		t.Fatalf("a not in its place after the cooldown: %+v", p.Attempts)
	}
}

func repeat(n int, o AttemptOutcome) []AttemptOutcome {
	out := make([]AttemptOutcome, n)
	for i := range out {
		out[i] = o
	}
	return out
}

func mix(parts ...[]AttemptOutcome) []AttemptOutcome {
	var out []AttemptOutcome
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
