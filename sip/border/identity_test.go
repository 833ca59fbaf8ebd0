package border

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestCheckUser(t *testing.T) {
	for _, tc := range []struct {
		user string
		want error
	}{
		{"", nil},
		{"15551234567", nil},
		{"+15551234567", nil},
		{"*67+15551234567", nil},
		{"alice", nil},
		{"a.g.bell", nil},
		{"j_user-1", nil},
		{"%41lice", nil},
		{"I%20have%20spaces", nil},                 // RFC 4475 esc01
		{"%75se%72", nil},                          // RFC 4475 esc01
		{"user;par=u%40example.net", nil},          // RFC 4475 semiuri
		{"+15551234567;isub=1234;postd=pp22", nil}, // telephone-subscriber
		{"-_.!~*'()&=+$,;?/", nil},
		{strings.Repeat("1", 64), nil},

		{"a b", ErrSyntax},
		{"<sip", ErrSyntax},
		{"a>b", ErrSyntax},
		{"alice@example.com", ErrSyntax},
		{`a"b`, ErrSyntax},
		{"a\x00b", ErrSyntax},
		{"a\tb", ErrSyntax},
		{"a\r\nVia: x", ErrSyntax},
		{"alice:secret", ErrSyntax},
		{"a#b", ErrSyntax},
		{"a[b]", ErrSyntax},
		{"a\\b", ErrSyntax},
		{"é", ErrSyntax},
		{"%", ErrSyntax},
		{"%4", ErrSyntax},
		{"a%4", ErrSyntax},
		{"%zz", ErrSyntax},
		{"%4g", ErrSyntax},
		{strings.Repeat("1", 65), ErrTooLong},
	} {
		t.Run(tc.user, func(t *testing.T) {
			err := CheckUser(tc.user)
			if tc.want == nil && err != nil {
				t.Fatalf("CheckUser(%q) = %v, want nil", tc.user, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckUser(%q) = %v, want %v", tc.user, err, tc.want)
			}
		})
	}
}

func TestCheckDisplayName(t *testing.T) {
	for _, tc := range []struct {
		name string
		want error
	}{
		{"", nil},
		{"Bob", nil},
		{"Bell, Alexander", nil},
		{"Müller", nil},
		{"山田太郎", nil},
		{`Bob \"the\" Builder`, nil},
		{"a\tb", nil},
		{strings.Repeat("a", 64), nil},
		{strings.Repeat("é", 32), nil}, // 64 bytes

		{"Bob\x00", ErrControl},
		{"Bob\r\nVia: SIP/2.0/UDP 10.0.0.1", ErrControl},
		{"Bob\n", ErrControl},
		{"Bob\x7f", ErrControl},
		{"\x1b[31mBob", ErrControl},
		{strings.Repeat("a", 65), ErrTooLong},
		{strings.Repeat("é", 33), ErrTooLong}, // 66 bytes
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckDisplayName(tc.name)
			if tc.want == nil && err != nil {
				t.Fatalf("CheckDisplayName(%q) = %v, want nil", tc.name, err)
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("CheckDisplayName(%q) = %v, want %v", tc.name, err, tc.want)
			}
		})
	}
}

func TestAddress(t *testing.T) {
	for _, tc := range []struct {
		name, scheme, user, host string
		want                     string
	}{
		{"Bob", "sip", "+15551234567", "switch.example", `"Bob" <sip:+15551234567@switch.example>`},
		{"", "sip", "alice", "switch.example", `<sip:alice@switch.example>`},
		{"", "sip", "", "switch.example", `<sip:switch.example>`},
		{"Bob", "tel", "+15551234567", "switch.example", `"Bob" <tel:+15551234567>`},
		{"", "tel", "+15551234567", "switch.example", `<tel:+15551234567>`},
		{"Bell, Alexander", "sip", "bell", "h.example", `"Bell, Alexander" <sip:bell@h.example>`},
		{`Bo"b`, "sip", "1", "h.example", `"Bo\"b" <sip:1@h.example>`},
		{`a\b`, "sip", "1", "h.example", `"a\\b" <sip:1@h.example>`},
		{`"Bob"`, "sip", "1", "h.example", `"\"Bob\"" <sip:1@h.example>`}, // plain text: its quotes are characters
		{"Müller <x>", "sip", "1", "h.example", `"Müller <x>" <sip:1@h.example>`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			if got := Address(tc.name, tc.scheme, tc.user, tc.host); got != tc.want {
				t.Errorf("Address(%q, %q, %q, %q) = %s, want %s", tc.name, tc.scheme, tc.user, tc.host, got, tc.want)
			}
		})
	}
}

// identity calls Identity and turns a panic into a test error, so that one
// bad input does not hide the results of the others.
func identity(t *testing.T, value, host string) (out string, err error) {
	t.Helper()
	defer func() {
		if r := recover(); r != nil {
			t.Errorf("Identity(%q, %q) panicked: %v", value, host, r)
			err = fmt.Errorf("panic: %v", r)
		}
	}()
	return Identity(value, host)
}

