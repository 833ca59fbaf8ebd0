package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// configProblems returns every problem of the config in b, each as
// "LINE: message" (line 0 for a problem of no one line), in the words of
// the config file: YAML keys, not Go types. Empty means the config is
// good.
func configProblems(b []byte) []string {
	var root yaml.Node
	if err := yaml.Unmarshal(b, &root); err != nil {
		return []string{yamlSyntax(err)}
	}
	// One document: a second one would be ignored, its settings unseen.
	docs := yaml.NewDecoder(bytes.NewReader(b))
	for n := 0; ; n++ {
		var d yaml.Node
		err := docs.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return []string{yamlSyntax(err)}
		}
		if n == 1 {
			return []string{fmt.Sprintf("%d: a second YAML document (---): the config is one", d.Line)}
		}
	}
	var problems []string
	var c Config
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil && !errors.Is(err, io.EOF) {
		var te *yaml.TypeError
		if !errors.As(err, &te) {
			return []string{yamlSyntax(err)}
		}
		for _, e := range te.Errors {
			problems = append(problems, plainTypeError(e))
		}
	}
	c.Defaults()
	if err := c.Validate(); err != nil {
		for _, e := range unjoin(err) {
			field, _, _ := strings.Cut(e.Error(), ": ")
			problems = append(problems, fmt.Sprintf("%d: %s", lineOf(&root, field), e))
		}
	}
	return problems
}

// unjoin returns the errors errors.Join joined, or err alone.
func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

var yamlLine = regexp.MustCompile(`^(?:yaml: )?line (\d+): (.*)$`)

// yamlSyntax words a YAML syntax error as "LINE: message".
func yamlSyntax(err error) string {
	msg := err.Error()
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		return m[1] + ": not YAML: " + m[2]
	}
	return "0: not YAML: " + strings.TrimPrefix(msg, "yaml: ")
}

var (
	unknownField = regexp.MustCompile(`^line (\d+): field (\S+) not found in type \S+$`)
	wrongType    = regexp.MustCompile("^line (\\d+): cannot unmarshal !!(\\w+) `(.*)` into (\\S+)$")
	wrongKind    = regexp.MustCompile(`^line (\d+): cannot unmarshal !!(\w+) into (\S+)$`)
)

// plainTypeError rewords a yaml.v3 decoding error without Go type names.
func plainTypeError(e string) string {
	if m := unknownField.FindStringSubmatch(e); m != nil {
		return m[1] + ": unknown setting " + strconv.Quote(m[2])
	}
	if m := wrongType.FindStringSubmatch(e); m != nil {
		return fmt.Sprintf("%s: %q is not %s", m[1], m[3], kindOf(m[4]))
	}
	if m := wrongKind.FindStringSubmatch(e); m != nil {
		what := map[string]string{"seq": "a list", "map": "a mapping", "str": "a text", "int": "a number", "bool": "true or false"}[m[2]]
		if what == "" {
			what = "a value"
		}
		return fmt.Sprintf("%s: %s where %s belongs", m[1], what, kindOf(m[3]))
	}
	if m := yamlLine.FindStringSubmatch(e); m != nil {
		return m[1] + ": " + m[2]
	}
	return "0: " + e
}

// kindOf names the kind of value a Go type holds, for a person.
func kindOf(goType string) string {
	switch {
	case goType == "time.Duration":
		return "a duration (such as 500ms, 30s or 2m)"
	case goType == "bool":
		return "true or false"
	case strings.HasPrefix(goType, "int") || strings.HasPrefix(goType, "uint"):
		return "a whole number"
	case strings.HasPrefix(goType, "float"):
		return "a number"
	case goType == "string":
		return "a text"
	case strings.HasPrefix(goType, "[]"):
		return "a list"
	case strings.HasPrefix(goType, "map["):
		return "a mapping (key: value lines)"
	case strings.HasPrefix(goType, "*"):
		return kindOf(goType[1:])
	}
	return "a mapping of settings"
}

// lineOf returns the line of the setting at a dotted path (sip.listen) in
// the document, or of its nearest parent that is there; 0 when none is
// (a setting left to its default).
func lineOf(root *yaml.Node, path string) int {
	n := root
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := 0
	for _, key := range strings.Split(path, ".") {
		key, _, _ = strings.Cut(key, "[") // a list item: its list's line
		if n.Kind != yaml.MappingNode {
			break
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == key {
				line, next = n.Content[i].Line, n.Content[i+1]
				break
			}
		}
		if next == nil {
			break
		}
		n = next
	}
	return line
}
