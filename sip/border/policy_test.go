package border

import (
	"strings"
	"testing"
)

// crossing is what Default lets through: the header (any spelling) and
// whether it crosses to a carrier and to a customer.
var crossing = []struct {
	name                  string
	toCarrier, toCustomer bool
}{
	{"Allow", true, true},
	{"Supported", true, true},
	{"Require", true, true},
	{"Session-Expires", true, true},
	{"Min-SE", true, true},
	{"Accept", true, true},
	{"Content-Type", true, true},
	{"Content-Disposition", true, true},
	{"Reason", true, true},
	{"Event", true, true},
	{"Privacy", true, false},
	{"Priority", true, false},
	{"Unsupported", false, true},
	{"Retry-After", false, true},

	// Any case, surrounding space.
	{"SUPPORTED", true, true},
	{"content-type", true, true},
	{" Session-Expires ", true, true},

	// Compact forms (RFC 3261 §7.3.3, RFC 4028, RFC 6665).
	{"k", true, true},
	{"K", true, true},
	{"x", true, true},
	{"c", true, true},
	{"o", true, true},

	// Headers the switch writes itself or that carry a leg's identity,
	// routing or credentials.
	{"Via", false, false},
	{"v", false, false},
	{"Route", false, false},
	{"Record-Route", false, false},
	{"Contact", false, false},
	{"m", false, false},
	{"Call-ID", false, false},
	{"i", false, false},
	{"From", false, false},
	{"f", false, false},
	{"To", false, false},
	{"t", false, false},
	{"CSeq", false, false},
	{"Max-Forwards", false, false},
	{"Content-Length", false, false},
	{"l", false, false},
	{"Authorization", false, false},
	{"Proxy-Authorization", false, false},
	{"WWW-Authenticate", false, false},
	{"Proxy-Authenticate", false, false},
	{"P-Asserted-Identity", false, false},
	{"P-Preferred-Identity", false, false},
	{"Remote-Party-ID", false, false},
	{"Diversion", false, false},
	{"History-Info", false, false},
	{"Refer-To", false, false},
	{"User-Agent", false, false},
	{"Server", false, false},

	// Nothing unknown crosses unless the operator adds it.
	{"X-Custom", false, false},
	{"X-Asterisk-HangupCause", false, false},
	{"X-Leg-Host", false, false},
	{"Subject", false, false},
	{"", false, false},
}

func TestDefaultCrosses(t *testing.T) {
	p := Default()
	for _, tc := range crossing {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.Crosses(ToCarrier, tc.name); got != tc.toCarrier {
				t.Errorf("Crosses(ToCarrier, %q) = %v, want %v", tc.name, got, tc.toCarrier)
			}
			if got := p.Crosses(ToCustomer, tc.name); got != tc.toCustomer {
				t.Errorf("Crosses(ToCustomer, %q) = %v, want %v", tc.name, got, tc.toCustomer)
			}
		})
	}
}

func TestZeroPolicyCrossesNothing(t *testing.T) {
	var p Policy
	for _, tc := range crossing {
		if p.Crosses(ToCarrier, tc.name) || p.Crosses(ToCustomer, tc.name) {
			t.Errorf("zero Policy lets %q through", tc.name)
		}
	}
}

