package border

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// valueCase is one CheckValue input and the sentinel it must wrap (nil:
// accepted).
type valueCase struct {
	name, value string
	want        error
}

var valueCases = []valueCase{
	// Allow: a comma-separated list of methods, possibly empty
	// (RFC 3261 §25.1: Allow = "Allow" HCOLON [Method *(COMMA Method)]).
	{"Allow", "INVITE, ACK, BYE, CANCEL, OPTIONS, UPDATE, PRACK, INFO, REFER, NOTIFY", nil},
	{"Allow", "INVITE,ACK", nil},
	{"Allow", "INVITE , \tACK", nil},
	{"Allow", "", nil},
	{"Allow", "INVITE ACK", ErrSyntax},
	{"Allow", "INVITE,,ACK", ErrSyntax},
	{"Allow", "INVITE,", ErrSyntax},
	{"Allow", "INVITE;x=1", ErrSyntax},
	{"Allow", strings.TrimSuffix(strings.Repeat("A,", 33), ","), ErrSyntax}, // over maxItems

	// Supported (k): option tags, possibly empty (RFC 3261 §25.1).
	{"Supported", "timer, 100rel, replaces, norefersub", nil},
	{"k", "timer", nil},
	{"Supported", "", nil},
	{"Supported", "time r", ErrSyntax},
	{"Supported", "timer;x", ErrSyntax},
	{"k", "timer,", ErrSyntax},
	{"Supported", `"timer"`, ErrSyntax},

	// Require: at least one option tag.
	{"Require", "100rel", nil},
	{"Require", "timer,100rel", nil},
	{"Require", "nothingSupportsThis, nothingSupportsThisEither", nil}, // RFC 4475 bext01
	{"Require", "", ErrSyntax},
	{"Require", "  ", ErrSyntax},
	{"Require", "100rel timer", ErrSyntax},
	{"Unsupported", "timer", nil},
	{"Unsupported", "", ErrSyntax},

	// Privacy (RFC 3323 §4.2): priv-value *(";" priv-value).
	{"Privacy", "id", nil},
	{"Privacy", "none", nil},
	{"Privacy", "user;id", nil},
	{"Privacy", "", ErrSyntax},
	{"Privacy", "id user", ErrSyntax},

	// Session-Expires (x), RFC 4028: delta-seconds *(SEMI se-params).
	{"Session-Expires", "1800", nil},
	{"Session-Expires", "1800;refresher=uac", nil},
	{"x", "90 ; refresher=uas", nil},
	{"Session-Expires", "1800;refresher=uac;x-param=\"quoted value\"", nil},
	{"Session-Expires", "4294967295", nil},
	{"Session-Expires", "", ErrSyntax},
	{"Session-Expires", "abc", ErrSyntax},
	{"Session-Expires", "-1", ErrSyntax},
	{"Session-Expires", "+1800", ErrSyntax},
	{"Session-Expires", "1800.5", ErrSyntax},
	{"Session-Expires", "1 800", ErrSyntax},
	{"Session-Expires", "12345678901", ErrSyntax},
	{"Session-Expires", ";refresher=uac", ErrSyntax},
	{"Session-Expires", "1800;=uac", ErrSyntax},
	{"Session-Expires", "1800;refresher=u c", ErrSyntax},
	{"Session-Expires", "1800;refresher=uac;", ErrSyntax},
	{"Session-Expires", "1800;;refresher=uac", ErrSyntax},
	{"Session-Expires", "1800;", ErrSyntax},

	// Min-SE, RFC 4028: delta-seconds *(SEMI generic-param).
	{"Min-SE", "90", nil},
	{"Min-SE", "90;x=y", nil},
	{"Min-SE", "", ErrSyntax},
	{"Min-SE", "ninety", ErrSyntax},
	{"Min-SE", "90 90", ErrSyntax},

	// Retry-After, RFC 3261 §20.33: delta-seconds [comment] *(SEMI retry-param).
	{"Retry-After", "120", nil},
	{"Retry-After", "120 (busy)", nil},
	{"Retry-After", "120 (busy);duration=60", nil},
	{"Retry-After", "18000;duration=3600", nil},
	{"Retry-After", "", ErrSyntax},
	{"Retry-After", "soon", ErrSyntax},
	{"Retry-After", "(busy) 120", ErrSyntax},
	{"Retry-After", "949302838503028349304023988", ErrSyntax}, // RFC 4475 scalarlg
	{"Retry-After", "120;duration=a b", ErrSyntax},
	{"Retry-After", "120 (busy", ErrSyntax},
	{"Retry-After", "120 (busy) soon", ErrSyntax},

	// Content-Type (c): type "/" subtype *(";" parameter).
	{"Content-Type", "application/sdp", nil},
	{"c", "application/sdp", nil},
	{"Content-Type", "Application/SDP", nil},
	{"Content-Type", "application/sdp; charset=utf-8", nil},
	{"Content-Type", `text/plain;charset="utf-8"`, nil},
	{"Content-Type", "multipart/mixed;boundary=7a9cbec02ceef655", nil}, // RFC 4475 mpart01
	{"Content-Type", "application/vnd.3gpp.ussd+xml", nil},
	{"Content-Type", "", ErrSyntax},
	{"Content-Type", "application", ErrSyntax},
	{"Content-Type", "application/", ErrSyntax},
	{"Content-Type", "/sdp", ErrSyntax},
	{"Content-Type", "application sdp", ErrSyntax},
	{"Content-Type", "application/sdp/x", ErrSyntax},
	{"Content-Type", "application/sdp, text/plain", ErrSyntax},
	{"Content-Type", "application/sdp;;charset=utf-8", ErrSyntax},
	{"Content-Type", "application/sdp;charset=\"utf-8", ErrSyntax},
	{"Content-Type", "application/sdp;", ErrSyntax},

	// Accept: a possibly empty list of media ranges.
	{"Accept", "application/sdp", nil},
	{"Accept", "application/sdp, application/isup, application/dtmf-relay", nil},
	{"Accept", "application/*, */*", nil},
	{"Accept", "application/sdp;q=0.8, text/plain;q=0.2", nil},
	{"Accept", "text/nobodyKnowsThis", nil}, // RFC 4475 sdp01
	{"Accept", "", nil},
	{"Accept", "application/sdp,", ErrSyntax},
	{"Accept", ",", ErrSyntax},
	{"Accept", "sdp", ErrSyntax},
	{"Accept", "application/sdp text/plain", ErrSyntax},

	// Reason, RFC 3326: protocol *(SEMI reason-params), comma-separated.
	{"Reason", `Q.850;cause=16;text="Normal call clearing"`, nil},
	{"Reason", `SIP;cause=200;text="Call completed elsewhere"`, nil},
	{"Reason", `SIP;cause=487, Q.850;cause=31`, nil},
	{"Reason", `Q.850 ; cause=16 ; text="Normal call clearing"`, nil},
	{"Reason", `Q.850;cause=16;text="Отбой"`, nil},
	{"Reason", `Q.850;cause=16;text="say \"bye\""`, nil},
	{"Reason", `Q.850;cause=31;text="Normal, unspecified"`, nil}, // the Q.850 text of cause 31
	{"Reason", `SIP;cause=480;text="Away; back at 5"`, nil},
	{"Reason", "", ErrSyntax},
	{"Reason", `Q 850;cause=16`, ErrSyntax},
	{"Reason", `Q.850;cause=16;text=Normal call clearing`, ErrSyntax},
	{"Reason", `Q.850;cause=16;text="Normal call clearing`, ErrSyntax},
	{"Reason", `Q.850;cause=16;text="a"b"`, ErrSyntax},
	{"Reason", `Q.850;cause=16;text="a\"`, ErrSyntax},
	{"Reason", `Q.850;cause=16,`, ErrSyntax},

	// Priority, RFC 3261 §20.26: one token.
	{"Priority", "emergency", nil},
	{"Priority", "urgent", nil},
	{"Priority", "non-urgent", nil},
	{"Priority", "", ErrSyntax},
	{"Priority", "very urgent", ErrSyntax},
	{"Priority", "urgent,normal", ErrSyntax},
	{"Priority", "(urgent)", ErrSyntax},

	// Event (o), RFC 6665: event-type *(SEMI event-param).
	{"Event", "presence", nil},
	{"Event", "dialog;id=1", nil},
	{"o", "refer;id=123", nil},
	{"Event", "message-summary", nil},
	{"Event", "", ErrSyntax},
	{"Event", "pres ence", ErrSyntax},
	{"Event", "dialog;id=", ErrSyntax},
	{"Event", "dialog;id=a b", ErrSyntax},

	// Content-Disposition: disp-type *(SEMI disp-param).
	{"Content-Disposition", "session", nil},
	{"Content-Disposition", "session;handling=required", nil},
	{"Content-Disposition", "", ErrSyntax},
	{"Content-Disposition", "session handling", ErrSyntax},

	// Headers without a grammar here: printable, not blank.
	{"Subject", "Weekly sync", nil},
	{"X-Custom", "a\tb", nil},
	{"X-Custom", "Привет, 世界", nil},
	{"X-Custom", ";;,,;;,;", nil}, // RFC 4475 wsinv UnknownHeaderWithUnusualValue
	{"X-Custom", strings.Repeat("a", MaxValue), nil},
	{"X-Custom", "", ErrSyntax},
	{"X-Custom", " \t ", ErrSyntax},

	// Only SP and HTAB are white space in SIP (RFC 3261 §25.1 LWS), not
	// the other Unicode spaces.
	{"Session-Expires", "\u00a01800", ErrSyntax},
	{"x", "\u20000", ErrSyntax},
	{"Min-SE", "90\u3000", ErrSyntax},
	{"Supported", "timer,\u2003100rel", ErrSyntax},
	{"Priority", "\u3000urgent", ErrSyntax},
	{"Event", "dialog\u00a0;id=1", ErrSyntax},

	// Length before anything else.
	{"X-Custom", strings.Repeat("a", MaxValue+1), ErrTooLong},
	{"Supported", strings.Repeat("timer,", 100) + "timer", ErrTooLong},
	{"Reason", `Q.850;cause=16;text="` + strings.Repeat("x", MaxValue) + `"`, ErrTooLong},
}

