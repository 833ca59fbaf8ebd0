package media

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/sip/border"
)

const offerSDP = "v=0\r\n" +
	"o=- 1 1 IN IP4 10.0.0.5\r\n" +
	"s=-\r\n" +
	"c=IN IP4 10.0.0.5\r\n" +
	"t=0 0\r\n" +
	"m=audio 40000 RTP/AVP 8 0 101\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtcp:40001 IN IP4 10.0.0.5\r\n" +
	"a=candidate:1 1 UDP 2130706431 10.0.0.5 40000 typ host\r\n" +
	"a=ice-ufrag:abcd\r\n" +
	"a=sendrecv\r\n" +
	"m=video 40002 RTP/AVP 96\r\n" +
	"c=IN IP4 10.0.0.6\r\n"

// The first audio stream moves to the relay; RTCP and ICE attributes go;
// another stream is refused; what the party offered is read.
func TestRewrite(t *testing.T) {
	relay := netip.MustParseAddr("192.0.2.1")
	out, o, err := Rewrite([]byte(offerSDP), relay, 30000)
	if err != nil {
		t.Fatal(err)
	}
	s := string(out)
	if err := border.CheckSDP(out); err != nil || strings.Contains(s, "\r\n\r\n") {
		t.Errorf("rewritten SDP is not well formed (%v):\n%q", err, s)
	}
	for _, want := range []string{"o=- 1 1 IN IP4 192.0.2.1\r\n", "c=IN IP4 192.0.2.1\r\n", "m=audio 30000 RTP/AVP 8 0 101\r\n", "m=video 0 RTP/AVP 96\r\n", "a=rtpmap:8 PCMA/8000\r\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("rewritten SDP lacks %q:\n%s", want, s)
		}
	}
	for _, gone := range []string{"10.0.0.5", "a=rtcp", "candidate", "ice-ufrag", "10.0.0.6"} {
		if strings.Contains(s, gone) {
			t.Errorf("rewritten SDP still has %q:\n%s", gone, s)
		}
	}
	if o.Remote != netip.MustParseAddrPort("10.0.0.5:40000") || o.Direction != SendRecv || o.Clock != 8000 || o.OnHold() {
		t.Errorf("offer %+v", o)
	}
	// A stream-level address wins over the session's; hold; IPv6; wide clock.
	hold := "v=0\no=pbx 7 8 IN IP4 198.51.100.1\nc=IN IP4 198.51.100.1\nm=audio 5004 RTP/AVP 96\nc=IN IP6 2001:db8::7\na=rtpmap:96 opus/48000/2\na=sendonly\n"
	out, o, err = Rewrite([]byte(hold), netip.MustParseAddr("2001:db8::1"), 30002)
	if err != nil {
		t.Fatal(err)
	}
	if o.Remote != netip.MustParseAddrPort("[2001:db8::7]:5004") || !o.OnHold() || o.Clock != 48000 || !strings.Contains(string(out), "c=IN IP6 2001:db8::1\n") ||
		!strings.Contains(string(out), "o=- 7 8 IN IP6 2001:db8::1\n") || strings.Contains(string(out), "198.51.100.1") || strings.Contains(string(out), "pbx") {
		t.Errorf("offer %+v\n%s", o, out)
	}
	// Session-level lines end at the first m=, whatever its media; a
	// declined audio stream stays declined; hold by 0.0.0.0 stays; RTCP
	// multiplexing and alternative addresses go; a=rtcp's port is kept.
	tricky := "v=0\r\no=x 1 1 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 203.0.113.10\r\nt=0 0\r\n" +
		"m=video 5000 RTP/AVP 96\r\nc=IN IP4 198.51.100.99\r\na=inactive\r\n" +
		"m=audio 0 RTP/AVP 0\r\n" +
		"m=audio 4000 RTP/AVP 0\r\na=rtcp:4005\r\na=rtcp-mux\r\na=altc:1 IP6 2001:db8::5 4000\r\n"
	out, o, err = Rewrite([]byte(tricky), relay, 30000)
	if err != nil {
		t.Fatal(err)
	}
	if o.Remote != netip.MustParseAddrPort("203.0.113.10:4000") || o.Direction != SendRecv || o.RTCPPort != 4005 {
		t.Errorf("offer of the tricky SDP %+v", o)
	}
	if s := string(out); !strings.Contains(s, "m=audio 0 RTP/AVP 0\r\nm=audio 30000 RTP/AVP 0\r\n") || strings.Contains(s, "rtcp-mux") || strings.Contains(s, "altc") || strings.Contains(s, "2001:db8::5") {
		t.Errorf("the tricky SDP rewritten:\n%s", s)
	}
	held := "v=0\r\no=- 1 2 IN IP4 203.0.113.10\r\ns=-\r\nc=IN IP4 0.0.0.0\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n"
	out, o, err = Rewrite([]byte(held), relay, 30000)
	if err != nil || !o.OnHold() || !strings.Contains(string(out), "c=IN IP4 0.0.0.0\r\n") {
		t.Errorf("hold by 0.0.0.0: %v %+v\n%s", err, o, out)
	}
	if _, _, err := Rewrite([]byte("v=0\r\nc=IN IP6 2001:db8::9\r\nm=audio 4000 RTP/AVP 0\r\n"), relay, 30000); err == nil {
		t.Error("an IPv6 party on an IPv4 relay was accepted")
	}
	for _, bad := range []string{"", "v=0\r\nm=video 1 RTP/AVP 96\r\nc=IN IP4 192.0.2.9\r\n", "v=0\r\nc=IN IP4 not-an-ip\r\nm=audio 1 RTP/AVP 0\r\n",
		"v=0\r\nc=IN IP6 192.0.2.1\r\nm=audio 1 RTP/AVP 0\r\n", "v=0\r\nc=IN IP4 192.0.2.1\r\nm=audio 99999 RTP/AVP 0\r\n", strings.Repeat("a=x\r\n", 300)} {
		if _, _, err := Rewrite([]byte(bad), netip.MustParseAddr("192.0.2.1"), 30000); err == nil {
			t.Errorf("Rewrite accepted %q", bad)
		}
	}
}

