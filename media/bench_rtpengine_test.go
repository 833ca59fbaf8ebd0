package media

import (
	"bytes"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// BenchmarkRtpengine runs the same streams as BenchmarkRelay through
// rtpengine in userspace (Debian's rtpengine-daemon: no kernel table, one
// worker thread), pinned to CPU 0, set up over its ng control protocol:
// the side-by-side of issue 18. It is skipped where rtpengine is absent.
//
//	go test ./media -run XXX -bench 'Relay|Rtpengine' -cpu 1 -benchtime 100000x
func BenchmarkRtpengine(b *testing.B) {
	path, err := exec.LookPath("rtpengine")
	if err != nil {
		b.Skip("rtpengine not found (Debian's rtpengine-daemon)")
	}
	ng := freeUDP(b)
	cmd := exec.Command("taskset", "-c", "0", path, "-f", "-E", "--table=-1", "-i", "127.0.0.1", "-n", "127.0.0.1:"+strconv.Itoa(ng),
		"-m", "23000", "-M", "29999", "--num-threads=1", "-L", "3")

	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	time.Sleep(500 * time.Millisecond)
	pid := cmd.Process.Pid
	b.Run("32-in-flight", func(b *testing.B) { benchRtpengine(b, ng, pid, 32) })
	b.Run("1-in-flight", func(b *testing.B) { benchRtpengine(b, ng, pid, 1) })
	b.Run("500-calls-32-in-flight", func(b *testing.B) { benchRtpengineCalls(b, ng, pid, 500, 32) })
}

// pumpTimed is pump, reporting too the CPU rtpengine (pid) used a packet.
func pumpTimed(b *testing.B, pid int, customer, carrier *party, relays []netip.AddrPort, window int) {
	before := pidCPU(pid)
	pump(b, customer, carrier, relays, window)
	b.ReportMetric(float64((pidCPU(pid)-before).Nanoseconds())/1000/float64(b.N), "relay-cpu-µs/pkt")
}

// pidCPU is the CPU time (user and system) process pid has used, from
// /proc/PID/stat (in clock ticks of 10 ms: over a benchmark of 50,000
// packets, a resolution of a fraction of a microsecond a packet).
func pidCPU(pid int) time.Duration {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b[bytes.LastIndexByte(b, ')')+1:]))
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)
	st, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(ut+st) * 10 * time.Millisecond
}

// benchRtpengineCalls is BenchmarkRelayCalls through rtpengine: the
// packets spread over calls calls, one a socket read.
func benchRtpengineCalls(b *testing.B, ng, pid, calls, window int) {
	customer, carrier := newParty(b, "127.0.0.2"), newParty(b, "127.0.0.3")
	sdp := func(p *party) string {
		return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=sendrecv\r\n",
			p.addr().Addr(), p.addr().Addr(), p.addr().Port())
	}
	relays := make([]netip.AddrPort, 0, calls)
	for i := range calls {
		callID := fmt.Sprintf("bench-calls-%d-%d", i, time.Now().UnixNano())
		ngCall(b, ng, map[string]string{"command": "offer", "call-id": callID, "from-tag": "a", "sdp": sdp(customer)})
		answered := ngCall(b, ng, map[string]string{"command": "answer", "call-id": callID, "from-tag": "a", "to-tag": "b", "sdp": sdp(carrier)})
		_, o, err := Rewrite([]byte(answered), netip.MustParseAddr("127.0.0.1"), 1)
		if err != nil {
			b.Fatalf("rtpengine's answer: %v\n%s", err, answered)
		}
		relays = append(relays, o.Remote)
		defer ngCall(b, ng, map[string]string{"command": "delete", "call-id": callID, "from-tag": "a"})
	}
	pumpTimed(b, pid, customer, carrier, relays, window)
}

func benchRtpengine(b *testing.B, ng, pid, window int) {
	customer, carrier := newParty(b, "127.0.0.2"), newParty(b, "127.0.0.3")
	callID := fmt.Sprintf("bench-%d-%d", window, time.Now().UnixNano())
	sdp := func(p *party) string {
		return fmt.Sprintf("v=0\r\no=- 1 1 IN IP4 %s\r\ns=-\r\nc=IN IP4 %s\r\nt=0 0\r\nm=audio %d RTP/AVP 0\r\na=sendrecv\r\n",
			p.addr().Addr(), p.addr().Addr(), p.addr().Port())
	}
	offered := ngCall(b, ng, map[string]string{"command": "offer", "call-id": callID, "from-tag": "a", "sdp": sdp(customer)})
	answered := ngCall(b, ng, map[string]string{"command": "answer", "call-id": callID, "from-tag": "a", "to-tag": "b", "sdp": sdp(carrier)})
	_ = offered // what the carrier would be told
	_, o, err := Rewrite([]byte(answered), netip.MustParseAddr("127.0.0.1"), 1)
	if err != nil {
		b.Fatalf("rtpengine's answer: %v\n%s", err, answered)
	}
	pumpTimed(b, pid, customer, carrier, []netip.AddrPort{o.Remote}, window)
	ngCall(b, ng, map[string]string{"command": "delete", "call-id": callID, "from-tag": "a"})
}

// ngCall sends one ng command (a bencoded dictionary after a cookie) and
// returns the SDP of the answer.
func ngCall(b *testing.B, port int, args map[string]string) string {
	c, err := net.Dial("udp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	var msg bytes.Buffer
	fmt.Fprintf(&msg, "c%d d", time.Now().UnixNano())                               // a cookie of its own: rtpengine answers a repeated one from its cache
	for _, k := range []string{"call-id", "command", "from-tag", "sdp", "to-tag"} { // bencode keys sorted
		if v, ok := args[k]; ok {
			fmt.Fprintf(&msg, "%d:%s%d:%s", len(k), k, len(v), v)
		}
	}
	msg.WriteString("e")
	c.Write(msg.Bytes())
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	buf := make([]byte, 65536)
	n, err := c.Read(buf)
	if err != nil {
		b.Fatalf("rtpengine %s: %v", args["command"], err)
	}
	reply := buf[:n]
	if !bytes.Contains(reply, []byte("6:result2:ok")) {
		b.Fatalf("rtpengine %s: %s", args["command"], reply)
	}
	i := bytes.Index(reply, []byte("3:sdp"))
	if i < 0 {
		return ""
	}
	rest := reply[i+5:]
	colon := bytes.IndexByte(rest, ':')
	l, _ := strconv.Atoi(string(rest[:colon]))
	return string(rest[colon+1 : colon+1+l])
}

func freeUDP(b *testing.B) int {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}
