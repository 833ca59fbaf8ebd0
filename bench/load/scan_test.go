package load

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// crlf turns a readable message (lines ending in \n) into its wire form.
func crlf(s string) []byte { return []byte(strings.ReplaceAll(s, "\n", "\r\n")) }

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestScan(t *testing.T) {
	kamailio200 := crlf(`SIP/2.0 200 OK
Via: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK-1-1-0;rport=5080
Record-Route: <sip:127.0.0.1:5060;lr=on;ftag=abc>
Record-Route: <sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>
From: sipp <sip:sipp@127.0.0.2:5080>;tag=1SIPpTag001
To: <sip:441@127.0.0.1:5060>;tag=xyz
Call-ID: 1-1@127.0.0.2
CSeq: 1 INVITE
Contact: <sip:127.0.0.1:5070;transport=UDP>
Content-Length: 4

v=0
`)
	compact := []byte("SIP/2.0 180 Ringing\nv: SIP/2.0/UDP a;branch=z9hG4bKx, SIP/2.0/UDP b;branch=z9hG4bKy\nv:SIP/2.0/UDP c\n" +
		"f: <sip:a@b>;tag=1\nt: \"Bob\" <sip:b@c;user=phone> ; tag = 2 \ni: abc\nCSEQ:  7   INVITE\nm: sip:c@d;expires=60\nl: 0\n\n")
	tests := []struct {
		name string
		data []byte
		want func(t *testing.T, m *Msg)
	}{
		{"sipp INVITE", readTestdata(t, "sipp/uac_invite.sip"), func(t *testing.T, m *Msg) {
			check(t, "method", m.Method, "INVITE")
			check(t, "ruri", m.RURI, "sip:4420712345678@127.0.0.1:15070")
			check(t, "branch", m.Branch, "z9hG4bK-10532-1-0")
			check(t, "call-id", m.CallID, "1-10532@127.0.0.2")
			check(t, "cseq method", m.CSeqMethod, "INVITE")
			check(t, "cseq", m.CSeqValue, "1 INVITE")
			check(t, "contact", m.Contact, "sip:sipp@127.0.0.2:15080")
			if m.ToTag != nil || m.CSeq != 1 || len(m.Body) != 129 || m.Code != 0 || !m.IsRequest() {
				t.Errorf("to tag %q, cseq %d, body %d bytes, code %d", m.ToTag, m.CSeq, len(m.Body), m.Code)
			}
		}},
		{"sipp 200", readTestdata(t, "sipp/uas_200.sip"), func(t *testing.T, m *Msg) {
			check(t, "to tag", m.ToTag, "10530SIPpTag011")
			check(t, "contact", m.Contact, "<sip:127.0.0.1:15070;transport=UDP>")
			if m.Code != 200 || m.IsRequest() || len(m.Body) != 129 {
				t.Errorf("code %d, body %d bytes", m.Code, len(m.Body))
			}
		}},
		{"record-routed 200", kamailio200, func(t *testing.T, m *Msg) {
			if got := m.RecordRoutes(); len(got) != 2 || string(got[1]) != "<sip:10.0.0.1;lr>, <sip:10.0.0.2;lr>" {
				t.Errorf("record-routes %q", got)
			}
			check(t, "body", m.Body, "v=0\r")
			check(t, "to tag", m.ToTag, "xyz")
		}},
		{"compact forms, LF, odd spacing", compact, func(t *testing.T, m *Msg) {
			check(t, "branch", m.Branch, "z9hG4bKx")
			check(t, "to tag", m.ToTag, "2")
			check(t, "call-id", m.CallID, "abc")
			check(t, "cseq method", m.CSeqMethod, "INVITE")
			check(t, "contact", m.Contact, "sip:c@d;expires=60")
			if len(m.Vias()) != 2 || m.CSeq != 7 || m.Code != 180 {
				t.Errorf("vias %q, cseq %d, code %d", m.Vias(), m.CSeq, m.Code)
			}
		}},
		{"status line without reason", []byte("SIP/2.0 200\r\nVia: x\r\nFrom: a\r\nTo: b\r\nCall-ID: c\r\nCSeq: 1 BYE\r\n\r\n"), func(t *testing.T, m *Msg) {
			if m.Code != 200 || m.Branch != nil {
				t.Errorf("code %d branch %q", m.Code, m.Branch)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Msg
			if err := Scan(tt.data, &m); err != nil {
				t.Fatal(err)
			}
			tt.want(t, &m)
		})
	}
}

func TestScanRejects(t *testing.T) {
	head := "Via: SIP/2.0/UDP a;branch=z9hG4bK1\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:b@c>\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\n"
	tests := []struct {
		name string
		data string
		want error
	}{
		{"empty", "", errIncomplete},
		{"no blank line", "BYE sip:a SIP/2.0\r\n" + head, errIncomplete},
		{"bad version", "BYE sip:a SIP/3.0\r\n" + head + "\r\n", errStartLine},
		{"bad status", "SIP/2.0 20 OK\r\n" + head + "\r\n", errStartLine},
		{"status out of range", "SIP/2.0 700 OK\r\n" + head + "\r\n", errStartLine},
		{"folded", "BYE sip:a SIP/2.0\r\n" + head + "Subject: a\r\n b\r\n\r\n", errFolded},
		{"no colon", "BYE sip:a SIP/2.0\r\n" + head + "Subject\r\n\r\n", errHeaderLine},
		{"two Call-IDs", "BYE sip:a SIP/2.0\r\n" + head + "i: y\r\n\r\n", errDuplicate},
		{"no Call-ID", "BYE sip:a SIP/2.0\r\n" + strings.Replace(head, "Call-ID: x\r\n", "", 1) + "\r\n", errMissing},
		{"bad CSeq", "BYE sip:a SIP/2.0\r\n" + strings.Replace(head, "1 INVITE", "INVITE", 1) + "\r\n", errCSeq},
		{"CSeq too big", "BYE sip:a SIP/2.0\r\n" + strings.Replace(head, "1 INVITE", "2147483648 INVITE", 1) + "\r\n", errCSeq},
		{"short body", "BYE sip:a SIP/2.0\r\n" + head + "Content-Length: 10\r\n\r\nabc", errBodyShort},
		{"bad length", "BYE sip:a SIP/2.0\r\n" + head + "Content-Length: x\r\n\r\n", errContentLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var m Msg
			err := Scan([]byte(tt.data), &m)
			if !errors.Is(err, tt.want) || !errors.Is(err, ErrMalformed) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
}

func check(t *testing.T, what string, got []byte, want string) {
	t.Helper()
	if string(got) != want {
		t.Errorf("%s: got %q, want %q", what, got, want)
	}
}

func BenchmarkScan(b *testing.B) {
	for _, name := range []string{"uac_invite.sip", "uas_200.sip", "uac_bye.sip"} {
		data := readTestdata(b, "sipp/"+name)
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(data)))
			var m Msg
			for b.Loop() {
				if err := Scan(data, &m); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