func TestCheckValue(t *testing.T) {
	for _, tc := range valueCases {
		t.Run(tc.name+"/"+short(tc.value), func(t *testing.T) {
			err := CheckValue(tc.name, tc.value)
			if tc.want == nil && err != nil {
				t.Fatalf("CheckValue(%q, %q) = %v, want nil", tc.name, tc.value, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckValue(%q, %q) = %v, want %v", tc.name, tc.value, err, tc.want)
			}
		})
	}
}

// TestCheckValueControl puts each control byte at the start, in the middle
// and at the end of a value each header accepts: all are refused.
func TestCheckValueControl(t *testing.T) {
	good := map[string]string{
		"Allow":               "INVITE, ACK",
		"Supported":           "timer",
		"k":                   "timer",
		"Require":             "100rel",
		"Privacy":             "id",
		"Session-Expires":     "1800;refresher=uac",
		"Min-SE":              "90",
		"Retry-After":         "120 (busy);duration=60",
		"Content-Type":        "application/sdp",
		"Accept":              "application/sdp",
		"Reason":              `Q.850;cause=16;text="Normal call clearing"`,
		"Priority":            "urgent",
		"Event":               "dialog;id=1",
		"Content-Disposition": "session",
		"X-Custom":            "hello world",
	}
	ctl := []byte{0x00, '\r', '\n', 0x7f, 0x01, 0x08, 0x0b, 0x0c, 0x1b, 0x1f}
	for name, v := range good {
		if err := CheckValue(name, v); err != nil {
			t.Fatalf("base value %s: %q: %v", name, v, err)
		}
		for _, c := range ctl {
			for _, pos := range []int{0, len(v) / 2, len(v)} {
				bad := v[:pos] + string(c) + v[pos:]
				t.Run(fmt.Sprintf("%s/%#02x@%d", name, c, pos), func(t *testing.T) {
					if err := CheckValue(name, bad); !errors.Is(err, ErrControl) {
						t.Errorf("CheckValue(%q, %q) = %v, want ErrControl", name, bad, err)
					}
				})
			}
		}
	}
	// A folded line (CRLF + space) is no exception.
	if err := CheckValue("Subject", "part one\r\n part two"); !errors.Is(err, ErrControl) {
		t.Errorf("folded value: %v", err)
	}
}

func TestCheckBody(t *testing.T) {
	for _, tc := range []struct {
		desc string
		ct   string
		body string
		want error
	}{
		{"SDP", "application/sdp", sessionSDP, nil},
		{"SDP with params and case", "Application/SDP; charset=utf-8", sessionSDP, nil},
		{"bad SDP", "application/sdp", "v=1\r\n", ErrSyntax},
		{"dtmf-relay", "application/dtmf-relay", "Signal=5\r\nDuration=160\r\n", nil},
		{"dtmf", "application/dtmf", "5", nil},
		{"dtmf-relay with LF ends", "application/dtmf-relay", "Signal=#\nDuration=250\n", nil},
		{"dtmf-relay with NUL", "application/dtmf-relay", "Signal=5\x00\r\nDuration=160\r\n", ErrControl},
		{"dtmf-relay with lone CR", "application/dtmf-relay", "Signal=5\rDuration=160", ErrControl},
		{"dtmf-relay with ESC", "application/dtmf-relay", "Signal=\x1b[2J", ErrControl},
		{"no Content-Type", "", sessionSDP, ErrBodyType},
		{"blank Content-Type", "  ", "Signal=5", ErrBodyType},
		{"unknown type", "application/unknownformat", "<body/>", ErrBodyType}, // RFC 4475 invut
		{"multipart", "multipart/mixed;boundary=7a9cbec02ceef655", "--7a9cbec02ceef655\r\n", ErrBodyType},
		{"ISUP", "application/isup", "\x01\x02", ErrBodyType},
		{"empty body, no type", "", "", nil},
		{"empty body, unknown type", "application/unknownformat", "", nil},
		{"too long", "application/dtmf-relay", strings.Repeat("a", MaxBody+1), ErrTooLong},
		{"longest", "application/dtmf", strings.Repeat("a", MaxBody), nil},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := CheckBody(tc.ct, []byte(tc.body))
			if tc.want == nil && err != nil {
				t.Fatalf("CheckBody(%q, %q) = %v, want nil", tc.ct, short(tc.body), err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckBody(%q, %q) = %v, want %v", tc.ct, short(tc.body), err, tc.want)
			}
		})
	}
}

