package load

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strings"
)

// ReadNumbers reads dialled numbers from a sipp injection file, as
// bench/cmd/sipbench writes it: an optional first line SEQUENTIAL, RANDOM
// or USER, then one line per call whose first ';'-separated field is the
// number ("4420712345678;"). Blank lines are skipped. A plain list, one
// number per line, reads the same. The UAC dials them in file order
// whatever the first line says.
func ReadNumbers(r io.Reader) ([]string, error) {
	var out []string
	sc := bufio.NewScanner(r)
	for line := 1; sc.Scan(); line++ {
		s := strings.TrimSpace(sc.Text())
		if line == 1 {
			switch s {
			case "SEQUENTIAL", "RANDOM", "USER":
				continue
			}
		}
		s, _, _ = strings.Cut(s, ";")
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		if !validNumber(s) {
			return nil, fmt.Errorf("line %d: %q is not a SIP user part", line, s)
		}
		out = append(out, s)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no numbers")
	}
	return out, nil
}

// ReadNumbersFile reads the numbers of the injection file at path.
func ReadNumbersFile(path string) ([]string, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	numbers, err := ReadNumbers(f)
	if err != nil {
		return nil, fmt.Errorf("reading numbers from %s: %w", path, err)
	}
	return numbers, nil
}

// validNumber reports whether s can stand as the user part of a SIP URI
// without escaping (RFC 3261 unreserved and user-unreserved characters, no
// ';').
func validNumber(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range []byte(s) {
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case strings.IndexByte("-_.!~*'()&=+$,?/", c) >= 0:
		default:
			return false
		}
	}
	return true
}
