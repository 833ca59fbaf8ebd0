package routing

import (
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// A route with max_attempts 1 whose least-cost carrier (k2) is down must
// still route to the next carrier that is up: max_attempts caps the
// attempts made, not the plan before the down endpoints are taken out.
func TestMaxAttemptsCountsOnlyLiveEndpoints(t *testing.T) {
	rt := store.Route{MaxAttempts: 1}
	r := strategyRouter(t, rt)
	h := NewHealth(WithThresholds(1, 1))
	r.health = h
	h.Probed(EndpointKey("k2", "192.0.2.1", 5061), true, "200")
	h.Probed(EndpointKey("k2", "192.0.2.1", 5061), false, "timeout")
	p, err := r.Route(t.Context(), Call{CustomerID: "cu", Dialled: "4420", At: time.Unix(0, 0)})
	if err != nil {
		code, reason := Status(err)
		t.Fatalf("k2 down, k3 and k1 up, max_attempts 1: refused %d %s", code, reason)
	}
	if p.Attempts[0].CarrierID == "k2" {
		t.Fatalf("down carrier tried")
	}
}
