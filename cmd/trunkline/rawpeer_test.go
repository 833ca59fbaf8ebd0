package main

import (
	"bytes"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// rawPeer is a SIP party on a raw UDP socket that records every datagram it
// gets, as received, and answers requests as its answer function says: the
// carrier (or customer) that records every message, for the border tests.
type rawPeer struct {
	t      *testing.T
	conn   *net.UDPConn
	answer func(p *rawPeer, msg string, from *net.UDPAddr)

	mu  sync.Mutex
	got []string
	ch  chan string
}

func newRawPeer(t *testing.T, ip string, answer func(p *rawPeer, msg string, from *net.UDPAddr)) *rawPeer {
	t.Helper()
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP(ip)})
	if err != nil {
		t.Fatal(err)
	}
	p := &rawPeer{t: t, conn: c, answer: answer, ch: make(chan string, 10000)}
	go func() {
		b := make([]byte, 65536)
		for {
			n, from, err := c.ReadFromUDP(b)
			if err != nil {
				return
			}
			m := string(b[:n])
			p.mu.Lock()
			p.got = append(p.got, m)
			p.mu.Unlock()
			p.ch <- m
			if p.answer != nil {
				p.answer(p, m, from)
			}
		}
	}()
	t.Cleanup(func() { c.Close() })
	return p
}

func (p *rawPeer) Host() string { return p.conn.LocalAddr().(*net.UDPAddr).IP.String() }
func (p *rawPeer) Port() int    { return p.conn.LocalAddr().(*net.UDPAddr).Port }
func (p *rawPeer) addr() string { return p.conn.LocalAddr().String() }

func (p *rawPeer) send(to net.Addr, m string) {
	if _, err := p.conn.WriteTo([]byte(m), to); err != nil {
		p.t.Error(err)
	}
}

// all returns every message received so far.
func (p *rawPeer) all() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.got...)
}

// next returns the next message whose first line starts with prefix.
func (p *rawPeer) next(prefix string, d time.Duration) (string, bool) {
	tm := time.After(d)
	for {
		select {
		case m := <-p.ch:
			if strings.HasPrefix(m, prefix) {
				return m, true
			}
		case <-tm:
			return "", false
		}
	}
}

// carrierAnswers is how a recording carrier answers: INVITE with code (180
// first for a 200, with an SDP answer), BYE with 200 unless byeSilent, a
// re-INVITE or INFO with 200; extra header lines go into every response to
// the INVITE ({self} stands for the carrier's address).
func carrierAnswers(code int, byeSilent bool, extra string) func(p *rawPeer, m string, from *net.UDPAddr) {
	return func(p *rawPeer, m string, from *net.UDPAddr) {
		extra := strings.ReplaceAll(extra, "{self}", p.addr())
		method, _, _ := strings.Cut(m, " ")
		contact := "Contact: <sip:carrier@" + p.addr() + ">\r\n"
		switch {
		case method == "INVITE" && !strings.Contains(hdrOf(m, "To"), "tag="):
			if code == 200 {
				p.send(from, rawResponse(m, 180, "Ringing", "carrier-tag", contact+extra, ""))
				sdp := "v=0\r\no=- 2 2 IN IP4 " + p.Host() + "\r\ns=-\r\nc=IN IP4 " + p.Host() + "\r\nt=0 0\r\nm=audio 41000 RTP/AVP 0\r\n"
				p.send(from, rawResponse(m, 200, "OK", "carrier-tag", contact+extra+"Content-Type: application/sdp\r\n", sdp))
				return
			}
			p.send(from, rawResponse(m, code, "Busy Here", "carrier-tag", extra, ""))
		case method == "BYE" && byeSilent:
		case method == "BYE", method == "INFO", method == "INVITE", method == "OPTIONS", method == "UPDATE":
			p.send(from, rawResponse(m, 200, "OK", "", contact, ""))
		}
	}
}

var viaLineRE = regexp.MustCompile(`(?mi)^(Via|v):.*\r\n`)

// hdrOf returns the first header line named name, CRLF included, or "".
func hdrOf(m, name string) string {
	head, _, _ := strings.Cut(m, "\r\n\r\n")
	for _, l := range strings.Split(head, "\r\n")[1:] {
		if n, _, ok := strings.Cut(l, ":"); ok && strings.EqualFold(strings.TrimSpace(n), name) {
			return l + "\r\n"
		}
	}
	return ""
}

