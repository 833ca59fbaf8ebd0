package sip

import (
	"bytes"
	"strconv"
	"sync/atomic"

	gosip "github.com/emiago/sipgo/sip"
)

// writeMessage renders msg as it goes on the wire (sipgo's StringWrite
// copies the body into a string first).
func writeMessage(buf *bytes.Buffer, msg gosip.Message) {
	var hdrs []gosip.Header
	switch m := msg.(type) {
	case *gosip.Request:
		m.StartLineWrite(buf)
		hdrs = m.Headers()
	case *gosip.Response:
		m.StartLineWrite(buf)
		hdrs = m.Headers()
	}
	buf.WriteString("\r\n")
	for _, h := range hdrs {
		h.StringWrite(buf)
		buf.WriteString("\r\n")
	}
	buf.WriteString("\r\n")
	buf.Write(msg.Body())
}

// writeStart writes a request line and the switch's Via line.
func writeStart(buf *bytes.Buffer, method gosip.RequestMethod, ruri *gosip.Uri, via string) {
	buf.WriteString(string(method))
	buf.WriteByte(' ')
	ruri.StringWrite(buf)
	buf.WriteString(" SIP/2.0\r\n")
	buf.WriteString(via)
}

// branches makes unique RFC 3261 branch parameters: a random part per
// process and a counter.
type branches struct {
	prefix string
	n      atomic.Uint64
}

func newBranches() *branches {
	return &branches{prefix: "z9hG4bK" + gosip.GenerateTagN(10) + "."}
}

func (b *branches) next() string {
	return b.prefix + strconv.FormatUint(b.n.Add(1), 36)
}

// viaLine is the switch's Via header line for a request sent over
// transport with branch.
func (s *Server) viaLine(transport, branch string) string {
	return "Via: SIP/2.0/" + transport + " " + s.hostport + ";branch=" + branch + "\r\n"
}
