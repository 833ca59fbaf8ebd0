package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
)

// freeTCPPort returns a TCP port that was free on ip a moment ago.
func freeTCPPort(t *testing.T, ip string) int {
	t.Helper()
	l, err := net.ListenTCP("tcp", &net.TCPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// waitTCPListen waits up to 2 s for a socket listening on ip:port (Linux
// /proc/net/tcp; elsewhere it only pauses). Probing with a connection would
// disturb sipp, which takes one call.
func waitTCPListen(t *testing.T, ip string, port int) {
	t.Helper()
	v4 := net.ParseIP(ip).To4()
	local := fmt.Sprintf("%02X%02X%02X%02X:%04X", v4[3], v4[2], v4[1], v4[0], port)
	for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		b, err := os.ReadFile("/proc/net/tcp")
		if err != nil {
			time.Sleep(100 * time.Millisecond)
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if f := strings.Fields(line); len(f) > 3 && f[1] == local && f[3] == "0A" { // 0A: LISTEN
				return
			}
		}
	}
	t.Fatalf("nothing listens on TCP %s:%d", ip, port)
}

// receivedHeader returns the values of the header name in the first INVITE
// in the message log sipp r wrote (-trace_msg), top first.
func (r *sippRun) receivedHeader(t *testing.T, header string) []string {
	t.Helper()
	logs, _ := filepath.Glob(filepath.Join(r.cmd.Dir, "*_messages.log"))
	if len(logs) != 1 {
		t.Fatalf("sipp message logs: %v", logs)
	}
	b, err := os.ReadFile(logs[0])
	if err != nil {
		t.Fatal(err)
	}
	s := strings.ReplaceAll(string(b), "\r\n", "\n")
	i := strings.Index(s, "\nINVITE ")
	if i < 0 {
		t.Fatalf("no INVITE in the message log:\n%s", tail(s, 3000))
	}
	head, _, _ := strings.Cut(s[i+1:], "\n\n")
	var rr []string
	for _, line := range strings.Split(head, "\n") {
		name, value, ok := strings.Cut(line, ":")
		if ok && strings.EqualFold(strings.TrimSpace(name), header) {
			for _, v := range strings.Split(value, ",") {
				rr = append(rr, strings.TrimSpace(v))
			}
		}
	}
	return rr
}

// TestSippTCP runs answered calls through the switch with sipp over TCP on
// the customer leg, the carrier leg or both: the switch answers a TCP
// customer on its connection, dials a carrier endpoint provisioned with
// transport tcp, Record-Routes twice (RFC 5658) when the legs' transports
// differ, relays the BYE of either party and rates the call.
func TestSippTCP(t *testing.T) {
	sippPath(t)
	sw := startSwitch(t)
	api := sw.api
	const customerIP, carrierIP = "127.0.0.2", "127.0.0.1"
	customerID := api.create("/api/v1/customers", map[string]any{"name": "TCP Customer", "currency": "USD"})
	api.create("/api/v1/customers/"+customerID+"/ips", map[string]any{"cidr": customerIP})

	// Two carriers: 1212 goes to one on UDP, 1213 to one on TCP.
	udpPort, tcpPort := freeUDPPort(t, carrierIP), freeTCPPort(t, carrierIP)
	carrier := func(name, prefix, rate, transport string, port int) (id, card string) {
		id = api.create("/api/v1/carriers", map[string]any{"name": name, "currency": "USD"})
		api.create("/api/v1/carriers/"+id+"/endpoints", map[string]any{"host": carrierIP, "port": port, "transport": transport})
		card = api.create("/api/v1/ratecards", map[string]any{"name": name + " buy", "kind": "provider", "carrier_id": id, "currency": "USD", "precision": 4})
		api.do("PUT", "/api/v1/ratecards/"+card+"/rates", []map[string]any{{"prefix": prefix, "rate": rate}}, 200, nil)
		return id, card
	}
	udpCarrier, udpCard := carrier("UDP Carrier", "1212", "0.0040", "udp", udpPort)
	tcpCarrier, tcpCard := carrier("TCP Carrier", "1213", "0.0050", "tcp", tcpPort)
	sell := api.create("/api/v1/ratecards", map[string]any{"name": "sell", "kind": "customer", "provider_cards": []string{udpCard, tcpCard}, "currency": "USD", "precision": 4})
	api.do("PUT", "/api/v1/ratecards/"+sell+"/rates", []map[string]any{{"prefix": "1", "rate": "0.0100"}}, 200, nil)
	api.create("/api/v1/customers/"+customerID+"/routes", map[string]any{"prefix": "", "card_id": sell})
	target := sw.SIPAddr.String()
	ctUDP, ctTCP := "<sip:"+target+">", "<sip:"+target+";transport=tcp>"
	money := func(s string) rating.Money { m, _ := rating.ParseMoney(s); return m }

	tests := []struct {
		name        string
		uac, uas    string // scenarios
		customerTCP bool
		carrierTCP  bool
		number      string
		side        string // who hangs up
		carrierID   string
		buy         string // buy cost of the 60 s billed
		contact     string // the switch's Contact as the carrier sees it
	}{
		{name: "TCP customer, UDP carrier", uac: "sipp/uac.xml", uas: "sipp/uas.xml", customerTCP: true,
			number: "12125550200", side: "customer", carrierID: udpCarrier, buy: "0.004", contact: ctUDP},
		{name: "UDP customer, TCP carrier", uac: "sipp/uac.xml", uas: "sipp/uas.xml", carrierTCP: true,
			number: "12135550201", side: "customer", carrierID: tcpCarrier, buy: "0.005", contact: ctTCP},
		{name: "TCP both legs", uac: "sipp/uac.xml", uas: "sipp/uas.xml", customerTCP: true, carrierTCP: true,
			number: "12135550202", side: "customer", carrierID: tcpCarrier, buy: "0.005", contact: ctTCP},
		{name: "TCP both legs, carrier hangs up", uac: "drachtio-server/uac-recv-bye.xml", uas: "drachtio-server/uas-bye.xml",
			customerTCP: true, carrierTCP: true,
			number: "12135550203", side: "carrier", carrierID: tcpCarrier, buy: "0.005", contact: ctTCP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// The UAS lingers 4 s after the BYE for a lost 200 over UDP;
			// loopback loses nothing.
			uasScenario := scenario(t, tt.uas, `<timewait milliseconds="4000"/>`, "")
			uasArgs := []string{"-trace_msg"}
			port := udpPort
			if tt.carrierTCP {
				uasArgs, port = append(uasArgs, "-t", "t1"), tcpPort
			}
			uas := startSipp(t, uasScenario, carrierIP, port, uasArgs...)
			if tt.carrierTCP {
				waitTCPListen(t, carrierIP, port) // a refused dial fails the call at once
			} else {
				time.Sleep(100 * time.Millisecond) // let it bind
			}

			uacArgs := []string{"-s", tt.number, "-d", "1000"}
			uacPort := freeUDPPort(t, customerIP)
			if tt.customerTCP {
				uacArgs, uacPort = append(uacArgs, "-t", "t1"), freeTCPPort(t, customerIP)
			}
			uac := startSipp(t, scenario(t, tt.uac), customerIP, uacPort, append(uacArgs, target)...)
			uac.wait(t, "customer")
			uas.wait(t, "carrier")

			// The switch is the carrier's peer: its own Contact, no
			// Record-Route, nothing of the customer's leg.
			if got := uas.receivedHeader(t, "Contact"); len(got) != 1 || got[0] != tt.contact {
				t.Errorf("carrier saw Contact %q, want %q", got, tt.contact)
			}
			if got := uas.receivedHeader(t, "Record-Route"); len(got) != 0 {
				t.Errorf("carrier saw Record-Route %q", got)
			}

			var got []cdr.Record
			for deadline := time.Now().Add(5 * time.Second); ; {
				var out struct {
					CDRs []cdr.Record `json:"cdrs"`
				}
				api.do("GET", "/api/v1/cdrs?limit=1000", nil, 200, &out)
				got = got[:0]
				for _, r := range out.CDRs {
					if r.Callee == tt.number {
						got = append(got, r)
					}
				}
				if len(got) > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(20 * time.Millisecond)
			}
			if len(got) != 1 {
				t.Fatalf("want 1 CDR for %s, got %+v", tt.number, got)
			}
			r := got[0]
			if !r.Final || r.Attempt != 1 || r.CustomerID != customerID || r.CarrierID != tt.carrierID ||
				r.SourceIP != customerIP || r.AuthMethod != "ip" {
				t.Errorf("CDR identity: final %v attempt %d customer %q carrier %q (want %q) source %q auth %q",
					r.Final, r.Attempt, r.CustomerID, r.CarrierID, tt.carrierID, r.SourceIP, r.AuthMethod)
			}
			if r.SIPCode != 200 || r.HangupSide != tt.side {
				t.Errorf("CDR outcome: code %d side %q, want 200 %q", r.SIPCode, r.HangupSide, tt.side)
			}
			// 60/60 billing: the 1 s call bills 60 s.
			if r.Duration < 1 || r.Duration > 3 || r.Billed != 60 {
				t.Errorf("CDR duration %d billed %d, want 1..3 and 60", r.Duration, r.Billed)
			}
			if r.SellRate != money("0.01") || r.SellCost != money("0.01") || r.BuyRate != money(tt.buy) ||
				r.BuyCost != money(tt.buy) || r.Margin != money("0.01")-money(tt.buy) {
				t.Errorf("CDR money: sell %s/%s buy %s/%s margin %s; want sell 0.01/0.01 buy %s/%s",
					r.SellRate, r.SellCost, r.BuyRate, r.BuyCost, r.Margin, tt.buy, tt.buy)
			}
		})
	}

	deadline := time.Now().Add(2 * time.Second)
	for sw.sip.ActiveCalls() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := sw.sip.ActiveCalls(); n != 0 {
		t.Errorf("%d calls left in the table", n)
	}
}
