package sip

import (
	"os"
	"path/filepath"
	"testing"

	gosip "github.com/emiago/sipgo/sip"
)

func newTestServer(t testing.TB) *Server {
	t.Helper()
	s, err := New(nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReadFilter(t *testing.T) {
	s := newTestServer(t)
	keyed := "OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060;branch=z9hG4bKabc\r\nFrom: <sip:x@y>;tag=1\r\nTo: <sip:a@b>\r\nCall-ID: c1\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
	rfc2543 := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCall-ID: c2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	noCallID := "INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h:5060\r\nFrom: <sip:x@y>\r\nTo: <sip:a@b>\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
	tests := []struct {
		name, in string
		want     string // "same", "keyed" (rewritten, now keyable) or "dropped"
	}{
		{"RFC 3261 request passes untouched", keyed, "same"},
		{"RFC 2543 request gets a derived branch", rfc2543, "keyed"},
		{"request without identity is dropped", noCallID, "dropped"},
		{"garbage passes to sipgo, which drops it", "\x00\x01 not SIP", "same"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := s.readFilter(gosip.TransportReadProps{}, []byte(tt.in))
			if err != nil {
				t.Fatal(err) // an error would stop sipgo's read loop
			}
			switch tt.want {
			case "same":
				if string(out) != tt.in {
					t.Fatalf("changed: %q", out)
				}
			case "dropped":
				if len(out) != 0 {
					t.Fatalf("not dropped: %q", out)
				}
			case "keyed":
				m, err := gosip.NewParser().ParseSIP(out)
				if err != nil {
					t.Fatalf("rewritten request does not parse: %v", err)
				}
				if _, err := gosip.ServerTxKeyMake(m); err != nil {
					t.Fatalf("rewritten request has no key: %v", err)
				}
				again, _ := s.readFilter(gosip.TransportReadProps{}, []byte(tt.in))
				if string(again) != string(out) {
					t.Fatal("a retransmission got another branch")
				}
			}
		})
	}
}

// FuzzReadFilter checks that the filter never fails (which would stop the
// transport's read loop), and that what it lets through is either the input
// or a request sipgo can parse and key a transaction for.
func FuzzReadFilter(f *testing.F) {
	files, _ := filepath.Glob("../../shared/testdata/rfc4475/*.dat")
	for _, name := range files {
		if b, err := os.ReadFile(name); err == nil {
			f.Add(b)
		}
	}
	f.Add([]byte("INVITE sip:1@h SIP/2.0\r\nVia: SIP/2.0/UDP h\r\nFrom: <sip:x@y>\r\nTo: <sip:1@h>\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\r\n"))
	s := newTestServer(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		out, err := s.readFilter(gosip.TransportReadProps{}, in)
		if err != nil {
			t.Fatalf("filter error: %v", err)
		}
		if len(out) == 0 || string(out) == string(in) {
			return
		}
		m, err := gosip.NewParser().ParseSIP(out)
		if err != nil {
			t.Fatalf("rewritten message does not parse: %v\n%q", err, out)
		}
		if _, err := gosip.ServerTxKeyMake(m); err != nil {
			t.Fatalf("rewritten message has no transaction key: %v", err)
		}
	})
}

func TestHasBranchAndCSeq(t *testing.T) {
	tests := []struct {
		in   string
		want bool
	}{
		{"Via: x;branch=z9hG4bKabc\r\nCSeq: 1 INVITE\r\n", true},
		{"Via: x;branch=z9hG4bKabc\r\ncseq: 1 INVITE\r\n", true},
		{"Via: x;branch=z9hG4bK\r\nCSeq: 1 INVITE\r\n", false},
		{"Via: x;branch=z9hG4bK;rport\r\nCSeq: 1 INVITE\r\n", false},
		{"Via: x;branch=abc\r\nCSeq: 1 INVITE\r\n", false},
		{"Via: x;branch=z9hG4bKabc\r\n", false},
		{"", false},
	}
	for _, tt := range tests {
		if got := hasBranchAndCSeq([]byte(tt.in)); got != tt.want {
			t.Errorf("hasBranchAndCSeq(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
