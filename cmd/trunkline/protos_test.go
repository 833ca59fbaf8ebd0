package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
)

const protosArchive = "../../../shared/testdata/protos/c07-sip-r2-testcases.tar.gz"

// protosCase is one PROTOS c07-sip test case: an INVITE template and the
// teardown (CANCEL) template sent after it.
type protosCase struct {
	name             string
	invite, teardown []byte
}

func loadPROTOS(t *testing.T) []protosCase {
	t.Helper()
	f, err := os.Open(protosArchive)
	if err != nil {
		t.Fatalf("PROTOS material missing (../shared/testdata): %v", err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	var out []protosCase
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		inv, rest, err := lengthPrefixed(b)
		if err != nil {
			t.Fatalf("%s: %v", h.Name, err)
		}
		td, _, err := lengthPrefixed(rest)
		if err != nil {
			t.Fatalf("%s teardown: %v", h.Name, err)
		}
		out = append(out, protosCase{name: filepath.Base(h.Name), invite: inv, teardown: td})
	}
	return out
}

// lengthPrefixed splits "<n> <n bytes>" off b.
func lengthPrefixed(b []byte) (msg, rest []byte, err error) {
	sp := bytes.IndexByte(b, ' ')
	if sp < 0 {
		return nil, nil, fmt.Errorf("no length prefix")
	}
	n, err := strconv.Atoi(string(b[:sp]))
	if err != nil || n < 0 || sp+1+n > len(b) {
		return nil, nil, fmt.Errorf("bad length prefix %q", b[:sp])
	}
	return b[sp+1 : sp+1+n], b[sp+1+n:], nil
}

// fill replaces the PROTOS template tags the way the PROTOS tool does, with
// loopback addresses only. Content-Length is the length of the body as sent.
func fill(tmpl []byte, to, fromIP string, port int, id string) []byte {
	r := strings.NewReplacer(
		"<To>", to, "<From>", "protos@"+fromIP, "<From-Address>", fromIP, "<From-IP>", fromIP,
		"<Local-Port>", strconv.Itoa(port), "<Branch-ID>", id, "<Call-ID>", "protos-"+id,
		"<CSeq>", "1", "<Teardown-Method>", "CANCEL",
	)
	s := r.Replace(string(tmpl))
	body := ""
	if i := strings.Index(s, "\r\n\r\n"); i >= 0 {
		body = s[i+4:]
	}
	return []byte(strings.ReplaceAll(s, "<Content-Length>", strconv.Itoa(len(body))))
}

// TestPROTOS sends every PROTOS c07-sip INVITE case (and its CANCEL) to a
// provisioned switch from an authorised customer address. The switch must
// survive all of them, forward only messages a carrier can parse, and still
// take a call afterwards. A carrier that records every message checks that
// whatever reaches it is well formed.
func TestPROTOS(t *testing.T) {
	cases := loadPROTOS(t)
	if len(cases) < 4000 {
		t.Fatalf("only %d PROTOS cases", len(cases))
	}
	sw := startSwitch(t)
	carrierA := newRawPeer(t, "127.0.0.1", carrierAnswers(486, false, ""))
	carrierB := newRawPeer(t, "127.0.0.1", carrierAnswers(486, false, ""))
	provision(t, sw, carrierA, carrierB)

	conn, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.ParseIP("127.0.0.2")})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	port := conn.LocalAddr().(*net.UDPAddr).Port
	dst := sw.SIPAddr.(*net.UDPAddr)
	to := numAnswer + "@" + dst.String()
	answers := map[int]int{}
	tooBig := 0
	for _, c := range cases {
		if _, err := conn.WriteToUDP(fill(c.invite, to, "127.0.0.2", port, c.name), dst); err != nil {
			if errors.Is(err, syscall.EMSGSIZE) { // larger than a UDP datagram can be
				tooBig++
				continue
			}
			t.Fatal(err)
		}
		answers[readFinalFor(conn, 25*time.Millisecond, "INVITE")]++
		if _, err := conn.WriteToUDP(fill(c.teardown, to, "127.0.0.2", port, c.name), dst); err != nil {
			t.Fatal(err)
		}
	}
	got := append(carrierA.all(), carrierB.all()...)
	invites := 0
	for _, m := range got {
		if strings.HasPrefix(m, "INVITE ") {
			invites++
		}
		if err := wellFormed(m); err != nil {
			t.Errorf("a carrier got a malformed message (%v):\n%q", err, m)
		}
	}
	t.Logf("final answers to %d PROTOS INVITEs (0 = none): %v; %d too large for UDP; carriers got %d INVITEs, %d messages, all well formed",
		len(cases), answers, tooBig, invites, len(got))
	if answers[486] == 0 {
		t.Error("not even the valid PROTOS case reached a carrier")
	}

	// Every call ends (answered 486 by the carrier, or refused): none may
	// stay in the call table.
	deadline := time.Now().Add(10 * time.Second)
	for sw.sip.ActiveCalls() > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if n := sw.sip.ActiveCalls(); n > 0 {
		t.Errorf("%d calls left in the call table after PROTOS", n)
	}

	customer := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := customer.Dial(ctx, sw.SIPAddr.String(), numBusy); siptest.Status(err) != 486 {
		t.Fatalf("switch no longer routes calls after PROTOS: %v", err)
	}
}
