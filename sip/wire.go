package sip

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"

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

// branches makes RFC 3261 branch parameters that nobody can predict: a
// response is matched to its transaction by its branch, so a party that
// learnt one branch must not be able to forge responses to others. Each is
// the magic cookie and 96 random bits (math/rand/v2's ChaCha8-based global
// source: unpredictable, and cheap enough for every request).
type branches struct{}

func newBranches() *branches { return &branches{} }

func (b *branches) next() string {
	var r [12]byte
	binary.LittleEndian.PutUint64(r[:8], rand.Uint64())
	binary.LittleEndian.PutUint32(r[8:], rand.Uint32())
	return magicCookie + idEncoding.EncodeToString(r[:])
}

// viaLine is the switch's Via header line for a request sent over
// transport with branch.
func (s *Server) viaLine(transport, branch string) string {
	return "Via: SIP/2.0/" + transport + " " + s.hostport + ";branch=" + branch + "\r\n"
}
