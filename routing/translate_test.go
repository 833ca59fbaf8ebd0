package routing

import (
	"errors"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/store"
)

func TestApply(t *testing.T) {
	t.Parallel()
	called := func(r store.Translation) store.Translation { r.Field = FieldCalled; return r }
	tests := []struct {
		name   string
		rules  []store.Translation
		in     string
		want   string
		steps  int
		errIs  error
		errHas string
	}{
		{name: "no rules", in: "442071234567", want: "442071234567"},
		{name: "strip", rules: []store.Translation{called(store.Translation{Strip: 2})}, in: "00442071234567", want: "442071234567", steps: 1},
		{name: "tech prefix", rules: []store.Translation{called(store.Translation{Prefix: "1234#"})}, in: "442071234567", want: "1234#442071234567", steps: 1},
		{name: "regex", rules: []store.Translation{called(store.Translation{Match: `^0(\d+)$`, Replace: "44${1}"})}, in: "02071234567", want: "442071234567", steps: 1},
		{name: "regex no match", rules: []store.Translation{called(store.Translation{Match: `^9`, Replace: ""})}, in: "442071234567", want: "442071234567", steps: 1},
		{name: "to_e164 national", rules: []store.Translation{called(store.Translation{ToE164: "44"})}, in: "02071234567", want: "442071234567", steps: 1},
		{name: "to_e164 plus", rules: []store.Translation{called(store.Translation{ToE164: "44"})}, in: "+33123456789", want: "33123456789", steps: 1},
		{name: "to_e164 international untouched", rules: []store.Translation{called(store.Translation{ToE164: "44"})}, in: "0033123456789", want: "0033123456789", steps: 1},
		{name: "to_national", rules: []store.Translation{called(store.Translation{ToNational: "44"})}, in: "442071234567", want: "02071234567", steps: 1},
		{name: "to_national plus", rules: []store.Translation{called(store.Translation{ToNational: "44"})}, in: "+442071234567", want: "02071234567", steps: 1},
		{name: "to_national other country", rules: []store.Translation{called(store.Translation{ToNational: "44"})}, in: "33123456789", want: "33123456789", steps: 1},
		{name: "chain", rules: []store.Translation{
			called(store.Translation{ToNational: "44"}),
			called(store.Translation{Strip: 1}),
			called(store.Translation{Prefix: "9"}),
			called(store.Translation{Prefix: "*77#"}),
		}, in: "442071234567", want: "*77#92071234567", steps: 4},
		{name: "strip all is an error", rules: []store.Translation{called(store.Translation{Strip: 20})}, in: "4420", errIs: ErrTranslation, errHas: "rule 0", steps: 1},
		{name: "regex to letters is an error", rules: []store.Translation{called(store.Translation{Prefix: "1"}), called(store.Translation{Match: "1", Replace: "x"})}, in: "44", errIs: ErrTranslation, errHas: "rule 1", steps: 2},
		{name: "too long is an error", rules: []store.Translation{called(store.Translation{Match: "x?", Replace: "1234567890"})}, in: "44207", errIs: ErrTranslation, steps: 1},
		{name: "input not a number", rules: []store.Translation{called(store.Translation{Strip: 1})}, in: "alice", errIs: ErrTranslation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tr, err := CompileTranslations(tt.rules)
			if err != nil {
				t.Fatal(err)
			}
			got, steps, err := Apply(tr.Called, tt.in)
			if tt.errIs != nil {
				if !errors.Is(err, tt.errIs) || !strings.Contains(err.Error(), tt.errHas) {
					t.Fatalf("error %v, want %v with %q", err, tt.errIs, tt.errHas)
				}
			} else if err != nil || got != tt.want {
				t.Fatalf("Apply(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
			}
			if len(steps) != tt.steps {
				t.Fatalf("%d steps, want %d: %+v", len(steps), tt.steps, steps)
			}
			if tt.errIs == nil && len(steps) > 0 {
				if steps[0].Before != tt.in || steps[len(steps)-1].After != tt.want || steps[0].Field != FieldCalled {
					t.Errorf("steps %+v", steps)
				}
			}
		})
	}
}

