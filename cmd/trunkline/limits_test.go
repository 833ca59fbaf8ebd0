package main

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/siptest"
)

// refusal returns the status and Reason header of a Dial error.
func refusal(err error) (int, string) {
	var e *sipgo.ErrDialogResponse
	if errors.As(err, &e) {
		if h := e.Res.GetHeader("Reason"); h != nil {
			return e.Res.StatusCode, h.Value()
		}
		return e.Res.StatusCode, ""
	}
	return 0, ""
}

// A customer's channel limit of 2 admits exactly 2 concurrent calls and
// refuses the third with 503 and a Reason, before any carrier is tried;
// a channel freed is taken again.
func TestCustomerChannelLimit(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", map[string]any{"channel_limit": 2})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := m.sw.SIPAddr.String()
	var up []*siptest.Call
	for i := range 2 {
		c, err := m.ua.Dial(ctx, target, numAnswer)
		if err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
		up = append(up, c)
	}
	_, err := m.ua.Dial(ctx, target, numAnswer)
	if code, reason := refusal(err); code != 503 || !strings.Contains(reason, "Customer Channel Limit") {
		t.Fatalf("third call: %v (Reason %q), want 503 Customer Channel Limit", err, reason)
	}
	if n := len(m.carrier.Invites()); n != 2 {
		t.Fatalf("the carrier got %d INVITEs, want 2", n)
	}
	var sim struct {
		Limits struct {
			Channels      int    `json:"channels"`
			ChannelsInUse int    `json:"channels_in_use"`
			Refused       string `json:"refused"`
		} `json:"limits"`
		Carriers []struct {
			ChannelsInUse *int `json:"channels_in_use"`
		} `json:"carriers"`
	}
	m.sw.api.do("GET", "/api/v1/simulate?customer="+m.customer+"&number="+numAnswer, nil, http.StatusOK, &sim)
	if l := sim.Limits; l.Channels != 2 || l.ChannelsInUse != 2 || l.Refused != "Customer Channel Limit" || len(sim.Carriers) != 1 ||
		sim.Carriers[0].ChannelsInUse == nil {
		t.Errorf("simulate: %+v", sim)
	}
	if err := up[0].Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	c, err := m.ua.Dial(ctx, target, numAnswer)
	if err != nil {
		t.Fatalf("a call after one hung up: %v", err)
	}
	for _, k := range []*siptest.Call{c, up[1]} {
		if err := k.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	if v := metricValue(t, "http://"+m.sw.AdminAddr.String(), `trunkline_limit_refusals_total{limit="customer_channel"}`); v != 1 {
		t.Errorf("refusals counted: %v, want 1", v)
	}
}

// A CPS limit of 3 holds over a burst: in any second at most 3 calls are
// taken, the rest get 503 Customer CPS Limit.
func TestCustomerCPSLimit(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", map[string]any{"cps_limit": 3})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	target := m.sw.SIPAddr.String()
	start := time.Now()
	var taken []time.Time
	refused := 0
	for time.Since(start) < 2500*time.Millisecond {
		c, err := m.ua.Dial(ctx, target, numAnswer)
		if err == nil {
			taken = append(taken, time.Now())
			if err := c.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if code, reason := refusal(err); code != 503 || !strings.Contains(reason, "Customer CPS Limit") {
			t.Fatalf("refused call: %v (Reason %q)", err, reason)
		}
		refused++
	}
	if refused == 0 || len(taken) < 3 || len(taken) > 3*3 {
		t.Fatalf("%d calls taken and %d refused in 2.5 s at 3 calls/s", len(taken), refused)
	}
	// Calls are answered after the switch counted them: no 4 answers fit
	// in well under a second.
	for i := 3; i < len(taken); i++ {
		if d := taken[i].Sub(taken[i-3]); d < 900*time.Millisecond {
			t.Fatalf("4 calls taken within %s", d)
		}
	}
}

// A carrier at its channel limit is skipped (an attempt CDR says why) and
// the next carrier takes the call.
func TestCarrierChannelLimitFailsOver(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	hold := func(*sip.Request) siptest.Script { return siptest.Script{} }
	a, b := siptest.NewCarrier(t, "127.0.0.1", hold), siptest.NewCarrier(t, "127.0.0.1", hold)
	customer, carrierA, _ := provision(t, sw, a, b)
	sw.api.do("PUT", "/api/v1/carriers/"+carrierA, map[string]any{"name": "Carrier A", "currency": "USD", "channel_limit": 1}, http.StatusOK, nil)
	_ = customer
	ua := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	first, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	second, err := ua.Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Invites()) != 1 || len(b.Invites()) != 1 {
		t.Fatalf("INVITEs: A %d, B %d; want 1 each", len(a.Invites()), len(b.Invites()))
	}
	for _, c := range []*siptest.Call{first, second} {
		if err := c.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
	}
	rs := sw.api.cdrs(second.CallID, 2)
	if len(rs) != 2 || rs[0].SIPCode != 503 || rs[0].Reason != "Carrier Channel Limit" || rs[0].HangupSide != "switch" || rs[0].Final ||
		rs[1].SIPCode != 200 || !rs[1].Final {
		t.Fatalf("CDRs of the second call: %+v", rs)
	}
}

// A customer's maximum call duration overrides the switch's, shorter or
// longer: its answered calls end then, with BYE on both legs.
func TestCustomerMaxCallDuration(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name            string
		switchMax       time.Duration
		customerSeconds int
	}{
		{"shorter", DefaultMaxCall, 2},
		{"longer", time.Second, 3},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			sw := startSwitch(t, func(c *Config) { c.SIP.MaxCallDuration = tt.switchMax })
			m := provisionMoney(t, sw.api, sw, "0.06", map[string]any{"max_call_seconds": tt.customerSeconds})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			call, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
			if err != nil {
				t.Fatal(err)
			}
			answered := time.Now()
			if err := call.WaitBye(ctx); err != nil {
				t.Fatal(err)
			}
			want := time.Duration(tt.customerSeconds) * time.Second
			if d := time.Since(answered); d < want-500*time.Millisecond || d > want+1500*time.Millisecond {
				t.Errorf("ended after %s, want the customer's %s (the switch's is %s)", d, want, tt.switchMax)
			}
			if err := m.carrier.WaitBye(ctx, m.carrier.Invites()[0].CallID().Value()); err != nil {
				t.Fatal(err)
			}
			if rs := m.sw.api.cdrs(call.CallID, 1); len(rs) != 1 || rs[0].Reason != "Max Duration" || rs[0].Duration != tt.customerSeconds {
				t.Fatalf("CDRs %+v", rs)
			}
		})
	}
}

