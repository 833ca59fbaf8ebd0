package routing

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/store"
)

// strategyRouter is marginRouter with four carriers for prefix 44 sold at
// 0.0200: k1 0.0100, k2 0.0080, k3 0.0090 (least cost order k2 k3 k1) and
// k4 0.0300 (margin skips it); customer cu's route is rt.
func strategyRouter(t *testing.T, rt store.Route) *Router {
	t.Helper()
	rate := func(r string) store.Rate { return store.Rate{PerMinute: r, Initial: 1, Increment: 1} }
	r := marginRouter(t, store.Customer{}, rate("0.0200"), []store.Rate{rate("0.0100"), rate("0.0080"), rate("0.0090"), rate("0.0300")})
	rt.ID, rt.CustomerID, rt.CardID = "rcu", "cu", "sell"
	if err := store.PutJSON(t.Context(), r.st, store.Routes, rt.ID, rt); err != nil {
		t.Fatal(err)
	}
	if err := r.Reload(t.Context()); err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRouteStrategies(t *testing.T) {
	prio := func(id string, p int) store.RouteCarrier { return store.RouteCarrier{CarrierID: id, Priority: p} }
	for _, tc := range []struct {
		name  string
		route store.Route
		want  string // order(plan), or the reject's status
	}{
		{"lcr default", store.Route{}, "k2 k3 k1 | k4"},
		{"lcr named", store.Route{Strategy: "lcr", Carriers: []store.RouteCarrier{prio("k1", 1)}}, "k2 k3 k1 | k4"},
		{"priority", store.Route{Strategy: "priority", Carriers: []store.RouteCarrier{prio("k3", 2), prio("k1", 1)}}, "k1 k3 k2 | k4"},
		{"priority ties keep least cost", store.Route{Strategy: "priority", Carriers: []store.RouteCarrier{prio("k1", 1), prio("k3", 1)}}, "k3 k1 k2 | k4"},
		{"priority never uses a margin skip", store.Route{Strategy: "priority", Carriers: []store.RouteCarrier{prio("k4", 0), prio("k1", 1)}}, "k1 k2 k3 | k4"},
		{"pin", store.Route{Pin: []string{"k1", "k3"}}, "k3 k1 | k4"},
		{"pin margin-skipped only", store.Route{Pin: []string{"k4"}}, "503 No Carrier For Route"},
		{"block", store.Route{Block: []string{"k2"}}, "k3 k1 | k4"},
		{"pin and block", store.Route{Pin: []string{"k1", "k2"}, Block: []string{"k2"}}, "k1 | k4"},
		{"block all", store.Route{Block: []string{"k1", "k2", "k3"}}, "503 No Carrier For Route"},
		{"max attempts", store.Route{MaxAttempts: 2}, "k2 k3 | k4"},
		{"max attempts over priority", store.Route{Strategy: "priority", Carriers: []store.RouteCarrier{prio("k1", 1)}, MaxAttempts: 1}, "k1 | k4"},
		{"weighted all on one", store.Route{Strategy: "weighted", Carriers: []store.RouteCarrier{{CarrierID: "k1", Weight: 5}, {CarrierID: "k2"}}}, "k1 k2 k3 | k4"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := strategyRouter(t, tc.route)
			p, err := r.Route(t.Context(), Call{CustomerID: "cu", Dialled: "4420", At: time.Unix(0, 0)})
			got := ""
			if err != nil {
				code, reason := Status(err)
				got = fmt.Sprintf("%d %s", code, reason)
			} else {
				got = order(p)
				if want := tc.route.Strategy; p.Strategy != want && !(want == "" && p.Strategy == "lcr") {
					t.Errorf("Plan.Strategy = %q, want %q", p.Strategy, want)
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

// TestRouteWeightedSplit routes 10,000 calls over a 70/30 route: the first
// attempt lands on each carrier by its weight within ±2 %, and the other
// weighted carrier comes second.
func TestRouteWeightedSplit(t *testing.T) {
	t.Parallel()
	r := strategyRouter(t, store.Route{Strategy: "weighted", Carriers: []store.RouteCarrier{
		{CarrierID: "k1", Weight: 70}, {CarrierID: "k3", Weight: 30}, {CarrierID: "k4", Weight: 1000}}})
	r.draw = rand.New(rand.NewPCG(13, 70)).Float64
	const n = 10_000
	first := map[string]int{}
	for range n {
		p, err := r.Route(t.Context(), Call{CustomerID: "cu", Dialled: "4420", At: time.Unix(0, 0)})
		if err != nil {
			t.Fatal(err)
		}
		first[p.Attempts[0].CarrierID]++
		if o := order(p); o != "k1 k3 k2 | k4" && o != "k3 k1 k2 | k4" {
			t.Fatalf("order %q, want k1 and k3 in either order, then k2", o)
		}
	}
	if share := float64(first["k1"]) / n; share < 0.68 || share > 0.72 {
		t.Errorf("k1 first in %.2f %% of calls, want 70 ± 2 (%v)", share*100, first)
	}
	if first["k1"]+first["k3"] != n {
		t.Errorf("first attempts %v, want only k1 and k3", first)
	}
}

func TestSimulateStrategy(t *testing.T) {
	t.Parallel()
	r := strategyRouter(t, store.Route{Strategy: "priority", Carriers: []store.RouteCarrier{{CarrierID: "k3", Priority: 1}},
		Block: []string{"k2"}, MaxAttempts: 1})
	sim, err := r.Simulate(t.Context(), "cu", "4420", time.Unix(0, 0))
	if err != nil || sim.Reject != nil {
		t.Fatalf("simulate: %v %+v", err, sim.Reject)
	}
	if sim.Strategy != "priority" || sim.Route != "rcu" {
		t.Errorf("strategy %q route %q, want priority rcu", sim.Strategy, sim.Route)
	}
	var got []string
	for _, c := range sim.Carriers {
		got = append(got, c.CarrierID+": "+c.Placement+c.SkipReason)
	}
	want := []string{
		"k3: priority 1",
		"k4: loses 0.000167 at 1 s (sell 0.000333, buy 0.000500)",
		"k2: blocked by the route",
		"k1: beyond the route's max_attempts (1)",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("carriers:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}