func TestIdentity(t *testing.T) {
	const host = "switch.example"
	for _, tc := range []struct {
		desc, value string
		want        string // "": an error
		// leak is the input's host, which must not appear in the output.
		leak string
	}{
		{"P-Asserted-Identity from a PBX",
			`"Bob" <sip:+15551234567@10.0.0.1;user=phone>;x=y`, `"Bob" <sip:+15551234567@switch.example>`, "10.0.0.1"},
		{"port, URI and header parameters dropped",
			`<sip:alice@10.0.0.1:5060;transport=udp?X-Leak=10.0.0.2>;tag=1`, `<sip:alice@switch.example>`, "10.0.0."},
		{"addr-spec without brackets",
			`sip:+15551234567@10.0.0.1;user=phone`, `<sip:+15551234567@switch.example>`, "10.0.0.1"},
		{"sips becomes sip",
			`<sips:alice@pbx.customer.example>`, `<sip:alice@switch.example>`, "customer.example"},
		{"unquoted display name",
			`Bob <sip:bob@pbx.customer.example>`, `"Bob" <sip:bob@switch.example>`, "customer.example"},
		{"no space before < (RFC 4475 lwsdisp)",
			`caller<sip:caller@example.com>;tag=323`, `"caller" <sip:caller@switch.example>`, "example.com"},
		{"comma in quoted name (RFC 4475 badaspec)",
			`"Bell, Alexander" <sip:a.g.bell@example.com>;tag=433423`, `"Bell, Alexander" <sip:a.g.bell@switch.example>`, "example.com"},
		{"escaped user (RFC 4475 esc01)",
			`<sip:I%20have%20spaces@example.net>;tag=938`, `<sip:I%20have%20spaces@switch.example>`, "example.net"},
		{"password dropped",
			`<sip:alice:secret@10.0.0.1>`, `<sip:alice@switch.example>`, "10.0.0.1"},
		{"IPv6 host",
			`<sip:alice@[2001:db8::10]:5070>`, `<sip:alice@switch.example>`, "2001:db8"},
		{"UTF-8 display name",
			`"Müller" <sip:+4930123@10.0.0.1>`, `"Müller" <sip:+4930123@switch.example>`, "10.0.0.1"},
		{"tel URI",
			`"Alice" <tel:+15551234567>`, `"Alice" <tel:+15551234567>`, ""},
		{"tel URI parameters dropped",
			`<tel:+15551234567;phone-context=pbx.customer.example>;x=y`, `<tel:+15551234567>`, "customer.example"},
		{"upper-case scheme",
			`<TEL:+15551234567>`, `<tel:+15551234567>`, ""},
		{"SIP upper-case scheme",
			`<SIP:alice@10.0.0.1>`, `<sip:alice@switch.example>`, "10.0.0.1"},

		// The display name is a quoted-string: its escapes must cross as
		// they are, not be escaped again.
		{"escaped quotes in name",
			`"Bob \"the\" Builder" <sip:bob@10.0.0.1>`, `"Bob \"the\" Builder" <sip:bob@switch.example>`, "10.0.0.1"},
		{"escaped backslash in name",
			`"a\\b" <sip:1@10.0.0.1>`, `"a\\b" <sip:1@switch.example>`, "10.0.0.1"},
		// The number is the tel URI's, not text elsewhere in the value.
		{"tel: inside the display name",
			`"tel:+19005550000;" <tel:+15551234567>`, `"tel:+19005550000;" <tel:+15551234567>`, ""},
		{"hotel in the display name",
			`"Hotel:lobby;" <tel:+15551234567>`, `"Hotel:lobby;" <tel:+15551234567>`, ""},
		// Letters whose lower case has another length in UTF-8.
		{"Ⱥ (lower case is longer) before a tel URI",
			`"ȺȺȺ" <tel:+15551234567>`, `"ȺȺȺ" <tel:+15551234567>`, ""},
		{"Ⱥ before a short tel URI",
			`"ȺȺȺ" <tel:1>`, `"ȺȺȺ" <tel:1>`, ""},
		{"Latin-1 byte in the display name before a tel URI",
			"\"Jos\xe9\" <tel:+15551234567>", "", ""}, // not UTF-8: refused
		{"invalid UTF-8 before a short tel URI",
			"\"\xc0\xc0\" <tel:1>", "", ""}, // not UTF-8: refused
		{"Kelvin sign (lower case is shorter) before a tel URI",
			"\"\u212a\u212a\u212a\u212a\" <tel:+15551234567>", "\"\u212a\u212a\u212a\u212a\" <tel:+15551234567>", ""},

		{"empty", ``, "", ""},
		{"http scheme", `<http://www.example.com>;tag=3234233`, "", ""}, // RFC 4475 unksm2
		{"mailto scheme", `<mailto:alice@example.com>`, "", ""},
		{"urn scheme", `<urn:service:sos>`, "", ""},
		{"no scheme", `<alice@example.com>`, "", ""},
		{"wildcard", `*`, "", ""},
		{"no user", `<sip:10.0.0.1>`, "", ""},
		{"empty user", `<sip:@10.0.0.1>`, "", ""},
		{"space in user", `<sip:a b@10.0.0.1>`, "", ""},
		{"quote in user", `<sip:a"b@10.0.0.1>`, "", ""},
		{"< in user", `<sip:a<b@10.0.0.1>`, "", ""},
		{"bad escape in user", `<sip:%zz@10.0.0.1>`, "", ""},
		{"user too long (RFC 4475 longreq)",
			`sip:amazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallernameamazinglylongcallername@example.net;tag=1`, "", ""},
		{"display name too long (RFC 4475 longreq)",
			`"I have a user name of extremeextremeextremeextremeextremeextremeextremeextremeextremeextreme proportion"<sip:user@example.com>`, "", ""},
		{"empty tel", `<tel:>`, "", ""},
		{"space in tel", `<tel:+1 555 1234567>`, "", ""},
		{"unterminated quote (RFC 4475 quotbal)", `"Mr. J. User <sip:j.user@example.com>`, "", ""},
		{"no closing bracket", `"Bob" <sip:bob@10.0.0.1`, "", ""},
		{"NUL in name", "\"Bob\x00\" <sip:bob@10.0.0.1>", "", ""},
		{"DEL in name", "\"Bob\x7f\" <sip:bob@10.0.0.1>", "", ""},
		{"header injection", "\"Bob\" <sip:bob@10.0.0.1>\r\nVia: SIP/2.0/UDP 10.0.0.1", "", ""},
		{"LF in name", "\"Bo\nb\" <sip:bob@10.0.0.1>", "", ""},
		{"too long", `<sip:bob@10.0.0.1>;x=` + strings.Repeat("a", MaxValue), "", ""},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			got, err := identity(t, tc.value, host)
			if tc.want == "" {
				if err == nil {
					t.Fatalf("Identity(%q) = %s, want an error", tc.value, got)
				}
				if !errors.Is(err, ErrSyntax) && !errors.Is(err, ErrTooLong) && !errors.Is(err, ErrControl) {
					t.Errorf("Identity(%q): error %v wraps no sentinel", tc.value, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Identity(%q): %v", tc.value, err)
			}
			if got != tc.want {
				t.Errorf("Identity(%q) = %s, want %s", tc.value, got, tc.want)
			}
			if tc.leak != "" && strings.Contains(got, tc.leak) {
				t.Errorf("Identity(%q) = %s: the customer's host %q crossed", tc.value, got, tc.leak)
			}
			// The result is itself an identity: rewriting it again changes
			// nothing.
			if again, err := identity(t, got, host); err != nil || again != got {
				t.Errorf("Identity(%q) = %s, %v; want it unchanged", got, again, err)
			}
		})
	}
}