// sessionSDP is a session description without media (RFC 8866 allows it).
const sessionSDP = "v=0\r\n" +
	"o=- 3344 3344 IN IP4 192.0.2.10\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.0.2.10\r\n" +
	"t=0 0\r\n"

// audioOffer is a plain G.711 offer with telephone-event, as any carrier
// sends it.
const audioOffer = "v=0\r\n" +
	"o=- 3344 3344 IN IP4 192.0.2.10\r\n" +
	"s=-\r\n" +
	"c=IN IP4 192.0.2.10\r\n" +
	"t=0 0\r\n" +
	"m=audio 49170 RTP/AVP 0 8 101\r\n" +
	"a=rtpmap:0 PCMU/8000\r\n" +
	"a=rtpmap:8 PCMA/8000\r\n" +
	"a=rtpmap:101 telephone-event/8000\r\n" +
	"a=fmtp:101 0-16\r\n" +
	"a=ptime:20\r\n" +
	"a=sendrecv\r\n"

// replaceLine returns sdp with the line starting with prefix replaced by
// line ("" removes it).
func replaceLine(sdp, prefix, line string) string {
	var b strings.Builder
	for _, l := range strings.SplitAfter(sdp, "\r\n") {
		if strings.HasPrefix(l, prefix) {
			if line != "" {
				b.WriteString(line + "\r\n")
			}
			continue
		}
		b.WriteString(l)
	}
	return b.String()
}

