package sip

import (
	"slices"
	"strconv"
	"strings"

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
		rr, ok := h.(*gosip.RecordRouteHeader)
		if !ok || !plainRoute(nameAddr(rr.Address)) {
			return nil // a route set the switch cannot write back: straight to the target
		}
		rs = append(rs, rr.Address)
	}
	return rs
}

// downstreamRoutes is the route set towards the sender of a 2xx whose
// Record-Route values are rr: the entries above the switch's own (added by
// proxies between the switch and the carrier), in reverse order (RFC 3261
// §12.1.2). One the switch cannot write back leaves no route set: the
// requests go straight to the target, as they would without one.
func (s *Server) downstreamRoutes(rr []string) routeSet {
	var rs routeSet
	for _, v := range rr {
		us, ok := recordRouteURIs(v)
		if !ok {
			return nil
		}
		for _, u := range us {
			if s.ownURI(u) {
				slices.Reverse(rs)
				return rs
			}
			if !plainRoute(nameAddr(u)) {
				return nil
			}
			rs = append(rs, u)
		}
	}
	slices.Reverse(rs)
	return rs
}

// plainRoute reports whether the Record-Route value v is one <uri> written
// exactly as sipgo writes it back. The usual form is checked by hand
// (simpleRoute), anything else by parsing and writing it back.
func plainRoute(v string) bool {
	if simpleRoute(v) {
		return true
	}
	us, ok := recordRouteURIs(v)
	return ok && len(us) == 1 && us[0].Host != "" && nameAddr(us[0]) == v
}

// nameAddr writes u as a Route or Record-Route value: <uri>.
func nameAddr(u gosip.Uri) string { return "<" + u.String() + ">" }

// recordRouteURIs parses one Record-Route value; false if it does not parse.
func recordRouteURIs(v string) ([]gosip.Uri, bool) {
	hs, err := gosip.HeadersParser(gosip.DefaultHeadersParser()).ParseHeader(nil, []byte("Record-Route: "+v))
	us := make([]gosip.Uri, 0, len(hs))
	for _, h := range hs {
		if r, ok := h.(*gosip.RecordRouteHeader); ok {
			us = append(us, r.Address)
		}
	}
	return us, err == nil && len(us) > 0
}

// request returns the Request-URI, the Route values and the next hop of a
// request to target through rs (RFC 3261 §12.2.1.1): loose routing when
// the first entry has lr, else the first entry becomes the Request-URI and
// the target the last Route. fallback is the next hop with no route set.
func (rs routeSet) request(target gosip.Uri, fallback hop) (ruri gosip.Uri, routes []string, next hop) {
	if len(rs) == 0 {
		return target, nil, fallback
	}
	next = uriHop(rs[0])
	ruri, rest := target, rs
	if !looseRouter(rs[0]) {
		ruri, rest = rs[0], append(rs[1:len(rs):len(rs)], target)
	}
	for _, u := range rest {
		routes = append(routes, nameAddr(u))
	}
	return ruri, routes, next
}

// looseRouter reports whether u has the lr parameter (names of parameters
// are case-insensitive).
func looseRouter(u gosip.Uri) bool {
	for _, p := range u.UriParams {
		if strings.EqualFold(p.K, "lr") {
			return true
		}
	}
	return false
}

// simpleRoute reports whether v is <sip:host[:port][;name[=value]]...> with
// host, names and values of letters, digits, '.', '-' and '_' only, a port
// of 1–65535 and each name once.
func simpleRoute(v string) bool {
	rest, ok := strings.CutPrefix(v, "<sip:")
	if !ok {
		return false
	}
	rest, ok = strings.CutSuffix(rest, ">")
	if !ok {
		return false
	}
	word := func(s string) bool {
		for i := 0; i < len(s); i++ {
			c := s[i]
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-' || c == '_') {
				return false
			}
		}
		return s != ""
	}
	hostport, params, _ := strings.Cut(rest, ";")
	host, port, hasPort := strings.Cut(hostport, ":")
	if !word(host) {
		return false
	}
	if n, err := strconv.Atoi(port); hasPort && (err != nil || n < 1 || n > 65535 || port[0] == '0' || port[0] == '+') {
		return false
	}
	if params == "" {
		return !strings.HasSuffix(rest, ";")
	}
	var names []string
	for _, p := range strings.Split(params, ";") {
		name, value, hasValue := strings.Cut(p, "=")
		if !word(name) || hasValue && !word(value) || slices.ContainsFunc(names, func(n string) bool { return strings.EqualFold(n, name) }) {
			return false // sipgo keeps one value per name
		}
		names = append(names, name)
	}
	return true
}
