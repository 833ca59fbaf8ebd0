package sip

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"strconv"

	gosip "github.com/emiago/sipgo/sip"
)

// readFilter sees every datagram and stream message before sipgo parses it.
// It drops messages from banned sources and beyond a source's flood limit.
// Messages with an RFC 3261 branch and a CSeq, which is all ordinary
// traffic, pass without a second parse. A request sipgo cannot key a
// transaction for (an RFC 2543-style request whose From tag is missing or
// unreadable) would otherwise be answered statelessly towards the host its
// Via names; the filter gives it a branch derived from its RFC 2543
// transaction identity (so retransmissions match) and passes it on, or drops
// it when even that identity is missing.
func (s *Server) readFilter(p gosip.TransportReadProps, data []byte) ([]byte, error) {
	if s.guard != nil || s.flood != nil {
		if src, ok := remoteAddr(p.RemoteAddr); ok {
			if s.guard != nil && s.guard.Banned(src) {
				s.metrics.dropped.WithLabelValues("banned").Inc()
				return nil, nil
			}
			if s.flood != nil && !s.flood.Allow(src) {
				s.metrics.dropped.WithLabelValues("flood").Inc()
				return nil, nil
			}
		}
	}
	if hasBranchAndCSeq(data) {
		return data, nil
	}
	msg, err := s.parser.ParseSIP(data)
	if err != nil {
		return data, nil // sipgo will fail to parse it too, and drop it
	}
	req, ok := msg.(*gosip.Request)
	if !ok {
		return data, nil
	}
	if _, err := gosip.ServerTxKeyMake(req); err == nil {
		return data, nil
	}
	via, cseq, callID, from := req.Via(), req.CSeq(), req.CallID(), req.From()
	if via == nil || cseq == nil || callID == nil || from == nil {
		s.metrics.dropped.WithLabelValues("no-transaction-key").Inc()
		s.log.Debug("request dropped: no transaction identity", "source", req.Source())
		return nil, nil
	}
	h := sha256.New()
	for _, part := range []string{from.Value(), callID.Value(), strconv.FormatUint(uint64(cseq.SeqNo), 10), string(cseq.MethodName), via.SentBy()} {
		h.Write([]byte(part))
		h.Write([]byte{0})
	}
	via.Params.Add("branch", "z9hG4bK-2543-"+hex.EncodeToString(h.Sum(nil)[:8]))
	out := []byte(req.String())
	// sipgo parses some messages it cannot parse back once written out
	// (found by FuzzReadFilter): pass on only a rewrite that round-trips.
	again, err := s.parser.ParseSIP(out)
	if err != nil {
		s.metrics.dropped.WithLabelValues("unparsable-rewrite").Inc()
		return nil, nil
	}
	if _, err := gosip.ServerTxKeyMake(again); err != nil {
		s.metrics.dropped.WithLabelValues("no-transaction-key").Inc()
		return nil, nil
	}
	return out, nil
}

// remoteAddr is the IP of a transport's remote address.
func remoteAddr(a net.Addr) (netip.Addr, bool) {
	switch a := a.(type) {
	case *net.UDPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	case *net.TCPAddr:
		ip, ok := netip.AddrFromSlice(a.IP)
		return ip.Unmap(), ok
	}
	return netip.Addr{}, false
}

var (
	branchCookie = []byte(";branch=z9hG4bK")
	cseqHeader   = []byte("\ncseq")
)

// hasBranchAndCSeq reports, without parsing, whether data carries an RFC
// 3261 branch with an identifier and a CSeq header.
func hasBranchAndCSeq(data []byte) bool {
	i := bytes.Index(data, branchCookie)
	if i < 0 {
		return false
	}
	rest := data[i+len(branchCookie):]
	if len(rest) == 0 || rest[0] == ';' || rest[0] == ',' || rest[0] == '\r' || rest[0] == '\n' || rest[0] == ' ' {
		return false
	}
	// Header names are case-insensitive; compare lowercased.
	for j := 0; j+len(cseqHeader) <= len(data); j++ {
		if data[j] != '\n' {
			continue
		}
		k := 1
		for ; k < len(cseqHeader); k++ {
			if data[j+k]|0x20 != cseqHeader[k] {
				break
			}
		}
		if k == len(cseqHeader) {
			return true
		}
	}
	return false
}

// symmetric records the address a request came from in its top Via
// (received and rport, RFC 3581), so every response to it, including those
// sipgo sends by itself, goes back to that address.
func symmetric(req *gosip.Request) {
	via := req.Via()
	if via == nil {
		return
	}
	host, port, err := net.SplitHostPort(req.Source())
	if err != nil {
		return
	}
	if p, err := strconv.Atoi(port); err == nil && p > 0 {
		via.Params.Add("received", host)
		via.Params.Add("rport", port)
	}
}
