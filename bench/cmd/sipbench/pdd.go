package main

import (
	"bytes"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// sipp times responses in whole milliseconds, too coarse for the delay a
// switch adds. measurePDD captures one fixed-rate run on loopback with
// tcpdump and computes, per call, the time the switch held the INVITE
// (customer -> switch until switch -> carrier) plus the time it held the 200
// (carrier -> switch until switch -> customer): the post-dial delay the
// switch adds, in microseconds.
func measurePDD(o *options, sc *sippConf, p peer, uacPort, uasPort int, run func() uacResult) (p50, p99 float64, n int, err error) {
	swPort, _ := strconv.Atoi(p.target()[bytes.LastIndexByte([]byte(p.target()), ':')+1:])
	file := filepath.Join(sc.workDir, "pdd.pcap")
	filter := fmt.Sprintf("udp and port %d", swPort)
	argv := sc.taskset("tcpdump", "-i", "lo", "-n", "-s", "1200", "-B", "65536", "-U", "-w", file, filter)
	c, err := startChild("tcpdump", sc.workDir, filepath.Join(sc.workDir, "tcpdump.log"), filepath.Join(sc.workDir, "tcpdump.log"), argv...)
	if err != nil {
		return 0, 0, 0, err
	}
	time.Sleep(700 * time.Millisecond)
	res := run()
	time.Sleep(300 * time.Millisecond)
	c.stop(3 * time.Second)
	if res.Err != nil {
		return 0, 0, 0, res.Err
	}
	calls, err := addedDelays(file, swPort, uacPort, uasPort)
	if err != nil {
		return 0, 0, 0, err
	}
	added := make([]float64, len(calls))
	for i, c := range calls {
		added[i] = c.added()
	}
	bursts, outside := tailSplit(calls, pddLimit)
	logf("%s: calls over %g ms of added PDD: %.1f %% in bursts, %.1f %% outside (per call: %s)", p.name(), pddLimit, bursts, outside, "pdd-calls.tsv")
	if err := writeCallDelays(filepath.Join(sc.workDir, "pdd-calls.tsv"), calls); err != nil {
		logf("%s: %v", p.name(), err)
	}
	return percentile(added, 50), percentile(added, 99), len(added), nil
}

// pddLimit is the target for the added PDD's p99 (ms).
const pddLimit = 2.0

// callDelay is what the switch added to one call: on the INVITE's way to
// the carrier and on the 200's way back (ms); at is when the customer's
// INVITE was captured (µs).
type callDelay struct {
	at      int64
	inv, ok float64
}

func (d callDelay) added() float64 { return d.inv + d.ok }

// tailSplit returns the calls that took over limit ms, as percentages of
// all calls: those in bursts (a 100 ms stretch of capture time in which
// over a tenth of the calls did: the switch stalled) and those outside.
func tailSplit(calls []callDelay, limit float64) (bursts, outside float64) {
	type bin struct{ n, over int }
	bins := map[int64]*bin{}
	for _, c := range calls {
		b := bins[c.at/100_000]
		if b == nil {
			b = &bin{}
			bins[c.at/100_000] = b
		}
		b.n++
		if c.added() > limit {
			b.over++
		}
	}
	var in, out int
	for _, b := range bins {
		if b.over*10 > b.n {
			in += b.over
		} else {
			out += b.over
		}
	}
	if len(calls) == 0 {
		return 0, 0
	}
	return 100 * float64(in) / float64(len(calls)), 100 * float64(out) / float64(len(calls))
}

// writeCallDelays writes one line per call, in the order of their INVITEs:
// capture time (µs), INVITE leg and 200 leg (ms), tab-separated.
func writeCallDelays(path string, calls []callDelay) error {
	sorted := slices.SortedFunc(slices.Values(calls), func(a, b callDelay) int { return cmp.Compare(a.at, b.at) })
	var b bytes.Buffer
	b.WriteString("invite_at_us\tinvite_ms\tok_ms\n")
	for _, c := range sorted {
		fmt.Fprintf(&b, "%d\t%.3f\t%.3f\n", c.at, c.inv, c.ok)
	}
	return os.WriteFile(path, b.Bytes(), 0o644)
}

// leg is one side of a call as the capture shows it: its first INVITE and
// first 200 to the INVITE (µs), and the dialled number.
type leg struct {
	inv, ok int64
	number  string
}

// addedDelays reads a pcap (Ethernet link type, as tcpdump writes for lo)
// and returns, per call seen complete, the delay added on each leg.
//
// A topology-hiding switch gives the carrier leg its own Call-ID, so the two
// legs of a call are paired by Call-ID where it is the same on both, and
// otherwise by the dialled number (Request-URI user, digits only), in the
// order the INVITEs were seen: sipp takes the numbers of the injection file
// in turn, so within a run of fewer calls than numbers each is dialled once.
func addedDelays(path string, sw, uac, uas int) ([]callDelay, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != 0xa1b2c3d4 {
		return nil, errors.New("not a little-endian microsecond pcap file")
	}
	if lt := binary.LittleEndian.Uint32(b[20:]); lt != 1 {
		return nil, fmt.Errorf("pcap link type %d, want 1 (Ethernet)", lt)
	}
	// Legs by Call-ID, and their Call-IDs in the order of their INVITEs.
	cust, carr := map[string]*leg{}, map[string]*leg{}
	var custOrder, carrOrder []string
	for off := 24; off+16 <= len(b); {
		ts := int64(binary.LittleEndian.Uint32(b[off:]))*1e6 + int64(binary.LittleEndian.Uint32(b[off+4:]))
		incl := int(binary.LittleEndian.Uint32(b[off+8:]))
		pkt := b[off+16 : min(off+16+incl, len(b))]
		off += 16 + incl
		if len(pkt) < 14+20+8 || binary.BigEndian.Uint16(pkt[12:]) != 0x0800 {
			continue
		}
		ip := pkt[14:]
		ihl := int(ip[0]&0x0f) * 4
		if ip[9] != 17 || len(ip) < ihl+8 {
			continue
		}
		udp := ip[ihl:]
		sport, dport := int(binary.BigEndian.Uint16(udp)), int(binary.BigEndian.Uint16(udp[2:]))
		msg := udp[8:]
		id := header(msg, "Call-ID")
		if id == "" {
			continue
		}
		inv := bytes.HasPrefix(msg, []byte("INVITE "))
		ok := bytes.HasPrefix(msg, []byte("SIP/2.0 200")) && bytes.Contains([]byte(header(msg, "CSeq")), []byte("INVITE"))
		var legs map[string]*leg
		var order *[]string
		switch {
		case inv && sport == uac && dport == sw, ok && sport == sw && dport == uac:
			legs, order = cust, &custOrder
		case inv && sport == sw && dport == uas, ok && sport == uas && dport == sw:
			legs, order = carr, &carrOrder
		default:
			continue
		}
		l := legs[id]
		if l == nil {
			l = &leg{}
			legs[id] = l
		}
		switch {
		case inv && l.inv == 0:
			l.inv, l.number = ts, dialled(msg)
			*order = append(*order, id)
		case ok && l.ok == 0:
			l.ok = ts
		}
	}
	// Pair the legs: same Call-ID first, then by number in INVITE order.
	pairs := map[string]string{} // customer Call-ID -> carrier Call-ID
	var rest []string            // carrier Call-IDs not found among the customer's
	for _, id := range carrOrder {
		if _, same := cust[id]; same {
			pairs[id] = id
		} else {
			rest = append(rest, id)
		}
	}
	queue := map[string][]string{} // number -> unpaired customer Call-IDs
	for _, id := range custOrder {
		if _, paired := pairs[id]; !paired {
			queue[cust[id].number] = append(queue[cust[id].number], id)
		}
	}
	for _, id := range rest {
		n := carr[id].number
		if q := queue[n]; len(q) > 0 {
			pairs[q[0]], queue[n] = id, q[1:]
		}
	}
	var out []callDelay
	for cid, kid := range pairs {
		c, k := cust[cid], carr[kid]
		if c.inv == 0 || c.ok == 0 || k.inv == 0 || k.ok == 0 {
			continue
		}
		out = append(out, callDelay{at: c.inv, inv: float64(k.inv-c.inv) / 1000, ok: float64(c.ok-k.ok) / 1000})
	}
	if len(out) == 0 {
		return nil, errors.New("no complete call in the capture")
	}
	return out, nil
}

// dialled returns the digits of the Request-URI's user part of a request.
func dialled(msg []byte) string {
	line, _, _ := bytes.Cut(msg, []byte("\r\n"))
	_, uri, _ := bytes.Cut(line, []byte(" "))
	uri, _, _ = bytes.Cut(uri, []byte(" "))
	if i := bytes.IndexByte(uri, ':'); i >= 0 {
		uri = uri[i+1:]
	}
	user, _, found := bytes.Cut(uri, []byte("@"))
	if !found {
		return ""
	}
	var d []byte
	for _, c := range user {
		if c >= '0' && c <= '9' {
			d = append(d, c)
		} else if c == ';' {
			break
		}
	}
	return string(d)
}

// header returns the value of the first header named name (or its compact
// form for Call-ID), "" if absent.
func header(msg []byte, name string) string {
	for _, line := range bytes.Split(msg, []byte("\r\n")) {
		if len(line) == 0 {
			break
		}
		i := bytes.IndexByte(line, ':')
		if i <= 0 {
			continue
		}
		k := string(bytes.TrimSpace(line[:i]))
		if k == name || (name == "Call-ID" && (k == "i" || k == "Call-Id" || k == "Call-id")) {
			return string(bytes.TrimSpace(line[i+1:]))
		}
	}
	return ""
}
