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
}

func refuse(code int, reason string) *refusal { return &refusal{code, reason} }

// supported is what the switch's legs support of the option tags a party may
// require (RFC 3261 §8.2.2.3): session timers cross end to end; reliable
// provisional responses do not (the switch does not PRACK across legs).
var supported = []string{"timer"}

// crossing returns the header lines of req that cross in direction d under
// policy p, checked, with its body; a request whose crossing parts are
// malformed is refused.
func crossing(req *gosip.Request, d border.Direction, p *border.Policy) ([]string, []byte, *refusal) {
	var lines []string
	var seen []string // single-value headers already taken
	ctype := ""
	for _, h := range req.Headers() {
		canon := border.Name(h.Name())
		if !p.CrossesCanonical(d, canon) {
			continue
		}
		if singleValue(canon) {
			if contains(seen, canon) {
				return nil, nil, refuse(400, "Duplicate "+headerTitle(canon))
			}
			seen = append(seen, canon)
		}
		value := h.Value()
		switch canon {
		case "require":
			if !allSupported(value) {
				return nil, nil, refuse(420, "Bad Extension")
			}
		case "supported":
			value = onlySupported(value)
			if value == "" {
				continue
			}
		case "content-type":
			ctype = value
		}
		if err := border.CheckValue(canon, value); err != nil {
			return nil, nil, refuse(400, "Malformed "+headerTitle(canon))
		}
		if len(lines) == maxCrossing {
			return nil, nil, refuse(400, "Too Many Headers")
		}
		lines = append(lines, headerTitle(canon)+": "+value)
	}
	body := req.Body()
	if len(body) > 0 {
		if ctype == "" {
			return nil, nil, refuse(400, "Body Without Content-Type")
		}
		if err := border.CheckBody(ctype, body); err != nil {
			if errors.Is(err, border.ErrBodyType) {
				return nil, nil, refuse(415, "Unsupported Media Type")
			}
			return nil, nil, refuse(400, "Malformed Body")
		}
		body = canonical(ctype, body)
	} else if ctype != "" {
		lines = without(lines, "Content-Type: "+ctype)
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
	ctype := ""
	var seen []string
	for _, f := range res.fields() {
		canon := border.NameBytes(f[0])
		if !p.CrossesCanonical(d, canon) {
			continue
		}
		if singleValue(canon) {
			if contains(seen, canon) {
				continue // the first one crosses
			}
			seen = append(seen, canon)
		}
		value := string(f[1])
		switch canon {
		case "require":
			if !allSupported(value) {
				continue // an extension the other leg never agreed to
			}
		case "supported":
			if value = onlySupported(value); value == "" {
				continue
			}
		case "content-type":
			ctype = value
		}
		if border.CheckValue(canon, value) != nil || len(lines) == maxCrossing {
			continue
		}
		lines = append(lines, headerTitle(canon)+": "+value)
	}
	body = res.body()
	if len(body) > 0 && border.CheckBody(ctype, body) != nil {
		return without(lines, "Content-Type: "+ctype), nil, false
	}
	body = canonical(ctype, body)
	if len(body) == 0 && ctype != "" {
		lines = without(lines, "Content-Type: "+ctype)
	}
	return lines, body, true
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