// TestIdentityHost checks that the output carries the given host and only
// it, for several hosts.
func TestIdentityHost(t *testing.T) {
	const value = `"Bob" <sip:+15551234567@10.0.0.1;user=phone>;x=y`
	for _, host := range []string{"switch.example", "192.0.2.1", "[2001:db8::1]", "sbc-1.trunkline.example"} {
		t.Run(host, func(t *testing.T) {
			got, err := identity(t, value, host)
			if err != nil {
				t.Fatal(err)
			}
			if want := `"Bob" <sip:+15551234567@` + host + `>`; got != want {
				t.Errorf("Identity(%q, %q) = %s, want %s", value, host, got, want)
			}
		})
	}
}

// TestIdentityStable checks that what Identity returns reads back as
// itself: a value rewritten twice (two switches, or a re-INVITE) stays the
// same.
func TestIdentityStable(t *testing.T) {
	const host = "switch.example"
	for _, value := range []string{
		`"Bob" <sip:+15551234567@10.0.0.1;user=phone>;x=y`,
		`"J Rosenberg \\\""       <sip:jdrosen@example.com> ; tag = 98asjd8`, // RFC 4475 wsinv
		`"\0" <sip:0@10.0.0.1>`,
		`"a\\" <sip:1@10.0.0.1>`,
		`sip:////@10.0.0.1`,
		`<sip://alice@10.0.0.1>`,
		`<tel:+15551234567>`,
	} {
		t.Run(value, func(t *testing.T) {
			out, err := identity(t, value, host)
			if err != nil {
				return // refusing is fine
			}
			again, err := identity(t, out, host)
			if err != nil || again != out {
				t.Errorf("Identity(%q) = %s, then Identity(%s) = %s, %v", value, out, out, again, err)
			}
		})
	}
}
