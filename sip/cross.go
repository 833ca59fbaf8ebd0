package sip

import (
	"errors"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/border"
)

// refusal is why a request cannot cross: the status and reason the switch
// answers it with.
type refusal struct {
	code   int
	reason string
	lines  []string // header lines the answer carries (Min-SE of a 422)
}

func refuse(code int, reason string) *refusal { return &refusal{code: code, reason: reason} }

// supported is what the switch's legs support of the option tags a party may
// require (RFC 3261 §8.2.2.3): session timers cross end to end; reliable
// provisional responses do not (the switch does not PRACK across legs).
var supported = []string{"timer"}

// crossing returns the header lines of req that cross in direction d under
// policy p, checked, with its body; a request whose crossing parts are
// malformed is refused.
func crossing(req *gosip.Request, d border.Direction, p *border.Policy) ([]string, []byte, *refusal) {
	var x crossed
	for _, h := range req.Headers() {
		if canon := border.Name(h.Name()); p.CrossesCanonical(d, canon) {
			if r := x.header(canon, h.Value()); r != nil {
				return nil, nil, r
			}
		}
	}
	lines, body, err := x.withBody(req.Body())
	switch {
	case errors.Is(err, errNoContentType):
		return nil, nil, refuse(400, "Body Without Content-Type")
	case errors.Is(err, border.ErrBodyType):
		return nil, nil, refuse(415, "Unsupported Media Type")
	case err != nil:
		return nil, nil, refuse(400, "Malformed Body")
	}
	return lines, body, nil
}

// maxCrossing bounds the header lines that cross in one message.
const maxCrossing = 32

// crossingResponse returns the header lines and the body of a response from
// the party of one leg that cross to the other in direction d. A header
// that fails its check is left out; a body that fails is left out too (ok
// false), which the caller treats as a malformed answer.
func crossingResponse(res *response, d border.Direction, p *border.Policy) (lines []string, body []byte, ok bool) {
	var x crossed
	for _, f := range res.fields() {
		if canon := border.NameBytes(f[0]); p.CrossesCanonical(d, canon) {
			_ = x.header(canon, string(f[1])) // a response loses what it may not carry
		}
	}
	lines, body, err := x.withBody(res.body())
	return lines, body, err == nil
}

// crossed collects the header lines of one message that cross, checked.
type crossed struct {
	lines []string
	seen  []string // single-value headers already taken
	ctype string   // the Content-Type taken
}

// header takes one header that the policy lets cross. It returns why it
// does not cross: a request carrying it is refused; a response loses it.
func (x *crossed) header(canon, value string) *refusal {
	if singleValue(canon) {
		if contains(x.seen, canon) {
			return refuse(400, "Duplicate "+headerTitle(canon))
		}
		x.seen = append(x.seen, canon)
	}
	switch canon {
	case "require":
		if !allSupported(value) {
			return refuse(420, "Bad Extension") // an extension the other leg never agreed to
		}
	case "supported":
		if value = onlySupported(value); value == "" {
			return nil
		}
	case "content-type":
		x.ctype = value
	}
	if border.CheckValue(canon, value) != nil {
		return refuse(400, "Malformed "+headerTitle(canon))
	}
	if len(x.lines) == maxCrossing {
		return refuse(400, "Too Many Headers")
	}
	x.lines = append(x.lines, headerTitle(canon)+": "+value)
	return nil
}

// errNoContentType is a body without a Content-Type.
var errNoContentType = errors.New("body without Content-Type")

// withBody checks body against the Content-Type taken and returns the
// lines and the body as they cross (SDP with CRLF line ends); a
// Content-Type without a body is left out, and so is one whose body fails.
func (x *crossed) withBody(body []byte) ([]string, []byte, error) {
	if len(body) == 0 {
		if x.ctype != "" {
			x.lines = without(x.lines, "Content-Type: "+x.ctype)
		}
		return x.lines, body, nil
	}
	if x.ctype == "" {
		return x.lines, nil, errNoContentType
	}
	if err := border.CheckBody(x.ctype, body); err != nil {
		return without(x.lines, "Content-Type: "+x.ctype), nil, err
	}
	return x.lines, canonical(x.ctype, body), nil
}

// singleValue reports the headers a message may hold once (their grammar
// has no list): a second one is malformed.
func singleValue(canon string) bool {
	switch canon {
	case "content-type", "session-expires", "min-se", "retry-after", "priority", "content-disposition", "event", "privacy":
		return true
	}
	return false
}

// allSupported reports whether the switch supports every option tag of a
// Require value.
func allSupported(v string) bool {
	for _, tag := range strings.Split(v, ",") {
		if !contains(supported, strings.TrimSpace(tag)) {
			return false
		}
	}
	return true
}

// canonical writes a checked SDP body's lines with CRLF; other bodies are
// returned as they are.
func canonical(ctype string, body []byte) []byte {
	typ, _, _ := strings.Cut(ctype, ";")
	if len(body) > 0 && strings.EqualFold(strings.TrimSpace(typ), "application/sdp") {
		return border.CanonicalSDP(body)
	}
	return body
}

// onlySupported keeps the option tags of a Supported value that the switch
// supports across its legs.
func onlySupported(v string) string {
	var keep []string
	for _, tag := range strings.Split(v, ",") {
		if t := strings.TrimSpace(tag); contains(supported, t) && !contains(keep, t) {
			keep = append(keep, t)
		}
	}
	return strings.Join(keep, ", ")
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return true
		}
	}
	return false
}

func without(lines []string, line string) []string {
	out := lines[:0]
	for _, l := range lines {
		if l != line {
			out = append(out, l)
		}
	}
	return out
}

// titles holds the usual spelling of the names that cross by default.
var titles = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"allow", "supported", "require", "unsupported", "session-expires", "min-se", "accept",
		"content-type", "content-disposition", "privacy", "reason", "priority", "event", "retry-after"} {
		m[n] = title(n)
	}
	return m
}()

// headerTitle writes a canonical header name the usual way: Content-Type,
// Min-SE, Session-Expires.
func headerTitle(canon string) string {
	if t, ok := titles[canon]; ok {
		return t
	}
	return title(canon)
}

func title(canon string) string {
	switch canon {
	case "min-se":
		return "Min-SE"
	case "call-id":
		return "Call-ID"
	case "cseq":
		return "CSeq"
	}
	b := []byte(canon)
	up := true
	for i, c := range b {
		if up && 'a' <= c && c <= 'z' {
			b[i] = c - 'a' + 'A'
		}
		up = c == '-'
	}
	return string(b)
}
