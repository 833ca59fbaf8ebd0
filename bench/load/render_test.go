package load

import (
	"bytes"
	"net/netip"
	"testing"
)

// The files in testdata/sipp are what sipp 3.6.1 sent in one call with
// bench/scenarios/uac.xml (pid 10532, 127.0.0.2:15080) and uas.xml (pid
// 10530, 127.0.0.1:15070) dialling 4420712345678. With the same
// identifiers the generator must send the same bytes.

func TestUACMessagesAreSipps(t *testing.T) {
	text := newUACText("127.0.0.2:15080", "127.0.0.2", "127.0.0.1:15070", "10532")
	diff(t, "INVITE", text.invite(nil, 1, "4420712345678"), readTestdata(t, "sipp/uac_invite.sip"))

	var ok Msg
	if err := Scan(readTestdata(t, "sipp/uas_200.sip"), &ok); err != nil {
		t.Fatal(err)
	}
	d := newDialog(ok.RecordRoutes(), uriOf(ok.Contact), ok.ToTag)
	diff(t, "ACK", text.inDialog(nil, "ACK", kAck, "1 ACK", 1, "4420712345678", &d), readTestdata(t, "sipp/uac_ack.sip"))
	diff(t, "BYE", text.inDialog(nil, "BYE", kBye, "2 BYE", 1, "4420712345678", &d), readTestdata(t, "sipp/uac_bye.sip"))

	n, isOurs := text.callNumber(ok.CallID)
	if !isOurs || n != 1 {
		t.Errorf("callNumber(%q) = %d, %v", ok.CallID, n, isOurs)
	}
	if _, isOurs := text.callNumber([]byte("1-10533@127.0.0.2")); isOurs {
		t.Error("another UAC's Call-ID taken as ours")
	}
}

func TestUASMessagesAreSipps(t *testing.T) {
	conn, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	s, err := NewUAS(conn)
	if err != nil {
		t.Fatal(err)
	}
	// As if bound where sipp was, with sipp's tag.
	s.tagPrefix = "10530SIPpTag01"
	s.contact = "Contact: <sip:127.0.0.1:15070;transport=UDP>\r\n"
	s.sdpTail = sdpHead(sdp("127.0.0.1")) + sdp("127.0.0.1")
	out := newOutbox(conn)
	from := netip.MustParseAddrPort("127.0.0.2:15080")

	s.receive(readTestdata(t, "sipp/uac_invite.sip"), from, 0, out)
	if len(out.ends) != 2 {
		t.Fatalf("%d responses to the INVITE, want 2", len(out.ends))
	}
	diff(t, "180", out.buf[:out.ends[0]], readTestdata(t, "sipp/uas_180.sip"))
	diff(t, "200", out.buf[out.ends[0]:out.ends[1]], readTestdata(t, "sipp/uas_200.sip"))

	out.buf, out.ends, out.to = out.buf[:0], out.ends[:0], out.to[:0]
	s.receive(readTestdata(t, "sipp/uac_ack.sip"), from, 0, out)
	s.receive(readTestdata(t, "sipp/uac_bye.sip"), from, 0, out)
	if len(out.ends) != 1 {
		t.Fatalf("%d messages after ACK and BYE, want 1", len(out.ends))
	}
	diff(t, "200 to BYE", out.last(), readTestdata(t, "sipp/uas_bye_200.sip"))
	if st := s.Stats(); st.Calls != 1 || st.Acked != 1 || st.Completed != 1 || st.Active != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestResponseRepeatsViasAndRecordRoutes(t *testing.T) {
	inv := crlf(`INVITE sip:441@127.0.0.1:5070 SIP/2.0
Record-Route: <sip:127.0.0.1:5060;lr;ftag=1>
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKkam
Via: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK-1-1-0;rport=5080;received=127.0.0.2
Record-Route: <sip:10.0.0.9;lr>
From: sipp <sip:sipp@127.0.0.2:5080>;tag=1SIPpTag001
To: <sip:441@127.0.0.1:5060>
Call-ID: abc
CSeq: 1 INVITE
Content-Length: 0

`)
	var m Msg
	if err := Scan(inv, &m); err != nil {
		t.Fatal(err)
	}
	got := appendEmpty(appendResponseHead(nil, "180 Ringing", &m, true, []byte("T1")))
	want := crlf(`SIP/2.0 180 Ringing
Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKkam
Via: SIP/2.0/UDP 127.0.0.2:5080;branch=z9hG4bK-1-1-0;rport=5080;received=127.0.0.2
Record-Route: <sip:127.0.0.1:5060;lr;ftag=1>
Record-Route: <sip:10.0.0.9;lr>
From: sipp <sip:sipp@127.0.0.2:5080>;tag=1SIPpTag001
To: <sip:441@127.0.0.1:5060>;tag=T1
Call-ID: abc
CSeq: 1 INVITE
Content-Length: 0

`)
	diff(t, "180", got, want)
}

func diff(t *testing.T, what string, got, want []byte) {
	t.Helper()
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from sipp's:\n--- got\n%s\n--- want\n%s", what, got, want)
	}
}