// A configuration change while calls are up swaps the routing table: the
// call in progress keeps its route, rates and channel, and ends normally;
// the next call uses the new table.
func TestReloadWithCallsUp(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", map[string]any{"channel_limit": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	var cards struct {
		RateCards []struct{ ID, Kind string } `json:"ratecards"`
	}
	m.sw.api.do("GET", "/api/v1/ratecards", nil, http.StatusOK, &cards)
	for _, c := range cards.RateCards {
		if c.Kind == "customer" {
			m.sw.api.do("PUT", "/api/v1/ratecards/"+c.ID+"/rates", []map[string]any{{"prefix": "44", "rate": "0.09", "initial_increment": 1, "subsequent_increment": 1}}, http.StatusOK, nil)
		}
	}
	// The channel is still held across the reload.
	if _, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer); siptest.Status(err) != 503 {
		t.Fatalf("a second call during the first: %v, want 503", err)
	}
	time.Sleep(1100 * time.Millisecond)
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if rs := m.sw.api.cdrs(call.CallID, 1); len(rs) != 1 || rs[0].SellRate != 60_000 || rs[0].SIPCode != 200 {
		t.Fatalf("the call up during the reload: %+v", rs)
	}
	next, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	if err := next.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if rs := m.sw.api.cdrs(next.CallID, 1); len(rs) != 1 || rs[0].SellRate != 90_000 {
		t.Fatalf("the call after the reload: %+v", rs)
	}
}

// The customer's CPS limit comes before routing: calls to numbers that do
// not route count, and once over the limit they cost no routing (503, not
// the 404 routing would give).
func TestCPSLimitBeforeRouting(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", map[string]any{"cps_limit": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numUnrated)
	if code, _ := refusal(err); code != 404 {
		t.Fatalf("first call to an unrated number: %v, want 404", err)
	}
	_, err = m.ua.Dial(ctx, m.sw.SIPAddr.String(), numUnrated)
	if code, reason := refusal(err); code != 503 || !strings.Contains(reason, "Customer CPS Limit") {
		t.Fatalf("second call within the second: %v (Reason %q), want 503 Customer CPS Limit", err, reason)
	}
}

// An IP entry's channel limit holds below its customer's: the entry's
// second concurrent call is refused with the entry's reason.
func TestEntryChannelLimit(t *testing.T) {
	t.Parallel()
	m := newMoneySetup(t, "0.06", nil)
	var ips struct {
		IPs []struct{ ID string } `json:"ips"`
	}
	m.sw.api.do("GET", "/api/v1/customers/"+m.customer+"/ips", nil, http.StatusOK, &ips)
	if len(ips.IPs) != 1 {
		t.Fatalf("IP entries %+v", ips)
	}
	m.sw.api.do("DELETE", "/api/v1/customers/"+m.customer+"/ips/"+ips.IPs[0].ID, nil, http.StatusNoContent, nil)
	m.sw.api.create("/api/v1/customers/"+m.customer+"/ips", map[string]any{"cidr": "127.0.0.2", "channel_limit": 1})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	first, err := m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}
	_, err = m.ua.Dial(ctx, m.sw.SIPAddr.String(), numAnswer)
	if code, reason := refusal(err); code != 503 || !strings.Contains(reason, "Entry Channel Limit") {
		t.Fatalf("second call on the entry: %v (Reason %q), want 503 Entry Channel Limit", err, reason)
	}
	if err := first.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}
