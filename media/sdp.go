package media

import (
	"bytes"
	"errors"
	"net/netip"
	"strconv"
)

// SDP limits: what a body may hold before it is refused unread.
const (
	MaxSDP      = 16 << 10
	maxSDPLines = 256
)

// Direction is an SDP stream's direction attribute.
type Direction string

// Directions (RFC 4566 §6).
const (
	SendRecv Direction = "sendrecv"
	SendOnly Direction = "sendonly"
	RecvOnly Direction = "recvonly"
	Inactive Direction = "inactive"
)

// Offer is what Rewrite read of an SDP body: where the party wants its
// audio (its address and RTP port), the direction, and the RTP clock of
// the first payload type when an rtpmap names it.
type Offer struct {
	Remote    netip.AddrPort
	RTCPPort  uint16 // from a=rtcp; 0: the RTP port's next
	Direction Direction
	Clock     uint32
	// NAT is set by the caller when the party's SDP address is not to be
	// sent to: the party is behind NAT (BehindNAT), the address is not
	// Sendable, or it is not a host the caller trusts. The party gets
	// media only once it has sent some, and it is latched only from
	// Source, its signalling host (when valid), or its SDP's host.
	NAT    bool
	Source netip.Addr
}

// OnHold tells whether the party holds the call (sends nothing): media
// is then slower to time out.
func (o Offer) OnHold() bool {
	return o.Direction == SendOnly || o.Direction == Inactive || o.Remote.Addr().IsUnspecified()
}

var (
	errSDPTooLarge = errors.New("media: SDP body too large")
	errNoAudio     = errors.New("media: SDP has no audio stream with an address")
	errFamily      = errors.New("media: the party's media address is not of the relay's family")
)

// Rewrite returns body with its first audio stream moved to addr:port (the
// switch's relay): the c= lines and the origin's address (o=, its user
// made "-") name the relay, and the m= port is the relay's; RTCP and ICE attributes (a=rtcp, a=candidate, a=ice-*,
// a=end-of-candidates, a=remote-candidates) are dropped, so neither party
// learns the other's addresses. Other media streams are refused (port 0):
// the relay carries one audio stream. It returns what the body offered.
func Rewrite(body []byte, addr netip.Addr, port int) ([]byte, Offer, error) {
	if len(body) > MaxSDP || bytes.Count(body, []byte("\n")) >= maxSDPLines {
		return nil, Offer{}, errSDPTooLarge
	}
	lines := bytes.SplitAfter(body, []byte("\n"))
	var (
		out                     bytes.Buffer
		offer                   = Offer{Direction: SendRecv}
		sessionAddr, streamAddr netip.Addr
		inAudio, seenAudio      bool
		seenM                   bool // any m= line: session-level lines are over
		audioPort               int
		firstPT                 = -1
	)
	family := "IP4"
	if addr.Is6() && !addr.Is4In6() {
		family = "IP6"
	}
	conn := []byte("c=IN " + family + " " + addr.Unmap().String())
	for _, raw := range lines {
		if len(raw) == 0 {
			continue // after the last line break
		}
		line := bytes.TrimRight(raw, "\r\n")
		eol := raw[len(line):]
		if len(eol) == 0 {
			eol = []byte("\r\n")
		}
		switch {
		case bytes.HasPrefix(line, []byte("m=")):
			inAudio, seenM = false, true
			f := bytes.Fields(line[2:])
			p := -1
			if len(f) >= 3 {
				p, _ = strconv.Atoi(string(f[1]))
			}
			if len(f) >= 3 && string(f[0]) == "audio" && !seenAudio && p > 0 && p <= 65535 { // an audio stream declined (port 0) stays declined
				inAudio, seenAudio, audioPort = true, true, p
				if len(f) >= 4 {
					firstPT, _ = strconv.Atoi(string(f[3]))
				}
				f[1] = []byte(strconv.Itoa(port))
				out.WriteString("m=")
				out.Write(bytes.Join(f, []byte(" ")))
			} else if len(f) >= 2 {
				f[1] = []byte("0") // refused: one audio stream is relayed
				out.WriteString("m=")
				out.Write(bytes.Join(f, []byte(" ")))
			} else {
				out.Write(line)
			}
			out.Write(eol)
			continue
		case bytes.HasPrefix(line, []byte("o=")):
			// The origin names the party's host and user: the relay's
			// address and "-" go instead; its session id and version stay
			// (a re-offer's version must still move on).
			f := bytes.Fields(line[2:])
			if len(f) != 6 {
				return nil, Offer{}, errNoAudio
			}
			out.WriteString("o=- ")
			out.Write(f[1])
			out.WriteByte(' ')
			out.Write(f[2])
			out.WriteString(" IN " + family + " " + addr.Unmap().String())
			out.Write(eol)
			continue
		case bytes.HasPrefix(line, []byte("c=")):
			a, ok := connAddr(line)
			if !ok {
				return nil, Offer{}, errNoAudio
			}
			if !seenM {
				sessionAddr = a
			} else if inAudio {
				streamAddr = a
			}
			if a.IsUnspecified() {
				out.Write(line) // hold (RFC 3264 §8.4, the old way): 0.0.0.0 stays
			} else {
				out.Write(conn)
			}
			out.Write(eol)
			continue
		case bytes.HasPrefix(line, []byte("a=")):
			attr := line[2:]
			name, _, _ := bytes.Cut(attr, []byte(":"))
			switch string(name) {
			case "rtcp":
				if inAudio {
					v, _, _ := bytes.Cut(bytes.TrimPrefix(attr, []byte("rtcp:")), []byte(" "))
					if p, err := strconv.Atoi(string(v)); err == nil && p > 0 && p <= 65535 {
						offer.RTCPPort = uint16(p)
					}
				}
				continue
			case "candidate", "end-of-candidates", "remote-candidates", "ice-ufrag", "ice-pwd", "ice-options", "ice-lite", "ice-mismatch",
				"rtcp-mux", "altc": // the relay has RTCP on its own port; altc names addresses
				continue
			case "sendrecv", "sendonly", "recvonly", "inactive":
				if inAudio || !seenM {
					offer.Direction = Direction(name)
				}
			case "rtpmap":
				if inAudio && offer.Clock == 0 {
					offer.Clock = rtpmapClock(attr, firstPT)
				}
			}
		}
		out.Write(line)
		out.Write(eol)
	}
	a := streamAddr
	if !a.IsValid() {
		a = sessionAddr
	}
	if !seenAudio || !a.IsValid() {
		return nil, Offer{}, errNoAudio
	}
	if !a.IsUnspecified() && a.Is4() != addr.Unmap().Is4() {
		return nil, Offer{}, errFamily
	}
	offer.Remote = netip.AddrPortFrom(a, uint16(audioPort))
	if offer.Clock == 0 {
		offer.Clock = DefaultClock
	}
	return out.Bytes(), offer, nil
}

