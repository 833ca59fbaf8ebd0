package border

import (
	"errors"
	"strings"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

// The seed corpora under testdata/fuzz/ hold header values and SDP bodies
// taken from RFC 4475, RFC 5118 and PROTOS c07-sip (see
// testdata/SOURCES.md); the f.Add seeds below are written by hand.

// isSentinel reports whether err wraps one of the package's errors.
func isSentinel(err error) bool {
	return errors.Is(err, ErrControl) || errors.Is(err, ErrTooLong) || errors.Is(err, ErrSyntax) || errors.Is(err, ErrBodyType)
}

// control returns the index of the first byte below 0x20 (but TAB when
// tabOK) or DEL in s, or -1.
func control(s string, tabOK bool) int {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 && !(tabOK && c == '\t') || c == 0x7f {
			return i
		}
	}
	return -1
}

// FuzzCheckValue checks that a value CheckValue accepts has no control byte
// but TAB, fits MaxValue, and follows the outline of its header's RFC
// grammar; and that refusals wrap a sentinel.
func FuzzCheckValue(f *testing.F) {
	for _, tc := range valueCases {
		if len(tc.value) <= 200 {
			f.Add(tc.name, tc.value)
		}
	}
	f.Add("Supported", "timer,\t100rel")
	f.Add("Session-Expires", "1800;refresher=uac\x00")
	f.Add("Reason", "Q.850;cause=16;text=\"a\\\x7fb\"")
	f.Add("Content-Type", "application/sdp;\r\n boundary=x")
	f.Add("X-Custom", strings.Repeat("é", MaxValue/2))
	f.Fuzz(func(t *testing.T, name, value string) {
		err := CheckValue(name, value)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("CheckValue(%q, %q) = %v: no sentinel", name, value, err)
			}
			return
		}
		if len(value) > MaxValue {
			t.Fatalf("CheckValue(%q, %d bytes) accepted more than MaxValue", name, len(value))
		}
		if i := control(value, true); i >= 0 {
			t.Fatalf("CheckValue(%q, %q) accepted control byte %#02x at %d", name, value, value[i], i)
		}
		if err := CheckValue(Name(name), value); err != nil {
			t.Fatalf("CheckValue(%q) accepted %q but its long form %q refused it: %v", name, value, Name(name), err)
		}
		switch Name(name) {
		case "allow", "supported", "require", "unsupported", "proxy-require":
			// token *(COMMA token), with LWS around the commas.
			for i := 0; i < len(value); i++ {
				if c := value[i]; !isToken(string(c)) && c != ',' && c != ' ' && c != '\t' {
					t.Fatalf("%s: accepted %q with %q", name, value, c)
				}
			}
		case "session-expires", "min-se", "retry-after":
			// delta-seconds first.
			if v := strings.TrimLeft(value, " \t"); v == "" || v[0] < '0' || v[0] > '9' {
				t.Fatalf("%s: accepted %q, which does not start with a number", name, value)
			}
		case "content-type":
			if !strings.Contains(value, "/") || strings.Contains(value, ",") && !strings.Contains(value, `"`) {
				t.Fatalf("%s: accepted %q", name, value)
			}
		}
	})
}

// FuzzCheckSDP checks that a body CheckSDP accepts is a list of type=value
// lines (CRLF or LF ends) without control bytes, v=0 first, with o=, s=
// and t=; and that refusals wrap a sentinel.
func FuzzCheckSDP(f *testing.F) {
	f.Add([]byte(sessionSDP))
	f.Add([]byte(audioOffer))
	f.Add([]byte(strings.ReplaceAll(audioOffer, "\r\n", "\n")))
	f.Add([]byte(strings.TrimSuffix(sessionSDP, "\n")))
	f.Add([]byte(sessionSDP + "\r\n"))
	f.Add([]byte(sessionSDP + "a=x\r\r\n"))
	f.Add([]byte(sessionSDP + "a=\t\r\n"))
	f.Add([]byte(sessionSDP + "m=\r\n"))
	f.Add([]byte("v=0\r\nv=0\r\no=- 1 1 IN IP4 h\r\ns=-\r\nt=0 0\r\n"))
	f.Add([]byte("v=0\no=- 1 1 IN IP6 ::1\ns= \nc=IN IP6 [::1]/1\nt=0 0\n\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		err := CheckSDP(body)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("CheckSDP(%q) = %v: no sentinel", body, err)
			}
			return
		}
		if len(body) > MaxBody {
			t.Fatalf("CheckSDP accepted %d bytes", len(body))
		}
		lines := strings.Split(string(body), "\n")
		if lines[len(lines)-1] == "" {
			lines = lines[:len(lines)-1] // the last line's end
		}
		seen := map[byte]bool{}
		for i, line := range lines {
			line = strings.TrimSuffix(line, "\r")
			if len(line) < 2 || line[0] < 'a' || line[0] > 'z' || line[1] != '=' {
				t.Fatalf("CheckSDP(%q) accepted line %d %q", body, i+1, line)
			}
			if j := control(line, false); j >= 0 {
				t.Fatalf("CheckSDP(%q) accepted control byte %#02x in line %d %q", body, line[j], i+1, line)
			}
			if i == 0 && line != "v=0" {
				t.Fatalf("CheckSDP(%q) accepted first line %q", body, line)
			}
			seen[line[0]] = true
		}
		if !seen['o'] || !seen['s'] || !seen['t'] {
			t.Fatalf("CheckSDP(%q) accepted a body without o=, s= or t=", body)
		}
	})
}

