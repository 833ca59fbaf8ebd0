package border

import (
	"fmt"
	"slices"
	"strings"
)

// Direction is the way a message crosses the switch.
type Direction int

const (
	// ToCarrier is from a customer to a carrier: the customer's requests
	// and its responses to the carrier's in-dialog requests.
	ToCarrier Direction = iota
	// ToCustomer is from a carrier to a customer.
	ToCustomer
)

// The headers that cross by default, lower-case long names. Everything a
// leg needs to work (Via, From, To, Call-ID, CSeq, Contact, Route,
// Max-Forwards, Content-Length) the switch writes itself; caller identity
// (P-Asserted-Identity, Remote-Party-ID) crosses only from trusted customers,
// rewritten (see Identity).
var (
	defaultToCarrier = []string{
		"allow", "supported", "require", "session-expires", "min-se", "accept",
		"content-type", "content-disposition", "privacy", "reason", "priority", "event",
	}
	defaultToCustomer = []string{
		"allow", "supported", "require", "unsupported", "session-expires", "min-se", "accept",
		"content-type", "content-disposition", "reason", "retry-after", "event",
	}
)

// never lists the headers that never cross, whatever is configured:
// identifiers of a leg, its routing, and credentials.
var never = []string{
	"via", "route", "record-route", "contact", "call-id", "from", "to", "cseq",
	"max-forwards", "content-length", "authorization", "proxy-authorization",
	"www-authenticate", "proxy-authenticate", "authentication-info", "path",
	"service-route", "p-asserted-identity", "p-preferred-identity", "remote-party-id",
	"rseq", "rack", "refer-to", "referred-by", "replaces", "diversion", "history-info",
	"warning", "server", "user-agent", "organization", "call-info", "alert-info",
	"error-info", "reply-to", "in-reply-to", "p-charging-vector", "p-visited-network-id",
}

// compact maps the compact forms of header names (RFC 3261 §7.3.3 and
// extensions) to their long names.
var compact = map[string]string{
	"i": "call-id", "m": "contact", "e": "content-encoding", "l": "content-length",
	"c": "content-type", "f": "from", "s": "subject", "k": "supported", "t": "to",
	"v": "via", "o": "event", "r": "refer-to", "b": "referred-by", "x": "session-expires",
	"u": "allow-events", "a": "accept-contact", "j": "reject-contact", "d": "request-disposition",
	"y": "identity", "n": "identity-info",
}

// known maps the lower-case names the package knows (and the compact
// forms) to their canonical names, so that Name needs no allocation for
// them.
var known = func() map[string]string {
	m := map[string]string{}
	for _, list := range [][]string{defaultToCarrier, defaultToCustomer, never} {
		for _, n := range list {
			m[n] = n
		}
	}
	for short, long := range compact {
		m[short] = long
		m[long] = long
	}
	return m
}()

// Name returns the canonical form of a header name: lower case, long form.
func Name(name string) string {
	n := strings.Trim(name, " \t")
	if len(n) <= 64 {
		var b [64]byte
		for i := 0; i < len(n); i++ {
			c := n[i]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		if c, ok := known[string(b[:len(n)])]; ok {
			return c
		}
	}
	n = strings.ToLower(n)
	if long, ok := compact[n]; ok {
		return long
	}
	return n
}

// NameBytes is Name for a name in a byte slice.
func NameBytes(name []byte) string {
	if len(name) <= 64 {
		var b [64]byte
		for i, c := range name {
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			b[i] = c
		}
		if c, ok := known[string(b[:len(name)])]; ok {
			return c
		}
	}
	return Name(string(name))
}

// Never reports whether the header never crosses.
func Never(name string) bool { return slices.Contains(never, Name(name)) }

// Policy says which headers cross in each direction. The zero value lets
// nothing through; Default is the switch's policy.
type Policy struct {
	toCarrier, toCustomer []string
}

// Default returns the default policy.
func Default() *Policy {
	return &Policy{toCarrier: slices.Clone(defaultToCarrier), toCustomer: slices.Clone(defaultToCustomer)}
}

// With returns p with more headers allowed in direction d: the operator's
// additions for one customer or carrier, or for the whole switch. Names
// that never cross are an error, as are names that are not header tokens.
func (p *Policy) With(d Direction, names []string) (*Policy, error) {
	if len(names) == 0 {
		return p, nil
	}
	q := &Policy{toCarrier: slices.Clone(p.toCarrier), toCustomer: slices.Clone(p.toCustomer)}
	list := &q.toCarrier
	if d == ToCustomer {
		list = &q.toCustomer
	}
	for _, raw := range names {
		if err := CheckHeaderName(raw); err != nil {
			return nil, err
		}
		n := Name(raw)
		if Never(n) {
			return nil, fmt.Errorf("header %q never crosses the switch", raw)
		}
		if !slices.Contains(*list, n) {
			*list = append(*list, n)
		}
	}
	return q, nil
}

// Crosses reports whether a header named name crosses in direction d.
func (p *Policy) Crosses(d Direction, name string) bool { return p.crosses(d, Name(name)) }

// CrossesCanonical is Crosses for a name already in canonical form (see
// Name).
func (p *Policy) CrossesCanonical(d Direction, canon string) bool { return p.crosses(d, canon) }

func (p *Policy) crosses(d Direction, n string) bool {
	if d == ToCustomer {
		return slices.Contains(p.toCustomer, n)
	}
	return slices.Contains(p.toCarrier, n)
}

// CheckHeaderName reports whether name is a header name (an RFC 3261 token).
func CheckHeaderName(name string) error {
	if name == "" || len(name) > 64 || !isToken(name) {
		return fmt.Errorf("%q is not a header name", name)
	}
	return nil
}