func TestName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"k", "supported"},
		{"x", "session-expires"},
		{"c", "content-type"},
		{"i", "call-id"},
		{"v", "via"},
		{"m", "contact"},
		{"f", "from"},
		{"t", "to"},
		{"l", "content-length"},
		{"o", "event"},
		{"V", "via"},
		{" I ", "call-id"},
		{"Content-Type", "content-type"},
		{"X-Custom", "x-custom"},
		{"", ""},
	} {
		t.Run(tc.in, func(t *testing.T) {
			if got := Name(tc.in); got != tc.want {
				t.Errorf("Name(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestNever(t *testing.T) {
	for _, tc := range []struct {
		name string
		want bool
	}{
		{"Via", true},
		{"v", true},
		{"Route", true},
		{"Record-Route", true},
		{"Contact", true},
		{"m", true},
		{"Call-ID", true},
		{"i", true},
		{"Authorization", true},
		{"Proxy-Authorization", true},
		{"P-Asserted-Identity", true},
		{"p-asserted-identity", true},
		{"Remote-Party-ID", true},
		{"Supported", false},
		{"k", false},
		{"X-Custom", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Never(tc.name); got != tc.want {
				t.Errorf("Never(%q) = %v, want %v", tc.name, got, tc.want)
			}
		})
	}
}

// probe lists names whose crossing TestWith compares before and after.
var probe = []string{"X-Custom", "x-other", "Subject", "Supported", "Privacy", "Retry-After", "Via", "s"}

func snapshot(p *Policy) map[string][2]bool {
	m := map[string][2]bool{}
	for _, n := range probe {
		m[n] = [2]bool{p.Crosses(ToCarrier, n), p.Crosses(ToCustomer, n)}
	}
	return m
}

func TestWith(t *testing.T) {
	for _, tc := range []struct {
		desc  string
		d     Direction
		names []string
		// crosses lists names that must cross in d afterwards and must not
		// cross in the other direction (they did not before).
		crosses []string
		wantErr bool
	}{
		{desc: "none", d: ToCarrier},
		{desc: "one to carrier", d: ToCarrier, names: []string{"X-Custom"}, crosses: []string{"X-Custom", "x-custom", "X-CUSTOM"}},
		{desc: "one to customer", d: ToCustomer, names: []string{"X-Custom"}, crosses: []string{"x-custom"}},
		{desc: "several", d: ToCarrier, names: []string{"X-Custom", "x-other"}, crosses: []string{"X-Custom", "X-Other"}},
		{desc: "compact name added as long", d: ToCustomer, names: []string{"s"}, crosses: []string{"Subject", "s"}},
		{desc: "already there", d: ToCarrier, names: []string{"Supported", "k"}},

		{desc: "Via", d: ToCarrier, names: []string{"Via"}, wantErr: true},
		{desc: "compact Via", d: ToCustomer, names: []string{"v"}, wantErr: true},
		{desc: "Route", d: ToCarrier, names: []string{"Route"}, wantErr: true},
		{desc: "Record-Route", d: ToCustomer, names: []string{"record-route"}, wantErr: true},
		{desc: "Contact", d: ToCarrier, names: []string{"m"}, wantErr: true},
		{desc: "Call-ID", d: ToCarrier, names: []string{"i"}, wantErr: true},
		{desc: "Authorization", d: ToCarrier, names: []string{"Authorization"}, wantErr: true},
		{desc: "Proxy-Authorization", d: ToCarrier, names: []string{"Proxy-Authorization"}, wantErr: true},
		{desc: "P-Asserted-Identity", d: ToCarrier, names: []string{"P-Asserted-Identity"}, wantErr: true},
		{desc: "a good name then a never name", d: ToCarrier, names: []string{"X-Custom", "Via"}, wantErr: true},

		{desc: "empty name", d: ToCarrier, names: []string{""}, wantErr: true},
		{desc: "space inside", d: ToCarrier, names: []string{"X Custom"}, wantErr: true},
		{desc: "space around", d: ToCarrier, names: []string{" X-Custom"}, wantErr: true},
		{desc: "colon", d: ToCarrier, names: []string{"X-Custom:"}, wantErr: true},
		{desc: "header injection", d: ToCarrier, names: []string{"X-A\r\nVia"}, wantErr: true},
		{desc: "NUL", d: ToCarrier, names: []string{"X-A\x00"}, wantErr: true},
		{desc: "separator", d: ToCarrier, names: []string{"X-A,X-B"}, wantErr: true},
		{desc: "non-ASCII", d: ToCarrier, names: []string{"X-Ünicode"}, wantErr: true},
		{desc: "too long", d: ToCarrier, names: []string{"X-" + strings.Repeat("a", 63)}, wantErr: true},
	} {
		t.Run(tc.desc, func(t *testing.T) {
			p := Default()
			before := snapshot(p)
			q, err := p.With(tc.d, tc.names)
			if after := snapshot(p); !equalSnapshots(before, after) {
				t.Errorf("With modified its receiver: %v, was %v", after, before)
			}
			if tc.wantErr {
				if err == nil {
					t.Fatalf("With(%v, %q) = nil error", tc.d, tc.names)
				}
				return
			}
			if err != nil {
				t.Fatalf("With(%v, %q): %v", tc.d, tc.names, err)
			}
			other := ToCustomer
			if tc.d == ToCustomer {
				other = ToCarrier
			}
			for _, n := range tc.crosses {
				if !q.Crosses(tc.d, n) {
					t.Errorf("%q does not cross after With", n)
				}
				if q.Crosses(other, n) {
					t.Errorf("%q crosses the other way too", n)
				}
				if p.Crosses(tc.d, n) {
					t.Errorf("%q crosses on the receiver", n)
				}
			}
			// Everything that crossed still does.
			for _, c := range crossing {
				if c.toCarrier && !q.Crosses(ToCarrier, c.name) || c.toCustomer && !q.Crosses(ToCustomer, c.name) {
					t.Errorf("%q no longer crosses", c.name)
				}
			}
		})
	}
}

func equalSnapshots(a, b map[string][2]bool) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return len(a) == len(b)
}

func TestWithChained(t *testing.T) {
	p := Default()
	q, err := p.With(ToCarrier, []string{"X-A"})
	if err != nil {
		t.Fatal(err)
	}
	r, err := q.With(ToCarrier, []string{"X-B"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := q.With(ToCarrier, []string{"X-C"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		p          *Policy
		name       string
		xa, xb, xc bool
	}{
		{p: p, name: "default"},
		{p: q, name: "q", xa: true},
		{p: r, name: "r", xa: true, xb: true},
		{p: s, name: "s", xa: true, xc: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for n, want := range map[string]bool{"X-A": tc.xa, "X-B": tc.xb, "X-C": tc.xc} {
				if got := tc.p.Crosses(ToCarrier, n); got != want {
					t.Errorf("Crosses(ToCarrier, %q) = %v, want %v", n, got, want)
				}
			}
		})
	}
	// Two Default policies share nothing.
	d1, d2 := Default(), Default()
	if _, err := d1.With(ToCustomer, []string{"X-D"}); err != nil {
		t.Fatal(err)
	}
	if d2.Crosses(ToCustomer, "X-D") || d1.Crosses(ToCustomer, "X-D") {
		t.Error("With on one Default policy changed another")
	}
	var zero Policy
	z, err := zero.With(ToCustomer, []string{"X-E"})
	if err != nil {
		t.Fatal(err)
	}
	if !z.Crosses(ToCustomer, "X-E") || z.Crosses(ToCustomer, "Supported") || zero.Crosses(ToCustomer, "X-E") {
		t.Error("With on the zero Policy")
	}
}

func TestCheckHeaderName(t *testing.T) {
	for _, tc := range []struct {
		name string
		ok   bool
	}{
		{"Supported", true},
		{"k", true},
		{"X-Custom", true},
		{"X-a.b_c!d%e*f+g`h'i~j", true},
		{strings.Repeat("a", 64), true},
		{strings.Repeat("a", 65), false},
		{"", false},
		{"X Custom", false},
		{"X-Custom:", false},
		{"X-Custom\r\n", false},
		{"X-(a)", false},
		{"X-<a>", false},
		{"X-\"a\"", false},
		{"X-Ä", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := CheckHeaderName(tc.name); (err == nil) != tc.ok {
				t.Errorf("CheckHeaderName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
			}
		})
	}
}