// leak is a host the seeds give the caller: it must not reach the output
// but as part of a display name or user part that carries it.
const leak = "leak.example"

// plainHost reports a host name or IPv4 address, what the switch uses as
// its own host.
func plainHost(h string) bool {
	if h == "" || len(h) > 100 {
		return false
	}
	for i := 0; i < len(h); i++ {
		if c := h[i]; !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// splitAddress takes apart what Address writes: [quoted-name SP] "<"
// scheme ":" [user "@"] host ">" (tel: "<tel:" user ">"). name is the
// quoted-string's content, escapes kept.
func splitAddress(s string) (name, scheme, user, host string, ok bool) {
	lt := strings.LastIndexByte(s, '<')
	if lt < 0 || !strings.HasSuffix(s, ">") {
		return "", "", "", "", false
	}
	if lt > 0 {
		q := s[:lt]
		if len(q) < 4 || q[0] != '"' || !strings.HasSuffix(q, `" `) {
			return "", "", "", "", false
		}
		name = q[1 : len(q)-2]
		for i := 0; i < len(name); i++ {
			switch name[i] {
			case '\\':
				if i++; i == len(name) {
					return "", "", "", "", false
				}
			case '"':
				return "", "", "", "", false
			}
		}
	}
	scheme, rest, ok := strings.Cut(s[lt+1:len(s)-1], ":")
	if !ok {
		return "", "", "", "", false
	}
	switch scheme {
	case "sip":
		user, host, ok = strings.Cut(rest, "@")
		if !ok {
			user, host = "", rest
		}
	case "tel":
		user = rest
	default:
		return "", "", "", "", false
	}
	return name, scheme, user, host, true
}

// FuzzIdentity checks that what Identity returns is a name-addr with a
// checked user at exactly the given host (tel: no host), without control
// bytes, with no more of the input's host than the input's own display name
// and user part carried, and that rewriting it again changes nothing.
func FuzzIdentity(f *testing.F) {
	const host = "switch.example"
	for _, v := range []string{
		`"Bob" <sip:+15551234567@leak.example;user=phone>;x=y`,
		`<sip:alice@leak.example:5060;transport=udp?X-A=leak.example>;tag=1`,
		`sip:+15551234567@leak.example;user=phone`,
		`<sips:alice:secret@leak.example>`,
		`Bob <sip:bob@leak.example>`,
		`"leak.example" <sip:leak.example@leak.example>`,
		`"Alice" <tel:+15551234567;phone-context=leak.example>`,
		`<sip:alice@[2001:db8::10]:5070>`,
		`<sip:%40leak.example@10.0.0.1>`,
		`"Bob" <sip:bob@leak.example`,
		`<sip:bob@leak.example>` + "\r\nVia: SIP/2.0/UDP leak.example",
		`<http://leak.example/>`,
	} {
		f.Add(v, host)
	}
	f.Add(`<sip:alice@leak.example>`, leak)
	f.Add(`<sip:alice@leak.example>`, "")
	f.Fuzz(func(t *testing.T, value, host string) {
		if !plainHost(host) {
			host = "switch.example" // the switch's own host is configuration, not input
		}
		out, err := Identity(value, host)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("Identity(%q) = %v: no sentinel", value, err)
			}
			return
		}
		if i := control(out, true); i >= 0 {
			t.Fatalf("Identity(%q) = %q: control byte %#02x", value, out, out[i])
		}
		name, scheme, user, outHost, ok := splitAddress(out)
		if !ok {
			t.Fatalf("Identity(%q) = %q: not a name-addr", value, out)
		}
		if scheme == "sip" && outHost != host {
			t.Fatalf("Identity(%q, %q) = %q: host %q", value, host, out, outHost)
		}
		if user == "" || CheckUser(user) != nil {
			t.Fatalf("Identity(%q) = %q: user %q", value, out, user)
		}
		if !strings.Contains(value, user) {
			t.Fatalf("Identity(%q) = %q: user %q is not in the input", value, out, user)
		}

		// The host of the input URI: it may reach the output only inside
		// the display name and user part, as often as the input's own
		// display name and user part carry it. Names are compared
		// unescaped; unescaping never removes an occurrence of a string
		// without a backslash or '"'.
		var u gosip.Uri
		inName, err := gosip.ParseAddressValue(value, &u, &gosip.HeaderParams{})
		if err != nil {
			t.Fatalf("Identity accepted %q, which sipgo does not parse: %v", value, err)
		}
		inUser := u.User
		if strings.EqualFold(u.Scheme, "tel") {
			inUser, _, _ = strings.Cut(u.Raw(), ";")
		}
		for _, m := range []string{u.Host, leak} {
			if m == "" || strings.ContainsAny(m, `"\\`) {
				continue
			}
			allowed := strings.Count(Unescape(inName), m) + strings.Count(inUser, m)
			if got := strings.Count(Unescape(name), m) + strings.Count(user, m); got > allowed {
				t.Fatalf("Identity(%q, %q) = %q: the input's host %q crossed (%q %d times, the input's name and user carry it %d times)",
					value, host, out, u.Host, m, got, allowed)
			}
		}

		again, err := Identity(out, host)
		if errors.Is(err, ErrTooLong) {
			return // escaping made the display name longer than maxUser
		}
		if err != nil || again != out {
			t.Fatalf("Identity(%q) = %q, but Identity(%q) = %q, %v", value, out, out, again, err)
		}
	})
}
