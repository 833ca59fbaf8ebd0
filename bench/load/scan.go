package load

import (
	"bytes"
)

// Limits of what Scan keeps of one message.
const (
	maxVia = 8  // Via header lines
	maxRR  = 16 // Record-Route header lines

	maxDatagram = 65535 // the largest UDP payload
)

// Msg is what the generator reads of one SIP message. Its byte slices point
// into the datagram it was scanned from and are valid as long as that
// buffer is. Scan fills it without allocating.
type Msg struct {
	Method     []byte // request method; nil for a response
	RURI       []byte // Request-URI
	Code       int    // response status code; 0 for a request
	CallID     []byte
	CSeq       uint32 // CSeq number
	CSeqMethod []byte // CSeq method
	CSeqValue  []byte // the whole CSeq value, as responses repeat it
	From, To   []byte // header values
	ToTag      []byte // tag parameter of To; nil when it has none
	Branch     []byte // branch parameter of the top Via
	Contact    []byte // the first Contact value; nil when there is none
	Body       []byte

	via  [maxVia][]byte
	nvia int
	rr   [maxRR][]byte
	nrr  int
}

// IsRequest reports whether m is a request.
func (m *Msg) IsRequest() bool { return m.Method != nil }

// Vias returns the values of the Via header lines, top first.
func (m *Msg) Vias() [][]byte { return m.via[:m.nvia] }

// RecordRoutes returns the values of the Record-Route header lines, in order.
func (m *Msg) RecordRoutes() [][]byte { return m.rr[:m.nrr] }

// Scan reads the start line and the headers the generator needs from a
// datagram holding one SIP message: Via (all, and the top branch), From,
// To (and its tag), Call-ID, CSeq, Contact, Record-Route and
// Content-Length, in their long or compact forms, names in any case. Other
// headers are skipped. Lines may end in CRLF or LF, all alike. It rejects,
// with an error wrapping ErrMalformed, what it does not take: folded header
// lines, control characters in the start line or headers, a missing or
// repeated From, To, Call-ID or CSeq, a CSeq of 2**31 or more, a body
// shorter than its Content-Length, more than 8 Via or 16 Record-Route
// lines.
func Scan(data []byte, m *Msg) error {
	*m = Msg{}
	line, rest, ok := nextLine(data)
	if !ok {
		return errIncomplete
	}
	cr := len(data) > len(line) && data[len(line)] == '\r' // the start line's ending is the message's
	if hasControl(line) {
		return errControl
	}
	if err := m.startLine(line); err != nil {
		return err
	}
	length := -1
	for {
		next := rest
		if line, rest, ok = nextLine(rest); !ok {
			return errIncomplete
		}
		if (len(next) > len(line) && next[len(line)] == '\r') != cr {
			return errLineEnding
		}
		if len(line) == 0 {
			break
		}
		if line[0] == ' ' || line[0] == '\t' {
			return errFolded
		}
		if hasControl(line) {
			return errControl
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return errHeaderLine
		}
		name, value := trimLWS(line[:colon]), trimLWS(line[colon+1:])
		var err error
		switch headerOf(name) {
		case hVia:
			if m.nvia == maxVia {
				return errTooMany
			}
			m.via[m.nvia] = value
			m.nvia++
		case hRecordRoute:
			if m.nrr == maxRR {
				return errTooMany
			}
			m.rr[m.nrr] = value
			m.nrr++
		case hCallID:
			err = once(&m.CallID, value)
		case hFrom:
			err = once(&m.From, value)
		case hTo:
			err = once(&m.To, value)
		case hContact:
			if m.Contact == nil {
				m.Contact = value
			}
		case hCSeq:
			if m.CSeqValue != nil {
				return errDuplicate
			}
			err = m.cseq(value)
		case hContentLength:
			if length >= 0 {
				return errDuplicate
			}
			n := atoi(value)
			if n < 0 || n > maxDatagram {
				return errContentLength
			}
			length = int(n)
		}
		if err != nil {
			return err
		}
	}
	if len(m.CallID) == 0 || len(m.From) == 0 || len(m.To) == 0 || m.CSeqValue == nil || m.nvia == 0 {
		return errMissing
	}
	m.Body = rest
	if length >= 0 {
		if length > len(rest) {
			return errBodyShort
		}
		m.Body = rest[:length]
	}
	m.ToTag = param(afterURI(m.To), "tag")
	m.Branch = param(viaParams(m.via[0]), "branch")
	return nil
}

// startLine reads "METHOD URI SIP/2.0" or "SIP/2.0 CODE reason".
func (m *Msg) startLine(line []byte) error {
	if rest, ok := bytes.CutPrefix(line, []byte("SIP/2.0 ")); ok {
		if len(rest) < 3 || (len(rest) > 3 && rest[3] != ' ') {
			return errStartLine
		}
		m.Code = int(atoi(rest[:3]))
		if m.Code < 100 || m.Code > 699 {
			return errStartLine
		}
		return nil
	}
	sp := bytes.IndexByte(line, ' ')
	if sp <= 0 || !isToken(line[:sp]) {
		return errStartLine
	}
	uri, version, ok := bytes.Cut(line[sp+1:], []byte(" "))
	if !ok || len(uri) == 0 || !bytes.Equal(version, []byte("SIP/2.0")) {
		return errStartLine
	}
	m.Method, m.RURI = line[:sp], uri
	return nil
}

