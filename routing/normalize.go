package routing

import (
	"errors"
	"strings"
)

// ErrBadNumber reports a dialled number that is not a usable E.164 number.
var ErrBadNumber = errors.New("dialled number is not a valid E.164 number")

// MaxDigits is the longest number accepted (E.164 allows 15; tech prefixes
// and national oddities get some room).
const MaxDigits = 20

// Normalize turns the user part of a Request-URI into E.164 digits: it
// strips the customer's tech prefix, visual separators ("-", ".", "(", ")",
// " "), a leading "+", and the international access codes "00" and "011".
func Normalize(user, techPrefix string) (string, error) {
	return toE164(cleanDialled(user, techPrefix))
}

// cleanDialled is the dialled number as inbound translation rules see it:
// without the customer's tech prefix, user parameters and visual
// separators.
func cleanDialled(user, techPrefix string) string {
	n := strings.TrimPrefix(user, techPrefix)
	if i := strings.IndexByte(n, ';'); i >= 0 { // user parameters (";npdi", ";rn=")
		n = n[:i]
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case '-', '.', '(', ')', ' ':
			return -1
		}
		return r
	}, n)
}

// toE164 turns a cleaned number into E.164 digits: without a leading "+"
// or international access code ("00", "011").
func toE164(n string) (string, error) {
	switch {
	case strings.HasPrefix(n, "+"):
		n = n[1:]
	case strings.HasPrefix(n, "00"):
		n = n[2:]
	case strings.HasPrefix(n, "011"):
		n = n[3:]
	}
	if n == "" || len(n) > MaxDigits || n[0] == '0' {
		return "", ErrBadNumber
	}
	for i := 0; i < len(n); i++ {
		if n[i] < '0' || n[i] > '9' {
			return "", ErrBadNumber
		}
	}
	return n, nil
}
