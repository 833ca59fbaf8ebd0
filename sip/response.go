package sip

import (
	"bytes"
	"strconv"
	"strings"

	gosip "github.com/emiago/sipgo/sip"

	"github.com/trunkline/trunkline/sip/border"
)

// response is a response from a carrier (or from a customer, in dialog) as
// far as the switch needs it to match it and write the other leg's answer
// from it. Most responses are not parsed: scanResponse finds these fields,
// the other headers and the body in the raw bytes. A response the scanner
// does not take (folded lines, quoted Via parameters, …) is parsed by sipgo
// instead.
type response struct {
	code    int
	reason  string
	method  gosip.RequestMethod // of the CSeq
	branch  string              // of the top Via
	to      string              // To header value
	contact string              // Contact header value; "" when none
	rr      []string            // Record-Route values of a 2xx to an INVITE, in order

	data   []byte          // the message as received (valid while it is handled)
	bodyAt int             // where the body starts in data
	others [][2][]byte     // name and value of the headers not read above
	msg    *gosip.Response // the parsed message without its top Via, when the scanner did not take it
}

// fields returns the name and value of each header the response has beyond
// the ones the switch reads (Via, From, To, Call-ID, CSeq, Contact,
// Record-Route, Content-Length), in order. They are valid while the
// response is handled.
func (r *response) fields() [][2][]byte {
	if r.msg == nil {
		return r.others
	}
	var out [][2][]byte
	for _, h := range r.msg.Headers() {
		switch border.Name(h.Name()) {
		case "via", "from", "to", "call-id", "cseq", "contact", "record-route", "content-length":
			continue
		}
		out = append(out, [2][]byte{[]byte(h.Name()), []byte(h.Value())})
	}
	return out
}

// body returns the response's body.
func (r *response) body() []byte {
	if r.msg != nil {
		return r.msg.Body()
	}
	return r.data[r.bodyAt:]
}

// toTag is the tag of the response's To.
func (r *response) toTag() string { return tagOf(r.to) }