func TestCompileTranslationsFields(t *testing.T) {
	t.Parallel()
	tr, err := CompileTranslations([]store.Translation{
		{Field: FieldCalling, Prefix: "1"}, {Field: FieldCalled, Strip: 1}, {Field: FieldCalling, Strip: 2},
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Called) != 1 || len(tr.Calling) != 2 || tr.Calling[1].index != 2 {
		t.Fatalf("rules split wrong: %+v", tr)
	}
	_, steps, _ := Apply(tr.Calling, "2071234567")
	if len(steps) != 2 || steps[1].Rule != 2 || steps[1].Op != "strip 2" || steps[1].After != "071234567" {
		t.Errorf("steps %+v", steps)
	}
}

func TestCompileTranslationsBad(t *testing.T) {
	t.Parallel()
	many := make([]store.Translation, MaxRules+1)
	for i := range many {
		many[i] = store.Translation{Field: FieldCalled, Strip: 1}
	}
	tests := []struct {
		name  string
		rules []store.Translation
		want  string
	}{
		{"no field", []store.Translation{{Strip: 1}}, `rule 0: field must be`},
		{"bad field", []store.Translation{{Field: "to", Strip: 1}}, `field must be`},
		{"no operation", []store.Translation{{Field: FieldCalled}}, "exactly one of"},
		{"two operations", []store.Translation{{Field: FieldCalled, Strip: 1, Prefix: "9"}}, "has 2"},
		{"negative strip", []store.Translation{{Field: FieldCalled, Strip: -1}}, "strip must be"},
		{"huge strip", []store.Translation{{Field: FieldCalled, Strip: 65}}, "strip must be"},
		{"prefix letters", []store.Translation{{Field: FieldCalled, Prefix: "abc"}}, "prefix"},
		{"prefix too long", []store.Translation{{Field: FieldCalled, Prefix: strings.Repeat("1", 65)}}, "prefix"},
		{"bad regex", []store.Translation{{Field: FieldCalled, Match: "(", Replace: "1"}}, "match: error parsing regexp"},
		{"backreference", []store.Translation{{Field: FieldCalled, Match: `(\d)\1`}}, "match: error parsing regexp"},
		{"regex too long", []store.Translation{{Field: FieldCalled, Match: strings.Repeat("1", 257)}}, "at most 256"},
		{"replace too long", []store.Translation{{Field: FieldCalled, Match: "1", Replace: strings.Repeat("1", 257)}}, "at most 256"},
		{"replace without match", []store.Translation{{Field: FieldCalled, Replace: "1"}}, "replace needs match"},
		{"country code letters", []store.Translation{{Field: FieldCalled, ToE164: "4a"}}, "to_e164"},
		{"country code zero", []store.Translation{{Field: FieldCalled, ToNational: "04"}}, "to_national"},
		{"country code long", []store.Translation{{Field: FieldCalled, ToE164: "4444"}}, "to_e164"},
		{"too many", many, "at most 16 rules"},
		{"second rule", []store.Translation{{Field: FieldCalled, Strip: 1}, {Field: FieldCalled}}, "rule 1:"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := CompileTranslations(tt.rules)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

// FuzzApply checks that any rule set that compiles, applied to any input,
// never panics and gives either an error or a number: 1 to MaxNumberLen
// digits, "#", "*" and "+".
func FuzzApply(f *testing.F) {
	f.Add(uint8(1), "1234#", `^0(\d+)$`, "44$1", "44", "02071234567")
	f.Add(uint8(0), "", "", "", "1", "+15551234567")
	f.Add(uint8(64), "*", "(?i)x*", "99", "999", "")
	f.Add(uint8(3), "+", ".", "$0$0", "33", "442071234567")
	f.Fuzz(func(t *testing.T, strip uint8, prefix, match, replace, cc, in string) {
		candidates := []store.Translation{
			{Field: FieldCalled, Strip: int(strip)},
			{Field: FieldCalled, Prefix: prefix},
			{Field: FieldCalled, Match: match, Replace: replace},
			{Field: FieldCalled, ToE164: cc},
			{Field: FieldCalled, ToNational: cc},
		}
		var rules []store.Translation
		for _, r := range candidates {
			if _, err := CompileTranslations([]store.Translation{r}); err == nil {
				rules = append(rules, r, r) // each kind twice: chains
			}
		}
		tr, err := CompileTranslations(rules)
		if err != nil {
			t.Fatalf("rules that compile alone do not compile together: %v", err)
		}
		out, steps, err := Apply(tr.Called, in)
		if err != nil {
			if !errors.Is(err, ErrTranslation) {
				t.Fatalf("error %v does not wrap ErrTranslation", err)
			}
			return
		}
		if len(rules) > 0 && !IsNumber(out) {
			t.Fatalf("Apply(%q) = %q: not a number", in, out)
		}
		if len(steps) != len(rules) {
			t.Fatalf("%d steps for %d rules", len(steps), len(rules))
		}
	})
}

func BenchmarkApplyTechPrefix(b *testing.B) {
	tr, err := CompileTranslations([]store.Translation{{Field: FieldCalled, Match: `^44(\d+)$`, Replace: "0$1"}, {Field: FieldCalled, Prefix: "1234#"}})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tr.Called.apply("442071234567", nil); err != nil {
			b.Fatal(err)
		}
	}
}
