package load

import (
	"strings"
	"testing"
)

func TestReadNumbers(t *testing.T) {
	tests := []struct {
		name, in string
		want     []string
		err      bool
	}{
		{"sipbench's injection file", "SEQUENTIAL\n4420712345678;\n12125550100;\n", []string{"4420712345678", "12125550100"}, false},
		{"more fields, CRLF, blank lines", "RANDOM\r\n441;x;y\r\n\r\n+442;\r\n", []string{"441", "+442"}, false},
		{"plain list", "100\n200\n", []string{"100", "200"}, false},
		{"empty", "SEQUENTIAL\n", nil, true},
		{"not a user part", "SEQUENTIAL\n44 1;\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadNumbers(strings.NewReader(tt.in))
			if (err != nil) != tt.err || strings.Join(got, ",") != strings.Join(tt.want, ",") {
				t.Fatalf("got %q, %v; want %q (error %v)", got, err, tt.want, tt.err)
			}
		})
	}
}