// tagOf returns the tag parameter of a From or To value.
func tagOf(v string) string {
	if i := strings.LastIndex(v, ">"); i >= 0 {
		v = v[i:]
	}
	for _, p := range strings.Split(v, ";")[1:] {
		k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
		if strings.EqualFold(strings.TrimSpace(k), "tag") {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

func (r *response) provisional() bool { return r.code < 200 }
func (r *response) success() bool     { return r.code >= 200 && r.code < 300 }

// contactURI is the Contact's URI, if the response has one.
func (r *response) contactURI() (gosip.Uri, bool) {
	var u gosip.Uri
	if r.contact == "" {
		return u, false
	}
	params := gosip.HeaderParams{}
	_, err := gosip.ParseAddressValue(r.contact, &u, &params)
	return u, err == nil && u.Host != ""
}

// fromMessage fills a response from a message sipgo parsed.
func fromMessage(m *gosip.Response) (*response, bool) {
	via, cseq, to := m.Via(), m.CSeq(), m.To()
	if via == nil || cseq == nil || to == nil {
		return nil, false
	}
	r := &response{code: m.StatusCode, reason: m.Reason, msg: m, to: to.Value(),
		method: gosip.RequestMethod(strings.ToUpper(string(cseq.MethodName)))}
	r.branch, _ = via.Params.Get("branch")
	if ct := m.Contact(); ct != nil {
		r.contact = ct.Value()
	}
	if r.success() && r.method == gosip.INVITE {
		for _, h := range m.GetHeaders("Record-Route") {
			r.rr = append(r.rr, h.Value())
		}
	}
	return r, true
}

// scanResponse reads what the switch needs of a response from its bytes,
// or reports false for one it should leave to the full parser.
func scanResponse(data []byte) (*response, bool) {
	// Status line: SIP/2.0 NNN Reason
	if len(data) < 14 || !bytes.HasPrefix(data, []byte("SIP/2.0 ")) || data[11] != ' ' {
		return nil, false
	}
	code, err := strconv.Atoi(string(data[8:11]))
	if err != nil || code < 100 || code > 699 {
		return nil, false
	}
	eol := bytes.Index(data, []byte("\r\n"))
	if eol < 0 {
		return nil, false
	}
	if bytes.ContainsAny(data[12:eol], "\r\n") {
		return nil, false
	}
	r := &response{code: code, reason: string(data[12:eol]), data: data}
	gotVia, gotCSeq, gotTo := false, false, false
	bodyLen := -1
	i := eol + 2
	for {
		end := bytes.Index(data[i:], []byte("\r\n"))
		if end < 0 {
			return nil, false
		}
		line := data[i : i+end]
		next := i + end + 2
		if len(line) == 0 {
			i = next
			break // end of headers
		}
		if bytes.IndexByte(line, '\n') >= 0 || bytes.IndexByte(line, '\r') >= 0 {
			return nil, false // a bare CR or LF: the full parser rejects it
		}
		if next < len(data) && (data[next] == ' ' || data[next] == '\t') {
			return nil, false // folded header
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, false
		}
		name := bytes.TrimRight(line[:colon], " \t")
		value := bytes.TrimLeft(line[colon+1:], " \t")
		switch {
		case isHeader(name, "via", "v"):
			if !gotVia {
				if !r.scanTopVia(value) {
					return nil, false
				}
				gotVia = true
			}
		case isHeader(name, "cseq", ""):
			if gotCSeq {
				return nil, false
			}
			num, method, ok := bytes.Cut(bytes.TrimRight(value, " \t"), []byte(" "))
			if _, err := strconv.ParseUint(string(num), 10, 32); !ok || err != nil || len(bytes.Trim(num, "0123456789")) > 0 || !isToken(method) {
				return nil, false
			}
			r.method = gosip.RequestMethod(strings.ToUpper(string(method)))
			gotCSeq = true
		case isHeader(name, "to", "t"):
			if gotTo {
				return nil, false
			}
			r.to = string(bytes.TrimRight(value, " \t"))
			gotTo = true
		case isHeader(name, "contact", "m"):
			if r.contact == "" {
				r.contact = string(bytes.TrimRight(value, " \t"))
			}
		case isHeader(name, "record-route", "") && r.success():
			r.rr = append(r.rr, string(bytes.TrimRight(value, " \t")))
		case isHeader(name, "content-length", "l"):
			v := bytes.TrimRight(value, " \t")
			n, err := strconv.Atoi(string(v))
			if bodyLen >= 0 || err != nil || len(bytes.Trim(v, "0123456789")) > 0 {
				return nil, false
			}
			bodyLen = n
		case isHeader(name, "from", "f"), isHeader(name, "call-id", "i"), isHeader(name, "record-route", ""):
		default:
			r.others = append(r.others, [2][]byte{name, bytes.TrimRight(value, " \t")})
		}
		i = next
	}
	// The body must be exactly what Content-Length says: anything else
	// (missing, truncated, trailing bytes) is for the full parser.
	if !gotVia || !gotCSeq || !gotTo || r.branch == "" || r.method == "" || bodyLen != len(data)-i {
		return nil, false
	}
	r.bodyAt = i
	if r.method != gosip.INVITE {
		r.rr = nil // only a 2xx to an INVITE sets up a route set
	}
	for _, v := range r.rr {
		if !plainRoute(v) {
			return nil, false // a list, a display name, an odd URI: for the full parser
		}
	}
	return r, true
}

// scanTopVia finds the first Via value's branch; it reports false for a
// value it leaves to the full parser (quotes, a trailing comma, anything
// unusual).
func (r *response) scanTopVia(value []byte) bool {
	if bytes.IndexByte(value, '"') >= 0 {
		return false
	}
	first := value
	comma := bytes.IndexByte(value, ',')
	if comma >= 0 {
		first = value[:comma]
		rest := comma + 1
		for rest < len(value) && (value[rest] == ' ' || value[rest] == '\t') {
			rest++
		}
		if rest == len(value) {
			return false
		}
	}
	// SIP/2.0/transport host[:port]
	if len(first) < 12 || !bytes.EqualFold(first[:8], []byte("SIP/2.0/")) {
		return false
	}
	rest := first[8:]
	sp := bytes.IndexAny(rest, " \t")
	if sp <= 0 || !isToken(rest[:sp]) {
		return false
	}
	sentBy, _, _ := bytes.Cut(bytes.TrimLeft(rest[sp:], " \t"), []byte(";"))
	if sentBy = bytes.TrimRight(sentBy, " \t"); len(sentBy) == 0 || bytes.ContainsAny(sentBy, " \t") {
		return false
	}
	host, port := sentBy, []byte(nil)
	if host[0] == '[' {
		end := bytes.IndexByte(host, ']')
		if end < 0 {
			return false
		}
		host, port = host[1:end], host[end+1:]
		if len(port) > 0 && port[0] != ':' {
			return false
		}
	} else if i := bytes.IndexByte(host, ':'); i >= 0 {
		host, port = host[:i], host[i:]
	}
	if len(host) == 0 || len(port) == 1 || len(port) > 1 && len(bytes.Trim(port[1:], "0123456789")) > 0 {
		return false
	}
	params := bytes.Split(first, []byte(";"))
	for _, p := range params[1:] {
		k, v, eq := bytes.Cut(bytes.TrimSpace(p), []byte("="))
		if !isToken(k) || eq && !isToken(bytes.Trim(v, "[]:")) {
			return false // leave anything unusual to the full parser
		}
		if string(k) == "branch" {
			if !bytes.HasPrefix(v, []byte(magicCookie)) || r.branch != "" {
				return false
			}
			r.branch = string(v)
		}
	}
	return true
}

// isToken reports whether b is an RFC 3261 token.
func isToken(b []byte) bool {
	for _, c := range b {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return len(b) > 0
}

// isHeader reports whether name is the header long (lower case) or its
// compact form short.
func isHeader(name []byte, long, short string) bool {
	if short != "" && len(name) == 1 {
		return name[0]|0x20 == short[0]
	}
	return len(name) == len(long) && bytes.EqualFold(name, []byte(long))
}
