package admin

import (
	"net/http/httptest"
	"testing"
)

// An IPv6 client counts as its /64 (a host can pick any address in it);
// an IPv4 one as its address.
func TestThrottleSource(t *testing.T) {
	for remote, want := range map[string]string{
		"192.0.2.7:4000":                   "192.0.2.7",
		"[2001:db8:1:2:aaaa::1]:4000":      "2001:db8:1:2::/64",
		"[2001:db8:1:2:ffff:ffff::9]:4000": "2001:db8:1:2::/64",
		"[::ffff:192.0.2.7]:4000":          "::ffff:192.0.2.7",
	} {
		r := httptest.NewRequest("POST", "/api/v1/login", nil)
		r.RemoteAddr = remote
		if got := throttleSource(r); got != want {
			t.Errorf("%s counts as %q, want %q", remote, got, want)
		}
	}
}
