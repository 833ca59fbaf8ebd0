package border

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Limits on what crosses.
const (
	MaxValue = 512      // bytes in one header value
	MaxBody  = 16 << 10 // bytes in a body
	maxLines = 200      // lines in an SDP body
	maxItems = 32       // entries in a comma-separated list
	maxParam = 16       // parameters on one value
)

// Errors the checks return; the message is meant for a SIP reason phrase.
var (
	ErrControl  = errors.New("control character")
	ErrTooLong  = errors.New("too long")
	ErrSyntax   = errors.New("malformed")
	ErrBodyType = errors.New("unsupported body type")
)

// CheckValue reports whether value is well formed for the header name (any
// case, compact or long). Values of headers the package has no grammar for
// must be printable text without control characters.
func CheckValue(name, value string) error {
	if len(value) > MaxValue {
		return fmt.Errorf("%s: %w", Name(name), ErrTooLong)
	}
	if err := printable(value); err != nil {
		return fmt.Errorf("%s: %w", Name(name), err)
	}
	var ok bool
	switch Name(name) {
	case "allow", "supported":
		ok = tokenList(value, true)
	case "require", "proxy-require", "unsupported":
		ok = tokenList(value, false)
	case "privacy":
		ok = true
		for _, p := range strings.Split(value, ";") {
			ok = ok && isToken(trimSWS(p))
		}
	case "session-expires", "min-se":
		num, _, ok1 := withParams(value)
		ok = ok1 && digits(num, 10)
	case "retry-after":
		num, _, ok1 := withParams(value)
		num, comment, hasComment := strings.Cut(num, "(")
		ok = ok1 && digits(trimSWS(num), 10) && (!hasComment || commentOK(comment))
	case "content-type":
		ok = mediaType(value)
	case "accept":
		ok = trimSWS(value) == "" || list(value, mediaType)
	case "content-disposition", "priority", "event":
		tok, _, ok1 := withParams(value)
		ok = ok1 && isToken(tok)
	case "reason":
		ok = list(value, func(v string) bool {
			tok, _, ok1 := withParams(v)
			return ok1 && isToken(tok)
		})
	default:
		ok = trimSWS(value) != ""
	}
	if !ok {
		return fmt.Errorf("%s: %w", Name(name), ErrSyntax)
	}
	return nil
}

// CheckBody reports whether body may cross with the Content-Type value ct.
// SDP is checked line by line; DTMF relay bodies must be plain text.
func CheckBody(ct string, body []byte) error {
	if len(body) == 0 {
		return nil
	}
	if len(body) > MaxBody {
		return fmt.Errorf("body: %w", ErrTooLong)
	}
	typ, _, _ := strings.Cut(ct, ";")
	switch strings.ToLower(strings.TrimSpace(typ)) {
	case "application/sdp":
		return CheckSDP(body)
	case "application/dtmf-relay", "application/dtmf":
		for _, line := range strings.Split(strings.ReplaceAll(string(body), "\r\n", "\n"), "\n") {
			if err := printable(line); err != nil {
				return fmt.Errorf("body: %w", err)
			}
		}
		return nil
	case "":
		return fmt.Errorf("body without Content-Type: %w", ErrBodyType)
	}
	return fmt.Errorf("%s: %w", typ, ErrBodyType)
}

// CheckSDP reports whether body is a well-formed SDP session description
// (RFC 8866 §5): type=value lines, v=0 first, o=, s= and t= present, and
// well-formed c= and m= lines.
func CheckSDP(body []byte) error {
	if len(body) > MaxBody {
		return fmt.Errorf("SDP: %w", ErrTooLong)
	}
	text := string(body)
	for i := strings.IndexByte(text, '\r'); i >= 0; i = strings.IndexByte(text[i+1:], '\r') + i + 1 {
		if i+1 == len(text) || text[i+1] != '\n' {
			return fmt.Errorf("SDP: CR without LF: %w", ErrControl)
		}
		if strings.IndexByte(text[i+1:], '\r') < 0 {
			break
		}
	}
	lines := sdpLines(text)
	if len(lines) > maxLines {
		return fmt.Errorf("SDP: %w", ErrTooLong)
	}
	seen := map[byte]bool{}
	for i, line := range lines {
		if len(line) < 2 || line[1] != '=' || line[0] < 'a' || line[0] > 'z' {
			return fmt.Errorf("SDP line %d: %w", i+1, ErrSyntax)
		}
		if err := printable(line); err != nil || strings.ContainsRune(line, '\t') {
			return fmt.Errorf("SDP line %d: %w", i+1, ErrControl)
		}
		typ, v := line[0], line[2:]
		if i == 0 && line != "v=0" {
			return fmt.Errorf("SDP: first line must be v=0: %w", ErrSyntax)
		}
		var ok bool
		switch typ {
		case 'o':
			ok = len(strings.Fields(v)) == 6
		case 'c':
			f := strings.Fields(v)
			addr := strings.Split(f0(f, 2), "/")[0]
			_, ipErr := netip.ParseAddr(addr)
			ok = len(f) == 3 && f[0] == "IN" && (f[1] == "IP4" || f[1] == "IP6") && (host(addr) || ipErr == nil)
		case 'm':
			f := strings.Fields(v)
			port, _, _ := strings.Cut(f0(f, 1), "/")
			ok = len(f) >= 4 && isToken(f[0]) && digits(port, 5) && slashTokens(f[2])
		case 't':
			f := strings.Fields(v)
			ok = len(f) == 2 && digits(f[0], 20) && digits(f[1], 20)
		default:
			ok = typ != 'v' || i == 0
		}
		if !ok {
			return fmt.Errorf("SDP %c= line: %w", typ, ErrSyntax)
		}
		seen[typ] = true
	}
	if !seen['o'] || !seen['s'] || !seen['t'] {
		return fmt.Errorf("SDP without o=, s= or t=: %w", ErrSyntax)
	}
	return nil
}

