package sip

import (
	"net"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// ownURI reports whether u names this switch (a Record-Route it inserted).
func (s *Server) ownURI(u gosip.Uri) bool {
	return strings.EqualFold(strings.Trim(u.Host, "[]"), s.advertise) && (u.Port == s.port || (u.Port == 0 && s.port == 5060))
}

// uriHop is the host:port and transport a SIP URI names (port 5060 and UDP
// when absent).
func uriHop(u gosip.Uri) hop {
	h := hop{transport: transportUDP}
	if t, ok := u.UriParams.Get("transport"); ok && t != "" {
		h.transport = transportUpper(t)
	}
	port := u.Port
	if port == 0 {
		port = 5060
	}
	h.addr = joinHost(u.Host, port)
	return h
}

func joinHost(host string, port int) string {
	return net.JoinHostPort(strings.Trim(host, "[]"), strconv.Itoa(port))
}