// rawResponse answers the request req as a UAS does: its Via lines, From,
// To (with toTag added when it has none), Call-ID and CSeq, then extra
// header lines and the body.
func rawResponse(req string, code int, reason, toTag, extra, body string) string {
	to := strings.TrimSuffix(hdrOf(req, "To"), "\r\n")
	if toTag != "" && !strings.Contains(to, "tag=") {
		to += ";tag=" + toTag
	}
	return "SIP/2.0 " + strconv.Itoa(code) + " " + reason + "\r\n" + strings.Join(viaLineRE.FindAllString(req, -1), "") +
		hdrOf(req, "From") + to + "\r\n" + hdrOf(req, "Call-ID") + hdrOf(req, "CSeq") + extra +
		"Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

var (
	requestLineRE  = regexp.MustCompile(`^[A-Z]+ (sip|sips|tel):[^ \x00-\x20\x7f]+ SIP/2\.0$`)
	statusLineRE   = regexp.MustCompile(`^SIP/2\.0 [1-6][0-9][0-9] [^\x00-\x08\x0a-\x1f\x7f]*$`)
	headerLineRE   = regexp.MustCompile("^([-!%*+.0-9A-Z_a-z`'~]+): ?([^\\x00-\\x08\\x0a-\\x1f\\x7f]*)$")
	sdpLineRE      = regexp.MustCompile(`^[a-z]=[^\x00-\x1f\x7f]*$`)
	singleHeaders  = []string{"from", "to", "call-id", "cseq", "content-length"}
	compactHeaders = map[string]string{"f": "from", "t": "to", "i": "call-id", "l": "content-length", "v": "via", "c": "content-type", "m": "contact"}
)

// wellFormed checks a message as a strict next hop would, independently of
// the switch's own checks: a start line of the grammar, one header per line
// of token name and printable value (no folding, no control bytes), exactly
// one From, To, Call-ID, CSeq and Content-Length, a Content-Length that is
// the body's length, an SDP body of type=value lines, and sipgo can parse
// it.
func wellFormed(m string) error {
	head, body, ok := strings.Cut(m, "\r\n\r\n")
	if !ok {
		return fmt.Errorf("no end of headers")
	}
	lines := strings.Split(head, "\r\n")
	if !requestLineRE.MatchString(lines[0]) && !statusLineRE.MatchString(lines[0]) {
		return fmt.Errorf("start line %q", lines[0])
	}
	count := map[string]int{}
	ctype, clen := "", -1
	for _, l := range lines[1:] {
		g := headerLineRE.FindStringSubmatch(l)
		if g == nil {
			return fmt.Errorf("header line %q", l)
		}
		name := strings.ToLower(g[1])
		if long, ok := compactHeaders[name]; ok {
			name = long
		}
		count[name]++
		switch name {
		case "content-type":
			ctype = strings.ToLower(strings.TrimSpace(g[2]))
		case "content-length":
			n, err := strconv.Atoi(strings.TrimSpace(g[2]))
			if err != nil {
				return fmt.Errorf("Content-Length %q", g[2])
			}
			clen = n
		}
	}
	for _, h := range singleHeaders {
		if count[h] != 1 {
			return fmt.Errorf("%d %s headers", count[h], h)
		}
	}
	if count["via"] == 0 {
		return fmt.Errorf("no Via")
	}
	if clen != len(body) {
		return fmt.Errorf("Content-Length %d, body %d bytes", clen, len(body))
	}
	if strings.HasPrefix(ctype, "application/sdp") {
		for _, l := range strings.Split(strings.TrimSuffix(body, "\r\n"), "\r\n") {
			if !sdpLineRE.MatchString(l) {
				return fmt.Errorf("SDP line %q", l)
			}
		}
	}
	if bytes.ContainsAny([]byte(body), "\x00") && ctype != "" && !strings.HasPrefix(ctype, "application/") {
		return fmt.Errorf("NUL in a text body")
	}
	if _, err := sip.NewParser().ParseSIP([]byte(m)); err != nil {
		return fmt.Errorf("sipgo: %v", err)
	}
	return nil
}