// slashTokens reports token *("/" token), an SDP transport protocol.
func slashTokens(v string) bool {
	for _, p := range strings.Split(v, "/") {
		if !isToken(p) {
			return false
		}
	}
	return true
}

// sdpLines splits an SDP body into its lines (CRLF or LF ends; the last
// line may have none).
func sdpLines(text string) []string {
	text = strings.TrimSuffix(text, "\n")
	text = strings.TrimSuffix(text, "\r")
	return strings.Split(strings.ReplaceAll(text, "\r\n", "\n"), "\n")
}

// CanonicalSDP returns a checked SDP body with every line ended by CRLF,
// as RFC 8866 writes it (some parties end lines with LF alone). It returns
// body itself, without allocating, when it is already so.
func CanonicalSDP(body []byte) []byte {
	crlf := len(body) >= 2 && body[len(body)-2] == '\r' && body[len(body)-1] == '\n'
	for i := 0; crlf && i < len(body); i++ {
		if body[i] == '\n' && (i == 0 || body[i-1] != '\r') {
			crlf = false
		}
	}
	if crlf {
		return body
	}
	lines := sdpLines(string(body))
	out := make([]byte, 0, len(body)+2*len(lines))
	for _, l := range lines {
		out = append(out, l...)
		out = append(out, '\r', '\n')
	}
	return out
}

func f0(f []string, i int) string {
	if i < len(f) {
		return f[i]
	}
	return ""
}

// printable reports control characters: anything below 0x20 but HTAB, and
// DEL; and text that is not UTF-8.
func printable(s string) error {
	if !utf8.ValidString(s) {
		return ErrSyntax
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < 0x20 && c != '\t') || c == 0x7f {
			return ErrControl
		}
	}
	return nil
}

func digits(s string, max int) bool {
	if s == "" || len(s) > max {
		return false
	}
	_, err := strconv.ParseUint(s, 10, 64)
	return err == nil && !strings.HasPrefix(s, "+")
}

// list reports whether v is a comma-separated list of items that each pass
// item.
func list(v string, item func(string) bool) bool {
	parts := splitOutside(v, ',')
	if len(parts) > maxItems {
		return false
	}
	for _, p := range parts {
		if !item(trimSWS(p)) {
			return false
		}
	}
	return true
}

func tokenList(v string, empty bool) bool {
	if trimSWS(v) == "" {
		return empty
	}
	return list(v, isToken)
}

// mediaType is type/subtype *(;param).
func mediaType(v string) bool {
	mt, _, ok := withParams(v)
	t, sub, slash := strings.Cut(mt, "/")
	return ok && slash && isToken(trimSWS(t)) && (isToken(trimSWS(sub)) || trimSWS(sub) == "*")
}

// withParams splits a value into what comes before its first ';' (outside
// quotes), trimmed, and its parameters, and checks the parameters: each
// token [= token / host / quoted-string]. ok is false for a malformed or
// empty parameter (a trailing ';').
func withParams(v string) (head, params string, ok bool) {
	parts := splitOutside(v, ';')
	if len(parts) > maxParam+1 {
		return "", "", false
	}
	head = trimSWS(parts[0])
	if len(parts) > 1 {
		params = v[len(parts[0])+1:]
	}
	for _, p := range parts[1:] {
		k, val, eq := strings.Cut(trimSWS(p), "=")
		k, val = trimSWS(k), trimSWS(val)
		if !isToken(k) || eq && !(isToken(val) || host(val) || quoted(val)) {
			return head, params, false
		}
	}
	return head, params, true
}

// splitOutside splits s at sep where sep is not inside a quoted-string.
func splitOutside(s string, sep byte) []string {
	var out []string
	in, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && in:
			i++
		case c == '"':
			in = !in
		case c == sep && !in:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// commentOK reports whether c (what follows a comment's '(') is one
// balanced comment with nothing after it but white space.
func commentOK(c string) bool {
	depth := 1
	for i := 0; i < len(c); i++ {
		switch c[i] {
		case '\\':
			i++
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return trimSWS(c[i+1:]) == ""
			}
		}
	}
	return false
}

// trimSWS trims SIP white space (SP and HTAB only, never other Unicode
// spaces).
func trimSWS(s string) string { return strings.Trim(s, " \t") }

// quoted reports an RFC 3261 quoted-string (no control characters; escapes
// allowed).
func quoted(v string) bool {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return false
	}
	in := v[1 : len(v)-1]
	for i := 0; i < len(in); i++ {
		switch in[i] {
		case '\\':
			i++
			if i == len(in) {
				return false
			}
		case '"':
			return false
		}
	}
	return printable(in) == nil
}

// host reports a host name, IPv4 address or bracketed IPv6 address (loose:
// the characters, not the structure).
func host(v string) bool {
	if v == "" || len(v) > 255 {
		return false
	}
	if v[0] == '[' {
		if v[len(v)-1] != ']' {
			return false
		}
		for _, c := range v[1 : len(v)-1] {
			if !(c == ':' || c == '.' || ('0' <= c && c <= '9') || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')) {
				return false
			}
		}
		return len(v) > 2
	}
	for i := 0; i < len(v); i++ {
		c := v[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '-') {
			return false
		}
	}
	return true
}

// isToken reports whether s is an RFC 3261 token.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-.!%*_+`'~", c) >= 0:
		default:
			return false
		}
	}
	return s != ""
}