func TestCheckSDP(t *testing.T) {
	for _, tc := range []struct {
		desc string
		body string
		want error
	}{
		{"session only", sessionSDP, nil},
		{"LF line ends", strings.ReplaceAll(sessionSDP, "\r\n", "\n"), nil},
		{"no line end after the last line", strings.TrimSuffix(sessionSDP, "\r\n"), nil},
		{"bare CR after the last line", strings.TrimSuffix(sessionSDP, "\n"), ErrControl},
		{"attributes", sessionSDP + "a=sendrecv\r\na=tool:trunkline\r\nb=AS:64\r\n", nil},
		{"UTF-8 session name", replaceLine(sessionSDP, "s=", "s=Встреча"), nil},
		{"empty session name", replaceLine(sessionSDP, "s=", "s="), nil},
		{"multicast c= with TTL", replaceLine(sessionSDP, "c=", "c=IN IP4 233.252.0.1/127"), nil},
		{"c= with host name", replaceLine(sessionSDP, "c=", "c=IN IP4 media.example.com"), nil},

		// Real offers: these have m= lines with an RTP/AVP profile and
		// IPv6 connection addresses.
		{"audio offer", audioOffer, nil},
		{"audio offer, LF line ends", strings.ReplaceAll(audioOffer, "\r\n", "\n"), nil},
		{"audio and T.38", audioOffer + "m=image 49172 udptl t38\r\n", nil},
		{"SRTP offer", replaceLine(audioOffer, "m=", "m=audio 49170 RTP/SAVP 0 8 101"), nil},
		{"WebRTC profile", replaceLine(audioOffer, "m=", "m=audio 9 UDP/TLS/RTP/SAVPF 111"), nil},
		{"port count", replaceLine(audioOffer, "m=", "m=audio 49170/2 RTP/AVP 0"), nil},
		{"IPv6 (RFC 5118 §4.6)", "v=0\r\n" +
			"o=assistant 971731711378798081 0 IN IP6 2001:db8::20\r\n" +
			"s=Live video feed for today's meeting\r\n" +
			"c=IN IP6 2001:db8::20\r\n" +
			"t=3338481189 3370017201\r\n" +
			"m=audio 6000 RTP/AVP 2\r\n" +
			"a=rtpmap:2 G726-32/8000\r\n", nil},
		{"IPv6 c= only", replaceLine(sessionSDP, "c=", "c=IN IP6 2001:db8::1"), nil},
		{"IPv4-mapped IPv6 (RFC 5118 §4.9)", replaceLine(sessionSDP, "c=", "c=IN IP6 ::ffff:192.0.2.2"), nil},

		{"empty", "", ErrSyntax},
		{"v=0 not first", "o=- 1 1 IN IP4 192.0.2.10\r\nv=0\r\ns=-\r\nt=0 0\r\n", ErrSyntax},
		{"no v=", replaceLine(sessionSDP, "v=", ""), ErrSyntax},
		{"v=1", replaceLine(sessionSDP, "v=", "v=1"), ErrSyntax},
		{"second v=", sessionSDP + "v=0\r\n", ErrSyntax},
		{"no o=", replaceLine(sessionSDP, "o=", ""), ErrSyntax},
		{"no s=", replaceLine(sessionSDP, "s=", ""), ErrSyntax},
		{"no t=", replaceLine(sessionSDP, "t=", ""), ErrSyntax},
		{"short o=", replaceLine(sessionSDP, "o=", "o=- 3344 IN IP4 192.0.2.10"), ErrSyntax},
		{"t= not numbers", replaceLine(sessionSDP, "t=", "t=now later"), ErrSyntax},
		{"t= one number", replaceLine(sessionSDP, "t=", "t=0"), ErrSyntax},
		{"c= without address", replaceLine(sessionSDP, "c=", "c=IN IP4"), ErrSyntax},
		{"c= network type", replaceLine(sessionSDP, "c=", "c=XX IP4 192.0.2.10"), ErrSyntax},
		{"c= address type", replaceLine(sessionSDP, "c=", "c=IN IPX 192.0.2.10"), ErrSyntax},
		{"c= address junk", replaceLine(sessionSDP, "c=", "c=IN IP4 192.0.2.10;rm -rf"), ErrSyntax},
		{"c= extra field", replaceLine(sessionSDP, "c=", "c=IN IP4 192.0.2.10 x"), ErrSyntax},
		{"m= too short", sessionSDP + "m=audio 49170 RTP/AVP\r\n", ErrSyntax},
		{"m= port not a number", sessionSDP + "m=audio x RTP/AVP 0\r\n", ErrSyntax},
		{"m= port too long", sessionSDP + "m=audio 123456 RTP/AVP 0\r\n", ErrSyntax},
		{"m= media not a token", sessionSDP + "m=au\"dio 49170 RTP/AVP 0\r\n", ErrSyntax},
		{"m= empty", sessionSDP + "m=\r\n", ErrSyntax},
		{"upper-case type", sessionSDP + "A=sendrecv\r\n", ErrSyntax},
		{"no =", sessionSDP + "a\r\n", ErrSyntax},
		{"space before =", sessionSDP + "a =sendrecv\r\n", ErrSyntax},
		{"blank line inside", strings.Replace(sessionSDP, "s=-\r\n", "s=-\r\n\r\n", 1), ErrSyntax},
		{"two line ends at the end", sessionSDP + "\r\n", ErrSyntax},
		{"SIP message, not SDP", "INVITE sip:bob@example.com SIP/2.0\r\n", ErrSyntax},

		{"NUL", replaceLine(sessionSDP, "s=", "s=a\x00b"), ErrControl},
		{"TAB", replaceLine(sessionSDP, "s=", "s=a\tb"), ErrControl},
		{"lone CR", replaceLine(sessionSDP, "s=", "s=a\rb"), ErrControl},
		{"DEL", replaceLine(sessionSDP, "s=", "s=a\x7fb"), ErrControl},
		{"ESC", sessionSDP + "a=tool:\x1b[2J\r\n", ErrControl},
		{"CR CR LF", strings.Replace(sessionSDP, "s=-\r\n", "s=-\r\r\n", 1), ErrControl},

		{"too long", sessionSDP + strings.Repeat("a=x\r\n", MaxBody/5), ErrTooLong},
		{"too many lines", sessionSDP + strings.Repeat("a=x\r\n", 200), ErrTooLong},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			err := CheckSDP([]byte(tc.body))
			if tc.want == nil && err != nil {
				t.Fatalf("CheckSDP(%q) = %v, want nil", short(tc.body), err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckSDP(%q) = %v, want %v", short(tc.body), err, tc.want)
			}
		})
	}
}

// short abbreviates long test inputs in subtest names and messages.
func short(s string) string {
	if len(s) > 60 {
		return fmt.Sprintf("%s…(%d bytes)", s[:40], len(s))
	}
	return s
}
