package sip

import (
	"net"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// serverKey names the server transaction of a request: its top Via's
// branch and sent-by and its method (RFC 3261 §17.2.3). A request without an
// RFC 3261 branch (RFC 2543 style) is keyed by its From, Call-ID, CSeq
// number and Via sent-by, so its retransmissions and its ACK still match;
// one without even those has no transaction and is dropped.
func serverKey(req *gosip.Request) (txKey, bool) {
	via := req.Via()
	if via == nil {
		return txKey{}, false
	}
	k := txKey{sentBy: via.SentBy(), method: methodKind(req.Method)}
	if b, ok := via.Params.Get("branch"); ok && len(b) > len(magicCookie) && strings.HasPrefix(b, magicCookie) {
		k.branch = b
		return k, true
	}
	cseq, callID, from := req.CSeq(), req.CallID(), req.From()
	if cseq == nil || callID == nil || from == nil {
		return txKey{}, false
	}
	tag, _ := from.Params.Get("tag")
	k.branch = "2543|" + from.Address.String() + "|" + tag + "|" + callID.Value() + "|" + strconv.FormatUint(uint64(cseq.SeqNo), 10)
	return k, true
}

const magicCookie = "z9hG4bK"

// symmetric records the address a request came from in its top Via
// (received and rport, RFC 3581), so every response built from it names
// that address.
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
		if via.Params.Has("rport") {
			via.Params.Add("rport", port)
		}
	}
}
