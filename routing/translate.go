package routing

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/trunkline/trunkline/store"
)

// Limits of number translation rules.
const (
	// MaxRules is the most translation rules a customer or carrier has.
	MaxRules = 16
	// MaxRuleText is the longest regular expression, replacement or
	// prefix of a rule.
	MaxRuleText = 256
	// MaxNumberLen is the longest number a rule may take or produce.
	MaxNumberLen = 64
)

// Fields a translation rule applies to.
const (
	FieldCalled  = "called"
	FieldCalling = "calling"
)

// ErrTranslation reports a translation rule whose result is not a usable
// number: empty, longer than MaxNumberLen, or with characters other than
// digits, "#", "*" and "+"; or an input number that is none.
var ErrTranslation = errors.New("number translation: not a number")

// Step is one translation rule applied to a number: the rule's index in
// its list, the number's field, what the rule does, and the number before
// and after.
type Step struct {
	Rule   int    `json:"rule"`
	Field  string `json:"field"`
	Op     string `json:"op"`
	Before string `json:"before"`
	After  string `json:"after"`
}

// Rules are compiled translation rules of one field, in order; the zero
// value translates nothing. Rules are immutable and safe for concurrent
// use.
type Rules []rule

type rule struct {
	index      int // in the list as configured
	field      string
	strip      int
	prefix     string
	re         *regexp.Regexp
	replace    string
	toE164     string
	toNational string
}

// Translator is a customer's or carrier's compiled rules, by field.
type Translator struct {
	Called, Calling Rules
}

// CompileTranslations checks and compiles rules (the order of each field
// is kept). Its errors name the rule and are meant for the operator.
func CompileTranslations(ts []store.Translation) (Translator, error) {
	var tr Translator
	if len(ts) > MaxRules {
		return tr, fmt.Errorf("at most %d rules, got %d", MaxRules, len(ts))
	}
	for i, t := range ts {
		r, err := compileRule(t)
		if err != nil {
			return Translator{}, fmt.Errorf("rule %d: %w", i, err)
		}
		r.index, r.field = i, t.Field
		switch t.Field {
		case FieldCalled:
			tr.Called = append(tr.Called, r)
		case FieldCalling:
			tr.Calling = append(tr.Calling, r)
		default:
			return Translator{}, fmt.Errorf("rule %d: field must be %q or %q, got %q", i, FieldCalled, FieldCalling, t.Field)
		}
	}
	return tr, nil
}

func compileRule(t store.Translation) (rule, error) {
	var r rule
	ops := 0
	if t.Strip != 0 {
		ops++
		if t.Strip < 0 || t.Strip > MaxNumberLen {
			return r, fmt.Errorf("strip must be between 1 and %d, got %d", MaxNumberLen, t.Strip)
		}
		r.strip = t.Strip
	}
	if t.Prefix != "" {
		ops++
		if len(t.Prefix) > MaxNumberLen || !isNumber(t.Prefix) {
			return r, fmt.Errorf("prefix %q: must be at most %d digits, #, * or +", t.Prefix, MaxNumberLen)
		}
		r.prefix = t.Prefix
	}
	if t.Match != "" {
		ops++
		if len(t.Match) > MaxRuleText || len(t.Replace) > MaxRuleText {
			return r, fmt.Errorf("match and replace must be at most %d bytes", MaxRuleText)
		}
		re, err := regexp.Compile(t.Match) // RE2: linear time in the input
		if err != nil {
			return r, fmt.Errorf("match: %w", err)
		}
		r.re, r.replace = re, t.Replace
	} else if t.Replace != "" {
		return r, errors.New("replace needs match")
	}
	if t.ToE164 != "" {
		ops++
		if !countryCode(t.ToE164) {
			return r, fmt.Errorf("to_e164: country code must be 1 to 3 digits not starting with 0, got %q", t.ToE164)
		}
		r.toE164 = t.ToE164
	}
	if t.ToNational != "" {
		ops++
		if !countryCode(t.ToNational) {
			return r, fmt.Errorf("to_national: country code must be 1 to 3 digits not starting with 0, got %q", t.ToNational)
		}
		r.toNational = t.ToNational
	}
	if ops != 1 {
		return r, fmt.Errorf("must have exactly one of strip, prefix, match, to_e164, to_national; has %d", ops)
	}
	return r, nil
}

func countryCode(s string) bool {
	return len(s) >= 1 && len(s) <= 3 && s[0] != '0' && isDigits(s)
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// isNumber reports whether s is made only of digits, "#", "*" and "+".
func isNumber(s string) bool {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case '0' <= c && c <= '9', c == '#', c == '*', c == '+':
		default:
			return false
		}
	}
	return true
}

// IsNumber reports whether s is a number translation rules take: 1 to
// MaxNumberLen digits, "#", "*" and "+".
func IsNumber(s string) bool { return s != "" && len(s) <= MaxNumberLen && isNumber(s) }

// Apply translates number by rules in order and returns the result with
// each step. number must be a number (IsNumber), and so must the result of
// every rule, else the error wraps ErrTranslation and names the rule.
func Apply(rules Rules, number string) (string, []Step, error) {
	steps := make([]Step, 0, len(rules))
	n, err := rules.apply(number, &steps)
	return n, steps, err
}

// apply is Apply recording steps only when steps is not nil (the call path
// does not).
func (rs Rules) apply(number string, steps *[]Step) (string, error) {
	if len(rs) == 0 {
		return number, nil
	}
	if !IsNumber(number) {
		return "", fmt.Errorf("%w: %q", ErrTranslation, number)
	}
	for _, r := range rs {
		out := r.do(number)
		if steps != nil {
			*steps = append(*steps, Step{Rule: r.index, Field: r.field, Op: r.String(), Before: number, After: out})
		}
		if !IsNumber(out) {
			if len(out) > MaxNumberLen {
				out = out[:MaxNumberLen] + "…"
			}
			return "", fmt.Errorf("%w: rule %d (%s) made %q of %q", ErrTranslation, r.index, r, out, number)
		}
		number = out
	}
	return number, nil
}

func (r rule) do(n string) string {
	switch {
	case r.strip > 0:
		if r.strip >= len(n) {
			return ""
		}
		return n[r.strip:]
	case r.prefix != "":
		return r.prefix + n
	case r.re != nil:
		return r.re.ReplaceAllString(n, r.replace)
	case r.toE164 != "":
		switch {
		case strings.HasPrefix(n, "+"):
			return n[1:]
		case len(n) > 1 && n[0] == '0' && n[1] != '0':
			return r.toE164 + n[1:]
		}
		return n
	case r.toNational != "":
		e := n
		switch {
		case strings.HasPrefix(e, "+"):
			e = e[1:]
		case strings.HasPrefix(e, "00"):
			e = e[2:]
		}
		if rest, ok := strings.CutPrefix(e, r.toNational); ok && rest != "" {
			return "0" + rest
		}
		return n
	}
	return n
}

// String says what the rule does, e.g. `prefix "1234#"`.
func (r rule) String() string {
	switch {
	case r.strip > 0:
		return "strip " + strconv.Itoa(r.strip)
	case r.prefix != "":
		return "prefix " + strconv.Quote(r.prefix)
	case r.re != nil:
		return "match " + strconv.Quote(r.re.String()) + " replace " + strconv.Quote(r.replace)
	case r.toE164 != "":
		return "to_e164 " + r.toE164
	case r.toNational != "":
		return "to_national " + r.toNational
	}
	return "none"
}
