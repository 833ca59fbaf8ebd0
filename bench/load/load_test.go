package load

import (
	"context"
	"net"
	"net/netip"
	"testing"
	"time"
)

// startUAS runs a UAS on 127.0.0.1 until the test ends or stop is called;
// stop returns what it counted.
func startUAS(t *testing.T, opts ...Option) (addr netip.AddrPort, stop func() UASStats) {
	t.Helper()
	conn, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	uas, err := NewUAS(conn, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan UASStats, 1)
	go func() {
		st, err := uas.Run(ctx)
		if err != nil {
			t.Errorf("UAS: %v", err)
		}
		done <- st
	}()
	var st *UASStats
	stop = func() UASStats {
		if st == nil {
			cancel()
			s := <-done
			st = &s
		}
		return *st
	}
	t.Cleanup(func() { stop() })
	return conn.LocalAddr().(*net.UDPAddr).AddrPort(), stop
}

// runUAC places calls from 127.0.0.2 to target and returns what it counted.
func runUAC(t *testing.T, target netip.AddrPort, opts ...Option) UACStats {
	t.Helper()
	conn, err := Listen("127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	uac, err := NewUAC(conn, target, opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	st, err := uac.Run(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestUACAgainstUAS(t *testing.T) {
	const calls = 1000
	target, stop := startUAS(t)
	u := runUAC(t, target, WithRate(500), WithCount(calls), WithHold(100*time.Millisecond),
		WithNumbers([]string{"4420712345678", "12125550100"}))
	s := stop()
	t.Logf("UAC %+v", u)
	t.Logf("UAS %+v", s)
	if u.Created != calls || u.Succeeded != calls || u.Failed != 0 || u.Outstanding != 0 {
		t.Errorf("UAC created %d, succeeded %d, failed %d (%v), outstanding %d; want %d succeeded",
			u.Created, u.Succeeded, u.Failed, u.Failures, u.Outstanding, calls)
	}
	if s.Calls != calls || s.Completed != calls || s.Failed != 0 || s.Active != 0 || s.Unknown != 0 {
		t.Errorf("UAS calls %d, completed %d, failed %d, active %d, unknown %d; want %d completed",
			s.Calls, s.Completed, s.Failed, s.Active, s.Unknown, calls)
	}
	// The 2xx the UAS sent for new INVITEs are the 2xx the UAC timed.
	if u.InviteTo200.Count != uint64(s.Calls) || u.InviteTo1xx.Count != uint64(s.Calls) {
		t.Errorf("UAC timed %d 2xx and %d 1xx, UAS answered %d calls", u.InviteTo200.Count, u.InviteTo1xx.Count, s.Calls)
	}
	if u.Rate < 450 || u.Rate > 550 || u.PlacingS < 1.8 || u.PlacingS > 2.2 {
		t.Errorf("placed at %.0f calls/s over %.2f s, want 500 over 2 s", u.Rate, u.PlacingS)
	}
	if u.Malformed+u.Stray+s.Malformed+s.Stray+u.SendErrors+s.SendErrors != 0 {
		t.Errorf("malformed, stray or unsent messages: UAC %+v, UAS %+v", u, s)
	}
}

func TestDurationPlacesRateTimesDuration(t *testing.T) {
	target, _ := startUAS(t)
	u := runUAC(t, target, WithRate(200), WithDuration(500*time.Millisecond))
	if u.Created != 100 || u.Succeeded != 100 {
		t.Errorf("created %d, succeeded %d; want 100", u.Created, u.Succeeded)
	}
}

// lose returns a filter that drops the first message of each call that
// matches.
func lose(match func(m *Msg) bool) func(m *Msg) bool {
	seen := map[string]bool{}
	return func(m *Msg) bool {
		if !match(m) {
			return true
		}
		key := string(m.CallID) + "/" + string(m.CSeqMethod)
		if seen[key] {
			return true
		}
		seen[key] = true
		return false
	}
}

func TestRetransmissions(t *testing.T) {
	const calls = 50
	timers := WithTimers(200*time.Millisecond, time.Second)
	t.Run("UAS loses the first INVITE and BYE", func(t *testing.T) {
		target, stop := startUAS(t, timers, WithFilter(lose(func(m *Msg) bool {
			return isMethod(m.Method, "INVITE") || isMethod(m.Method, "BYE")
		})))
		u := runUAC(t, target, timers, WithRate(100), WithCount(calls), WithHold(50*time.Millisecond))
		s := stop()
		if u.Succeeded != calls || u.InviteRetransmissions < calls || u.ByeRetransmissions < calls {
			t.Errorf("UAC succeeded %d, retransmitted %d INVITEs and %d BYEs; want %d of each", u.Succeeded,
				u.InviteRetransmissions, u.ByeRetransmissions, calls)
		}
		if s.Completed != calls || s.Failed != 0 {
			t.Errorf("UAS %+v", s)
		}
	})
	t.Run("UAC loses the first 2xx to INVITE and to BYE", func(t *testing.T) {
		target, stop := startUAS(t, timers)
		u := runUAC(t, target, timers, WithRate(100), WithCount(calls), WithHold(50*time.Millisecond),
			WithFilter(lose(func(m *Msg) bool { return m.Code == 200 })))
		s := stop()
		if u.Succeeded != calls || u.ByeRetransmissions < calls {
			t.Errorf("UAC succeeded %d, retransmitted %d BYEs; want %d", u.Succeeded, u.ByeRetransmissions, calls)
		}
		if s.Completed != calls || s.Retransmissions < calls || s.ByeRetransmissions < calls || s.Unknown != 0 {
			t.Errorf("UAS completed %d, sent %d 200s again, answered %d BYEs again (%d unknown); want %d",
				s.Completed, s.Retransmissions, s.ByeRetransmissions, s.Unknown, calls)
		}
	})
}
