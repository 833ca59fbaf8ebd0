package media

import (
	"encoding/binary"
	"net/netip"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// BenchmarkRelay relays G.711 packets (172 bytes) one way through a
// session on loopback and reports packets a second and the latency from
// send to receive (the relay's hop and loopback's) at p50 and p99: with
// 32 packets in flight (throughput; the latency is then mostly queueing;
// rtpengine drops beyond 50 queued) and with one (the hop alone). With -cpu 1 the generator, the receiver
// and the relay share one core.
//
//	go test ./media -run XXX -bench Relay -cpu 1,2 -benchtime 200000x
func BenchmarkRelay(b *testing.B) {
	b.Run("32-in-flight", func(b *testing.B) { benchRelay(b, 32) })
	b.Run("1-in-flight", func(b *testing.B) { benchRelay(b, 1) })
}

func benchRelay(b *testing.B, window int) {
	ports, _ := NewPorts(netip.MustParseAddr("127.0.0.1"), 32000, 32099)
	pa, _ := ports.Take()
	pb, _ := ports.Take()
	customer, carrier := newParty(b, "127.0.0.2"), newParty(b, "127.0.0.3")
	s := NewSession(pa, pb)
	s.SetPeer(0, Offer{Remote: customer.addr()})
	s.SetPeer(1, Offer{Remote: carrier.addr()})
	s.Start()
	defer s.Close()
	pump(b, customer, carrier, []netip.AddrPort{pa.Addr()}, window)
}

// BenchmarkRelayCalls is BenchmarkRelay spread over 500 calls: packet i
// goes to call i mod 500, so each socket's read finds one packet, as in a
// switch relaying many calls (each of their sockets gets 50 packets a
// second), and every packet costs its own wake-up and system calls.
//
//	go test ./media -run XXX -bench RelayCalls -cpu 1 -benchtime 200000x
func BenchmarkRelayCalls(b *testing.B) {
	b.Run("32-in-flight", func(b *testing.B) { benchRelayCalls(b, 500, 32) })
}

func benchRelayCalls(b *testing.B, calls, window int) {
	ports, err := NewPorts(netip.MustParseAddr("127.0.0.1"), 20000, 22999)
	if err != nil {
		b.Fatal(err)
	}
	customer, carrier := newParty(b, "127.0.0.2"), newParty(b, "127.0.0.3")
	relays := make([]netip.AddrPort, 0, calls)
	for range calls {
		pa, err := ports.Take()
		if err != nil {
			b.Fatal(err)
		}
		pb, err := ports.Take()
		if err != nil {
			b.Fatal(err)
		}
		s := NewSession(pa, pb)
		s.SetPeer(0, Offer{Remote: customer.addr()})
		s.SetPeer(1, Offer{Remote: carrier.addr()})
		s.Start()
		defer s.Close()
		relays = append(relays, pa.Addr())
	}
	pump(b, customer, carrier, relays, window)
}

// pump sends b.N G.711 packets from customer to the relays in turn, at most window in
// flight, has carrier count them, and reports packets a second, the send
// to receive latency at p50 and p99, and the loss.
func pump(b *testing.B, customer, carrier *party, relays []netip.AddrPort, window int) {
	pkt := rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SSRC: 7}, Payload: make([]byte, 160)}
	frame, _ := pkt.Marshal()
	got := make(chan time.Duration, 1024)
	go func() {
		buf := make([]byte, 2000)
		for {
			n, _, err := carrier.conn.ReadFromUDPAddrPort(buf)
			if err != nil {
				close(got)
				return
			}
			if n >= 20 {
				got <- time.Duration(time.Now().UnixNano() - int64(binary.BigEndian.Uint64(buf[12:20])))
			}
		}
	}()
	lat := make([]time.Duration, 0, b.N)
	inFlight := 0
	b.ResetTimer()
	cpu0 := processCPU()
	start := time.Now()
	for i := range b.N {
		binary.BigEndian.PutUint16(frame[2:], uint16(i))
		binary.BigEndian.PutUint64(frame[12:], uint64(time.Now().UnixNano()))
		customer.conn.WriteToUDPAddrPort(frame, relays[i%len(relays)])
		inFlight++
		for inFlight >= window {
			select {
			case d := <-got:
				lat = append(lat, d)
				inFlight--
			case <-time.After(50 * time.Millisecond):
				inFlight-- // lost: go on
			}
		}
	}
	for inFlight > 0 {
		select {
		case d := <-got:
			lat = append(lat, d)
		case <-time.After(50 * time.Millisecond):
		}
		inFlight--
	}
	elapsed := time.Since(start)
	cpu := processCPU() - cpu0
	b.StopTimer()
	carrier.conn.Close()
	slices.Sort(lat)
	if len(lat) > 0 {
		b.ReportMetric(float64(len(lat))/elapsed.Seconds(), "pkts/s")
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		b.ReportMetric(float64(b.N-len(lat))*100/float64(b.N), "lost-%")
		b.ReportMetric(float64(cpu.Nanoseconds())/1000/float64(len(lat)), "cpu-µs/pkt")
	}
}

// processCPU is the CPU time the process has used (user and system), of
// every thread: the relay's, the generator's and the receiver's. Less
// BenchmarkDirect's (the generator and the receiver alone), it is the
// relay's cost of a packet.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkDirect is pump with no relay: the customer sends straight to
// the carrier. Its cpu-µs/pkt is the generator's and the receiver's
// share of the relay benchmarks'.
//
//	go test ./media -run XXX -bench 'RelayCalls|Direct' -cpu 1 -benchtime 200000x
func BenchmarkDirect(b *testing.B) {
	customer, carrier := newParty(b, "127.0.0.2"), newParty(b, "127.0.0.3")
	pump(b, customer, carrier, []netip.AddrPort{carrier.addr()}, 32)
}
