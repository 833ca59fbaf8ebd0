package load

import (
	"bytes"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeSwitch answers the UAC as handle says, from a plain socket at self;
// handle runs on one goroutine and sends with send.
func fakeSwitch(t *testing.T, handle func(self netip.AddrPort, m *Msg, data []byte, send func(string))) netip.AddrPort {
	t.Helper()
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	self := conn.LocalAddr().(*net.UDPAddr).AddrPort()
	go func() {
		buf := make([]byte, 65536)
		for {
			n, from, err := conn.ReadFromUDP(buf)
			if err != nil {
				return
			}
			var m Msg
			if err := Scan(buf[:n], &m); err != nil {
				t.Errorf("fake switch got a message it cannot scan: %v\n%s", err, buf[:n])
				continue
			}
			handle(self, &m, buf[:n], func(s string) {
				if _, err := conn.WriteToUDP(crlf(s), from); err != nil {
					t.Errorf("fake switch: %v", err)
				}
			})
		}
	}()
	return self
}

// echo renders the headers a response repeats from m.
func echo(m *Msg) string {
	return string(bytes.ReplaceAll(appendResponseHead(nil, "", m, false, nil)[len("SIP/2.0 \r\n"):], []byte("\r\n"), []byte("\n")))
}

func TestRejectedCallsAreAcknowledged(t *testing.T) {
	var mu sync.Mutex
	var invites, acks []string
	target := fakeSwitch(t, func(_ netip.AddrPort, m *Msg, data []byte, send func(string)) {
		mu.Lock()
		defer mu.Unlock()
		switch string(m.Method) {
		case "INVITE":
			invites = append(invites, string(m.RURI)+" "+string(m.Branch))
			send("SIP/2.0 503 Service Unavailable\n" + strings.Replace(echo(m), "\nCall-ID", ";tag=f1\nCall-ID", 1) + "Content-Length: 0\n\n")
		case "ACK":
			acks = append(acks, string(m.RURI)+" "+string(m.Branch))
			if string(m.ToTag) != "f1" || string(m.CSeqValue) != "1 ACK" {
				t.Errorf("ACK of the 503 has To tag %q, CSeq %q", m.ToTag, m.CSeqValue)
			}
		}
	})
	u := runUAC(t, target, WithRate(200), WithCount(20))
	if u.Failed != 20 || u.Failures["invite_503"] != 20 || u.Succeeded != 0 {
		t.Errorf("failed %d %v, succeeded %d; want 20 invite_503", u.Failed, u.Failures, u.Succeeded)
	}
	time.Sleep(50 * time.Millisecond) // the last ACKs
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(acks, ",") != strings.Join(invites, ",") || len(acks) != 20 {
		t.Errorf("ACKs (Request-URI, branch) %q, want the INVITEs' %q", acks, invites)
	}
}

func TestUnansweredCallsTimeOut(t *testing.T) {
	target := fakeSwitch(t, func(netip.AddrPort, *Msg, []byte, func(string)) {})
	start := time.Now()
	u := runUAC(t, target, WithRate(100), WithCount(5), WithTimers(100*time.Millisecond, 400*time.Millisecond),
		WithTimeout(350*time.Millisecond))
	if u.Failures["invite_timeout"] != 5 || u.InviteRetransmissions < 10 {
		t.Errorf("failures %v, %d INVITE retransmissions; want 5 timeouts after 2 retransmissions each", u.Failures, u.InviteRetransmissions)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %s", d)
	}
}

// TestDialogFromTheAnswer checks the ACK and BYE follow the 2xx's route set
// and Contact, and that the UAC answers the far end's requests in the call.
func TestDialogFromTheAnswer(t *testing.T) {
	type got struct{ ack, optionsAnswer, byeAnswer string }
	res := make(chan got, 1)
	var g got
	fake := fakeSwitch(t, func(self netip.AddrPort, m *Msg, data []byte, send func(string)) {
		switch {
		case isMethod(m.Method, "INVITE"):
			send("SIP/2.0 200 OK\n" + strings.Replace(echo(m), "\nCall-ID", ";tag=sw\nCall-ID", 1) +
				"Record-Route: <sip:127.0.0.1:5060;lr;ftag=x>\nRecord-Route: <sip:edge.example;lr>, <sip:core.example;lr>\n" +
				"Contact: <sip:callee@" + self.String() + ">\nContent-Length: 0\n\n")
		case isMethod(m.Method, "ACK"):
			g.ack = string(data)
			// The far end asks in the call, then hangs up.
			in := "Via: SIP/2.0/UDP " + self.String() + ";branch=z9hG4bKsw%d\nFrom: " + string(m.To) + "\nTo: " + string(m.From) +
				"\nCall-ID: " + string(m.CallID) + "\nCSeq: %d %s\nContent-Length: 0\n\n"
			send("OPTIONS sip:sipp@127.0.0.2 SIP/2.0\n" + strings.NewReplacer("%d %s", "1 OPTIONS", "%d", "1").Replace(in))
			send("BYE sip:sipp@127.0.0.2 SIP/2.0\n" + strings.NewReplacer("%d %s", "2 BYE", "%d", "2").Replace(in))
		case isMethod(m.CSeqMethod, "OPTIONS"):
			g.optionsAnswer = string(data[:bytes.IndexByte(data, '\r')])
		case isMethod(m.CSeqMethod, "BYE"):
			g.byeAnswer = string(data[:bytes.IndexByte(data, '\r')])
			res <- g
		}
	})
	u := runUAC(t, fake, WithRate(10), WithCount(1), WithHold(10*time.Second))
	var r got
	select {
	case r = <-res:
	case <-time.After(5 * time.Second):
		t.Fatal("the UAC did not answer the far end's BYE")
	}
	if !strings.HasPrefix(r.ack, "ACK sip:callee@"+fake.String()+" SIP/2.0\r\n") ||
		!strings.Contains(r.ack, "\r\nRoute: <sip:core.example;lr>, <sip:edge.example;lr>, <sip:127.0.0.1:5060;lr;ftag=x>\r\n") ||
		!strings.Contains(r.ack, ">;tag=sw\r\nCall-ID") {
		t.Errorf("ACK does not follow the dialog:\n%s", r.ack)
	}
	if r.optionsAnswer != "SIP/2.0 200 OK" || r.byeAnswer != "SIP/2.0 200 OK" {
		t.Errorf("answers to OPTIONS %q, to BYE %q", r.optionsAnswer, r.byeAnswer)
	}
	if u.Failures["remote_bye"] != 1 || u.RequestsAnswered != 2 {
		t.Errorf("failures %v, requests answered %d", u.Failures, u.RequestsAnswered)
	}
}
