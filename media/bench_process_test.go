package media

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
)

// The relay as a process of its own, for BenchmarkRelayProcess: the test
// binary run again with relayChildEnv set relays calls sessions between
// the customer and the carrier it is given, prints where each call's
// customer side listens, and relays until its standard input closes.
const relayChildEnv = "TRUNKLINE_MEDIA_BENCH_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(relayChildEnv) != "" {
		if err := relayChild(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// relayChild reads "calls customer carrier" from its environment.
func relayChild() error {
	f := strings.Fields(os.Getenv(relayChildEnv))
	if len(f) != 3 {
		return fmt.Errorf("%s: want calls, customer and carrier", relayChildEnv)
	}
	calls, _ := strconv.Atoi(f[0])
	customer, err := netip.ParseAddrPort(f[1])
	if err != nil {
		return err
	}
	carrier, err := netip.ParseAddrPort(f[2])
	if err != nil {
		return err
	}
	ports, err := NewPorts(netip.MustParseAddr("127.0.0.1"), 20000, 22999)
	if err != nil {
		return err
	}
	for range calls {
		a, err := ports.Take()
		if err != nil {
			return err
		}
		b, err := ports.Take()
		if err != nil {
			return err
		}
		s := NewSession(a, b)
		s.SetPeer(0, Offer{Remote: customer})
		s.SetPeer(1, Offer{Remote: carrier})
		s.Start()
		fmt.Println(a.Addr())
	}
	fmt.Println("ready")
	_, err = io.Copy(io.Discard, os.Stdin)
	return err
}

// BenchmarkRelayProcess is BenchmarkRelayCalls with the relay in a
// process of its own, pinned to CPU 0 with GOMAXPROCS=1, as
// BenchmarkRtpengine runs rtpengine: relay-cpu-µs/pkt is then the relay's
// CPU alone (from /proc), beside rtpengine's in the same place.
//
//	go test -c -o media.test ./media && cd media && taskset -c 1 ../media.test \
//	  -test.run XXX -test.bench 'RelayProcess|Rtpengine' -test.cpu 1 -test.benchtime 10000x
func BenchmarkRelayProcess(b *testing.B) {
	if _, err := exec.LookPath("taskset"); err != nil {
		b.Skip("no taskset")
	}
	b.Run("500-calls-32-in-flight", func(b *testing.B) { benchRelayProcess(b, 500, 32) })
}

func benchRelayProcess(b *testing.B, calls, window int) {
	customer, carrier := newParty(b, "127.0.0.2"), newParty(b, "127.0.0.3")
	exe, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command("taskset", "-c", "0", exe, "-test.run", "^$")
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1", fmt.Sprintf("%s=%d %s %s", relayChildEnv, calls, customer.addr(), carrier.addr()))
	stdin, _ := cmd.StdinPipe()
	stdout, _ := cmd.StdoutPipe()
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { stdin.Close(); cmd.Wait() }()
	var relays []netip.AddrPort
	sc := bufio.NewScanner(stdout)
	for sc.Scan() && sc.Text() != "ready" {
		a, err := netip.ParseAddrPort(sc.Text())
		if err != nil {
			b.Fatalf("relay process: %q", sc.Text())
		}
		relays = append(relays, a)
	}
	if len(relays) != calls {
		b.Fatalf("relay process set up %d of %d calls", len(relays), calls)
	}
	pumpTimed(b, cmd.Process.Pid, customer, carrier, relays, window)
}
