package sip

import (
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	gosip "github.com/emiago/sipgo/sip"
)

func TestRouteSets(t *testing.T) {
	s := &Server{advertise: "10.0.0.1", port: 5060}
	v6 := &Server{advertise: "2001:db8::1", port: 5060}
	uri := func(v string) gosip.Uri {
		var u gosip.Uri
		if err := gosip.ParseUri(v, &u); err != nil {
			t.Fatal(err)
		}
		return u
	}
	target := uri("sip:k@192.0.2.9:5070")
	fallback := hop{addr: "192.0.2.9:5070", transport: transportUDP}
	for _, tc := range []struct {
		name     string
		rr       []string
		ruri     string
		routes   string
		next     string
		nextTran string
	}{
		{"none", nil, "sip:k@192.0.2.9:5070", "", "192.0.2.9:5070", transportUDP},
		{"only the switch", []string{"<sip:10.0.0.1;lr>"}, "sip:k@192.0.2.9:5070", "", "192.0.2.9:5070", transportUDP},
		{"loose, two downstream, one list", []string{"<sip:p2.example:5062;lr>, <sip:p1.example;lr;transport=tcp>", "<sip:10.0.0.1:5060;lr>", "<sip:up.example;lr>"},
			"sip:k@192.0.2.9:5070", "<sip:p1.example;lr;transport=tcp> <sip:p2.example:5062;lr>", "p1.example:5060", transportTCP},
		{"IPv6 switch", []string{"<sip:p1.example;lr>", "<sip:[2001:DB8::1]:5060;lr>", "<sip:up.example;lr>"},
			"sip:k@192.0.2.9:5070", "<sip:p1.example;lr>", "p1.example:5060", transportUDP},
		{"strict first hop", []string{"<sip:p1.example:5080>", "<sip:10.0.0.1;lr>"},
			"sip:p1.example:5080", "<sip:k@192.0.2.9:5070>", "p1.example:5080", transportUDP},
		{"an entry that cannot be written back: no route set", []string{"<sip:p1.example;lr>", "<:>", "<sip:10.0.0.1;lr>"},
			"sip:k@192.0.2.9:5070", "", "192.0.2.9:5070", transportUDP},
		{"odd entries upstream of the switch do not matter", []string{"<sip:p1.example;lr>", "<sip:10.0.0.1;lr>", "<:>"},
			"sip:k@192.0.2.9:5070", "<sip:p1.example;lr>", "p1.example:5060", transportUDP},
		{"LR in capitals is loose routing", []string{"<sip:p1.example;LR>", "<sip:10.0.0.1;lr>"},
			"sip:k@192.0.2.9:5070", "<sip:p1.example;LR>", "p1.example:5060", transportUDP},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ruri, routes, next := s.downstreamRoutes(tc.rr).request(target, fallback)
			if strings.Contains(tc.name, "IPv6") {
				ruri, routes, next = v6.downstreamRoutes(tc.rr).request(target, fallback)
			}
			if ruri.String() != tc.ruri || strings.Join(routes, " ") != tc.routes || next.addr != tc.next || next.transport != tc.nextTran {
				t.Fatalf("got %s, routes %q, next %+v", ruri.String(), routes, next)
			}
		})
	}
}

var rrRe = regexp.MustCompile(`(?m)^Record-Route: .*\r\n`)

// The requests the switch sends itself inside a dialog follow each side's
// route set: at the maximum call duration the BYE to the carrier goes
// through the proxy that record-routed its 2xx (loose routing), the BYE to
// the customer through the one that record-routed its INVITE (here strict
// routing: that proxy is the Request-URI, the customer's Contact the Route).
// Requests to the customer go where its INVITE came from: its proxy.
func TestSwitchRequestsFollowRouteSets(t *testing.T) {
	_, sw, cust, cars, _ := setup(t, 1, WithMaxCallDuration(500*time.Millisecond))
	custProxy, carProxy := newPeer(t), newPeer(t)
	in := strings.Replace(invite(cust, "rs1", ";branch=z9hG4bKrs1"), "Max-Forwards: 70\r\n",
		"Record-Route: <sip:"+custProxy.addr()+">\r\nMax-Forwards: 70\r\n", 1)
	custProxy.send(sw, in)
	inv, ok := cars[0].next("INVITE", 2*time.Second)
	if !ok {
		t.Fatal("no INVITE at the carrier")
	}
	r200 := resp(inv, 200, "OK", "ct1", cars[0].addr())
	rr := "Record-Route: <sip:" + carProxy.addr() + ";lr>\r\n" + strings.Join(rrRe.FindAllString(inv, -1), "")
	cars[0].send(sw, strings.Replace(r200, "Content-Length:", rr+"Content-Length:", 1))
	if _, ok := custProxy.next("SIP/2.0 200", 2*time.Second); !ok {
		t.Fatal("no 200 at the customer's proxy")
	}
	byeC, ok := carProxy.next("BYE", 3*time.Second)
	if !ok {
		t.Fatal("the carrier's proxy got no BYE at the maximum duration")
	}
	if !strings.HasPrefix(byeC, "BYE sip:k@"+cars[0].addr()+" ") || hdr(byeC, "Route") != "Route: <sip:"+carProxy.addr()+";lr>\r\n" {
		t.Fatalf("BYE towards the carrier:\n%s", byeC)
	}
	byeU, ok := custProxy.next("BYE", 2*time.Second)
	if !ok {
		t.Fatal("the customer's proxy got no BYE at the maximum duration")
	}
	if !strings.HasPrefix(byeU, "BYE sip:"+custProxy.addr()+" ") || hdr(byeU, "Route") != fmt.Sprintf("Route: <sip:a@%s>\r\n", cust.addr()) {
		t.Fatalf("BYE towards the customer:\n%s", byeU)
	}
	carProxy.send(sw, resp(byeC, 200, "OK", "", ""))
	custProxy.send(sw, resp(byeU, 200, "OK", "", ""))
	if m, ok := cars[0].next("BYE", 300*time.Millisecond); ok {
		t.Fatalf("a BYE went around the carrier's proxy: %s", firstLine(m))
	}
}

// FuzzSimpleRoute checks the hand check of the usual Record-Route form
// against sipgo: whatever simpleRoute takes, sipgo must read as one URI
// with a host and write back unchanged.
func FuzzSimpleRoute(f *testing.F) {
	for _, v := range []string{"<sip:127.0.0.1:5060;lr>", "<sip:p1.example;lr;transport=tcp>", "<sip:a-b_c.d:1;x=y>", "<sip:h;>", "<sip:[::1];lr>"} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v string) {
		if !simpleRoute(v) {
			return
		}
		us, ok := recordRouteURIs(v)
		if !ok || len(us) != 1 || us[0].Host == "" || "<"+us[0].String()+">" != v {
			t.Fatalf("simpleRoute took %q; sipgo reads %d URIs (ok %v): %v", v, len(us), ok, us)
		}
	})
}
