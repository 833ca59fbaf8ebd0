package border

import (
	"fmt"
	"strings"

	gosip "github.com/emiago/sipgo/sip"
)

// maxUser bounds the user part and the display name that cross.
const maxUser = 64

// CheckUser reports whether u is a SIP URI user part (RFC 3261 §25.1:
// unreserved, escaped and user-unreserved characters) that may cross.
func CheckUser(u string) error {
	if len(u) > maxUser {
		return fmt.Errorf("user part: %w", ErrTooLong)
	}
	if strings.HasPrefix(u, "/") {
		return fmt.Errorf("user part: %w", ErrSyntax) // sip:// reads as a path
	}
	for i := 0; i < len(u); i++ {
		c := u[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("-_.!~*'()&=+$,;?/", c) >= 0:
		case c == '%' && i+2 < len(u) && isHex(u[i+1]) && isHex(u[i+2]):
			i += 2
		default:
			return fmt.Errorf("user part: %w", ErrSyntax)
		}
	}
	return nil
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// CheckDisplayName reports whether a display name (as sipgo reads it, quotes
// removed) may cross.
func CheckDisplayName(n string) error {
	if len(n) > maxUser {
		return fmt.Errorf("display name: %w", ErrTooLong)
	}
	if err := printable(n); err != nil {
		return fmt.Errorf("display name: %w", err)
	}
	return nil
}

// Address renders a name-addr for user at host ("" user: none) with the
// display name quoted and escaped: `"name" <sip:user@host>`. name is plain
// text (see Unescape for what sipgo reads). The caller has checked user and
// name.
func Address(name, scheme, user, host string) string {
	var b strings.Builder
	if name != "" {
		b.WriteByte('"')
		for i := 0; i < len(name); i++ {
			if name[i] == '"' || name[i] == '\\' {
				b.WriteByte('\\')
			}
			b.WriteByte(name[i])
		}
		b.WriteString(`" `)
	}
	b.WriteString("<" + scheme + ":")
	if scheme == "tel" {
		b.WriteString(user + ">")
		return b.String()
	}
	if user != "" {
		b.WriteString(user + "@")
	}
	b.WriteString(host + ">")
	return b.String()
}

// Identity rewrites a caller identity header value (P-Asserted-Identity,
// Remote-Party-ID): its display name and user cross, its host becomes host
// (the switch's own); tel URIs keep their number. Parameters are dropped.
func Identity(value, host string) (string, error) {
	if err := printable(value); err != nil || len(value) > MaxValue {
		return "", fmt.Errorf("identity: %w", ErrSyntax)
	}
	var u gosip.Uri
	params := gosip.HeaderParams{}
	name, err := gosip.ParseAddressValue(value, &u, &params)
	if err != nil {
		return "", fmt.Errorf("identity: %w", ErrSyntax)
	}
	scheme := strings.ToLower(u.Scheme)
	if scheme != "sip" && scheme != "sips" && scheme != "tel" {
		return "", fmt.Errorf("identity scheme: %w", ErrSyntax)
	}
	user := u.User
	if scheme == "tel" {
		user, _, _ = strings.Cut(u.Raw(), ";")
	}
	if err := CheckUser(user); err != nil || user == "" {
		return "", fmt.Errorf("identity user: %w", ErrSyntax)
	}
	if err := CheckDisplayName(name); err != nil {
		return "", err
	}
	if scheme == "sips" {
		scheme = "sip"
	}
	return Address(Unescape(name), scheme, user, host), nil
}

// Unescape removes the quoted-pair escapes of a display name as sipgo reads
// it (the text between the quotes, escapes kept).
func Unescape(n string) string {
	if !strings.Contains(n, "\\") {
		return n
	}
	var b strings.Builder
	for i := 0; i < len(n); i++ {
		if n[i] == '\\' && i+1 < len(n) {
			i++
		}
		b.WriteByte(n[i])
	}
	return b.String()
}