// FuzzRewrite: any body is rewritten or refused, never a panic; what is
// rewritten names the relay and holds no address the party offered.
func FuzzRewrite(f *testing.F) {
	f.Add([]byte(offerSDP))
	// SDP bodies of the RFC 4475 torture messages.
	files, _ := filepath.Glob("../../shared/testdata/rfc4475/*")
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		if i := strings.Index(string(b), "\r\n\r\n"); i >= 0 {
			f.Add(b[i+4:])
		}
	}
	relay := netip.MustParseAddr("198.18.0.1") // not an address the seeds use
	f.Fuzz(func(t *testing.T, body []byte) {
		out, o, err := Rewrite(body, relay, 30000)
		if err != nil {
			return
		}
		if !o.Remote.IsValid() {
			t.Fatalf("rewritten with no remote: %q", body)
		}
		if o.Remote.Addr().IsUnspecified() {
			return // hold by 0.0.0.0: the address stays
		}
		if !strings.Contains(string(out), "c=IN IP4 198.18.0.1") {
			t.Fatalf("rewritten without the relay: %q -> %q", body, out)
		}
		for _, line := range strings.Split(string(out), "\n") {
			if (strings.HasPrefix(line, "c=") || strings.HasPrefix(line, "o=")) && strings.Contains(line, " "+o.Remote.Addr().String()) && !o.Remote.Addr().IsUnspecified() {
				t.Fatalf("a line still names the party: %q in %q", line, out)
			}
		}
		if canon := border.CanonicalSDP(body); border.CheckSDP(canon) == nil {
			// What the switch lets cross (checked, made canonical) stays
			// well formed once rewritten.
			if out, _, err := Rewrite(canon, relay, 30000); err == nil {
				if err := border.CheckSDP(out); err != nil {
					t.Fatalf("a well-formed body rewritten is not: %v\n%q -> %q", err, canon, out)
				}
			}
		}
		if _, o2, err := Rewrite(out, relay, 30000); err != nil || o2.Remote.Addr() != relay {
			t.Fatalf("the rewritten body does not read back as the relay's: %v %+v", err, o2)
		}
	})
}

// The relay sends where an SDP points only to addresses it may: not
// unspecified, multicast, broadcast or its own, and loopback or
// link-local only from a relay that is so too.
func TestSendable(t *testing.T) {
	pub, lo := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("127.0.0.1")
	for _, tt := range []struct {
		a, relay netip.Addr
		want     bool
	}{
		{netip.MustParseAddr("198.51.100.7"), pub, true},
		{netip.MustParseAddr("10.1.2.3"), pub, true}, // a private interconnect
		{netip.MustParseAddr("0.0.0.0"), pub, false},
		{netip.MustParseAddr("224.0.0.1"), pub, false},
		{netip.MustParseAddr("255.255.255.255"), pub, false},
		{pub, pub, false},
		{netip.MustParseAddr("::ffff:192.0.2.1"), pub, false},
		{netip.MustParseAddr("127.0.0.9"), pub, false},
		{netip.MustParseAddr("169.254.0.1"), pub, false},
		{netip.MustParseAddr("127.0.0.9"), lo, true},
		{lo, lo, true},
		{netip.MustParseAddr("ff02::1"), netip.MustParseAddr("2001:db8::1"), false},
		{netip.Addr{}, pub, false},
	} {
		if got := Sendable(tt.a, tt.relay); got != tt.want {
			t.Errorf("Sendable(%v, relay %v) = %v, want %v", tt.a, tt.relay, got, tt.want)
		}
	}
}