// connAddr reads "c=IN IP4 192.0.2.1" (a multicast TTL suffix allowed).
func connAddr(line []byte) (netip.Addr, bool) {
	f := bytes.Fields(line[2:])
	if len(f) < 3 || string(f[0]) != "IN" {
		return netip.Addr{}, false
	}
	host, _, _ := bytes.Cut(f[2], []byte("/"))
	a, err := netip.ParseAddr(string(host))
	if err != nil || (string(f[1]) == "IP4") != a.Is4() || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

// rtpmapClock reads the clock of "rtpmap:PT name/clock[/channels]" when PT
// is pt.
func rtpmapClock(attr []byte, pt int) uint32 {
	v, ok := bytes.CutPrefix(attr, []byte("rtpmap:"))
	if !ok {
		return 0
	}
	f := bytes.Fields(v)
	if len(f) < 2 || string(f[0]) != strconv.Itoa(pt) {
		return 0
	}
	parts := bytes.Split(f[1], []byte("/"))
	if len(parts) < 2 {
		return 0
	}
	hz, err := strconv.ParseUint(string(parts[1]), 10, 32)
	if err != nil || hz == 0 || hz > 1_000_000 {
		return 0
	}
	return uint32(hz)
}

// Address is the connection address of an SDP body's media: its first
// c= line (session-level, or the first stream's), read without rewriting
// anything; false when the body has none. The switch tells a party behind
// NAT by it.
func Address(body []byte) (netip.Addr, bool) {
	if len(body) > MaxSDP {
		return netip.Addr{}, false
	}
	for len(body) > 0 {
		line, rest, _ := bytes.Cut(body, []byte("\n"))
		body = rest
		if line = bytes.TrimRight(line, "\r"); bytes.HasPrefix(line, []byte("c=")) {
			return connAddr(line)
		}
	}
	return netip.Addr{}, false
}

// Sendable tells whether the relay, at relay, may send media to a before
// the party there has sent any: not an unspecified, multicast or
// broadcast address, nor the relay's own (another call's ports), nor a
// loopback or link-local one unless the relay's is too (a switch and its
// parties on one machine, as in tests). A party's SDP must not make the
// switch send to whatever it names.
func Sendable(a, relay netip.Addr) bool {
	a, relay = a.Unmap(), relay.Unmap()
	switch {
	case !a.IsValid() || a.IsUnspecified() || a.IsMulticast() || a == netip.AddrFrom4([4]byte{255, 255, 255, 255}):
		return false
	case a.IsLoopback():
		return relay.IsLoopback()
	case a == relay:
		return false
	case a.IsLinkLocalUnicast():
		return relay.IsLinkLocalUnicast()
	}
	return true
}

// BehindNAT tells whether a party whose signalling comes from src and
// whose media address (SDP c=, or its Contact's host) is a is behind NAT:
// a private, shared (CGNAT) or link-local address that is not src.
func BehindNAT(src, a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && a != src.Unmap() && (a.IsPrivate() || cgnat.Contains(a) || a.IsLinkLocalUnicast())
}
