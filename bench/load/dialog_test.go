package load

import "testing"

func TestNewDialog(t *testing.T) {
	tests := []struct {
		name        string
		rrs         []string
		contact     string
		ruri, route string
	}{
		{"no record-route", nil, "<sip:127.0.0.1:5070;transport=UDP>", "sip:127.0.0.1:5070;transport=UDP", ""},
		{"bare contact", nil, "sip:b@10.0.0.1:5070;expires=30", "sip:b@10.0.0.1:5070", ""},
		{"one loose router", []string{"<sip:127.0.0.1:5060;lr>"}, "<sip:c@10.0.0.1>",
			"sip:c@10.0.0.1", "Route: <sip:127.0.0.1:5060;lr>\r\n"},
		{"reversed, across lines and commas", []string{"<sip:p3;lr>, <sip:p2;lr=on>", "<sip:p1;lr>"}, "<sip:c@h>",
			"sip:c@h", "Route: <sip:p1;lr>, <sip:p2;lr=on>, <sip:p3;lr>\r\n"},
		{"display names and quoted commas", []string{`"a, b" <sip:p2;lr>`, `<sip:p1;lr;x="1,2">`}, "<sip:c@h>",
			"sip:c@h", `Route: <sip:p1;lr;x="1,2">, "a, b" <sip:p2;lr>` + "\r\n"},
		{"strict router first", []string{"<sip:p2;lr>", "<sip:p1>"}, "<sip:c@h;transport=udp>",
			"sip:p1", "Route: <sip:p2;lr>, <sip:c@h;transport=udp>\r\n"},
		{"lone strict router", []string{"<sip:p1;maddr=x>"}, "<sip:c@h>", "sip:p1;maddr=x", "Route: <sip:c@h>\r\n"},
		{"lr in the headers part is not lr", []string{"<sip:p1?x=;lr>"}, "<sip:c@h>", "sip:p1?x=;lr", "Route: <sip:c@h>\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rrs [][]byte
			for _, r := range tt.rrs {
				rrs = append(rrs, []byte(r))
			}
			d := newDialog(rrs, uriOf([]byte(tt.contact)), []byte("tag1"))
			check(t, "request-URI", d.requestURI(), tt.ruri)
			check(t, "route", d.routeLine(), tt.route)
			check(t, "tag", d.remoteTag(), "tag1")
		})
	}
}