// cseq reads "NUMBER METHOD".
func (m *Msg) cseq(v []byte) error {
	i := 0
	for i < len(v) && v[i] >= '0' && v[i] <= '9' {
		i++
	}
	if i == 0 || i > 10 {
		return errCSeq
	}
	n := atoi(v[:i])
	if n >= 1<<31 { // RFC 3261 §8.1.1.5
		return errCSeq
	}
	method := trimLWS(v[i:])
	if len(method) == len(v[i:]) || !isToken(method) {
		return errCSeq
	}
	m.CSeq, m.CSeqMethod, m.CSeqValue = uint32(n), method, v
	return nil
}

func once(dst *[]byte, v []byte) error {
	if *dst != nil {
		return errDuplicate
	}
	*dst = v
	return nil
}

// nextLine splits data after its first line, which it returns without the
// line ending; ok is false when data holds no line ending.
func nextLine(data []byte) (line, rest []byte, ok bool) {
	i := bytes.IndexByte(data, '\n')
	if i < 0 {
		return nil, nil, false
	}
	line, rest = data[:i], data[i+1:]
	if n := len(line); n > 0 && line[n-1] == '\r' {
		line = line[:n-1]
	}
	return line, rest, true
}

type header uint8

const (
	hOther header = iota
	hVia
	hRecordRoute
	hCallID
	hFrom
	hTo
	hContact
	hCSeq
	hContentLength
)

// headerOf names a header from its long or compact name, in any case.
func headerOf(name []byte) header {
	if len(name) == 1 {
		switch name[0] | 0x20 {
		case 'v':
			return hVia
		case 'i':
			return hCallID
		case 'f':
			return hFrom
		case 't':
			return hTo
		case 'm':
			return hContact
		case 'l':
			return hContentLength
		}
		return hOther
	}
	switch len(name) {
	case 2:
		if bytes.EqualFold(name, []byte("to")) {
			return hTo
		}
	case 3:
		if bytes.EqualFold(name, []byte("via")) {
			return hVia
		}
	case 4:
		switch {
		case bytes.EqualFold(name, []byte("from")):
			return hFrom
		case bytes.EqualFold(name, []byte("cseq")):
			return hCSeq
		}
	case 7:
		switch {
		case bytes.EqualFold(name, []byte("call-id")):
			return hCallID
		case bytes.EqualFold(name, []byte("contact")):
			return hContact
		}
	case 12:
		if bytes.EqualFold(name, []byte("record-route")) {
			return hRecordRoute
		}
	case 14:
		if bytes.EqualFold(name, []byte("content-length")) {
			return hContentLength
		}
	}
	return hOther
}

// afterURI returns the header parameters of a From, To or Contact value:
// what follows the <URI>, or for a bare URI what follows its first ';'.
func afterURI(v []byte) []byte {
	if i := bytes.LastIndexByte(v, '>'); i >= 0 {
		return v[i+1:]
	}
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		return v[i:]
	}
	return nil
}

// viaParams returns the parameters of the first via-parm of a Via value.
func viaParams(v []byte) []byte {
	if i := bytes.IndexByte(v, ','); i >= 0 {
		v = v[:i]
	}
	if i := bytes.IndexByte(v, ';'); i >= 0 {
		return v[i:]
	}
	return nil
}

// param returns the value of the parameter name in ";a=1;b=2" (name in
// any case); nil when there is none or it has no value.
func param(params []byte, name string) []byte {
	for len(params) > 0 {
		i := bytes.IndexByte(params, ';')
		if i < 0 {
			return nil
		}
		params = params[i+1:]
		p := params
		if j := bytes.IndexByte(p, ';'); j >= 0 {
			p = p[:j]
		}
		k, v, ok := bytes.Cut(p, []byte("="))
		if ok && bytes.EqualFold(trimLWS(k), []byte(name)) {
			if v = trimLWS(v); len(v) > 0 {
				return v
			}
			return nil
		}
	}
	return nil
}

func trimLWS(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t') {
		b = b[:len(b)-1]
	}
	return b
}

// atoi reads a decimal number of 1 to 10 digits; -1 when b is not one.
func atoi(b []byte) int64 {
	if len(b) == 0 || len(b) > 10 {
		return -1
	}
	var n int64
	for _, c := range b {
		if c < '0' || c > '9' {
			return -1
		}
		n = n*10 + int64(c-'0')
	}
	return n
}

// hasControl reports whether a line holds a control character other than
// HT (a bare CR, NUL, DEL, …).
func hasControl(line []byte) bool {
	for _, c := range line {
		if c < 0x20 && c != '\t' || c == 0x7f {
			return true
		}
	}
	return false
}

// isToken reports whether b is a non-empty RFC 3261 token.
func isToken(b []byte) bool {
	if len(b) == 0 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '!', c == '%', c == '*', c == '_', c == '+', c == '`', c == '\'', c == '~':
		default:
			return false
		}
	}
	return true
}
