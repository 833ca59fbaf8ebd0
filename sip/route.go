package sip

import (
	"slices"

	gosip "github.com/emiago/sipgo/sip"
)

// routeSet is the route set of one side of a dialog (RFC 3261 §12.1): the
// proxies between the switch and that party, nearest first. Requests the
// switch itself sends in the dialog (an ACK and BYE for a 2xx nobody will
// take, the BYEs at the maximum call duration) go through it.
type routeSet []gosip.Uri

// upstreamRoutes is the route set towards the customer: the Record-Route
// entries of its INVITE as received, in order (RFC 3261 §12.1.1); all of
// them were added before the switch's own.
func upstreamRoutes(req *gosip.Request) routeSet {
	var rs routeSet
	for _, h := range req.GetHeaders("Record-Route") {
		if rr, ok := h.(*gosip.RecordRouteHeader); ok {
			rs = append(rs, rr.Address)
		}
	}
	return rs
}

// downstreamRoutes is the route set towards the sender of a 2xx whose
// Record-Route values are rr: the entries above the switch's own (added by
// proxies between the switch and the carrier), in reverse order (RFC 3261
// §12.1.2).
func (s *Server) downstreamRoutes(rr []string) routeSet {
	var rs routeSet
	for _, u := range parseRecordRoute(rr) {
		if s.ownURI(u) {
			break
		}
		rs = append(rs, u)
	}
	slices.Reverse(rs)
	return rs
}

// parseRecordRoute returns the URIs of Record-Route values (each may list
// several), in order. Entries that do not parse, name no host or do not
// read back the same once written (the switch writes them into Route
// headers) are left out.
func parseRecordRoute(values []string) []gosip.Uri {
	var us []gosip.Uri
	for _, v := range values {
		for _, u := range recordRouteURIs(v) {
			if plainRoute("<" + u.String() + ">") {
				us = append(us, u)
			}
		}
	}
	return us
}

// plainRoute reports whether the Record-Route value v is one <uri> written
// exactly as sipgo writes it back.
func plainRoute(v string) bool {
	us := recordRouteURIs(v)
	return len(us) == 1 && us[0].Host != "" && "<"+us[0].String()+">" == v
}

// recordRouteURIs parses one Record-Route value.
func recordRouteURIs(v string) []gosip.Uri {
	hs, _ := gosip.HeadersParser(gosip.DefaultHeadersParser()).ParseHeader(nil, []byte("Record-Route: "+v))
	us := make([]gosip.Uri, 0, len(hs))
	for _, h := range hs {
		if r, ok := h.(*gosip.RecordRouteHeader); ok {
			us = append(us, r.Address)
		}
	}
	return us
}

// request returns the Request-URI, the Route values and the next hop of a
// request to target through rs (RFC 3261 §12.2.1.1): loose routing when
// the first entry has lr, else the first entry becomes the Request-URI and
// the target the last Route. fallback is the next hop with no route set.
func (rs routeSet) request(target gosip.Uri, fallback hop) (ruri gosip.Uri, routes []string, next hop) {
	if len(rs) == 0 {
		return target, nil, fallback
	}
	addr, tr := uriHop(rs[0])
	next = hop{addr: addr, transport: tr}
	ruri, rest := target, rs
	if !rs[0].UriParams.Has("lr") {
		ruri, rest = rs[0], append(rs[1:len(rs):len(rs)], target)
	}
	for _, u := range rest {
		routes = append(routes, "<"+u.String()+">")
	}
	return ruri, routes, next
}
