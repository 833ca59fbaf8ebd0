package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
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
	added, err := addedDelays(file, swPort, uacPort, uasPort)
	if err != nil {
		return 0, 0, 0, err
	}
	return percentile(added, 50), percentile(added, 99), len(added), nil
}

type legTimes struct{ invIn, invOut, okIn, okOut int64 } // µs

// addedDelays reads a pcap (Ethernet link type, as tcpdump writes for lo)
// and returns, per call seen complete, the added delay in ms.
func addedDelays(path string, sw, uac, uas int) ([]float64, error) {
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
	calls := map[string]*legTimes{}
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
		if !inv && !ok {
			continue
		}
		lt := calls[id]
		if lt == nil {
			lt = &legTimes{}
			calls[id] = lt
		}
		set := func(p *int64) {
			if *p == 0 {
				*p = ts
			}
		}
		switch {
		case inv && sport == uac && dport == sw:
			set(&lt.invIn)
		case inv && sport == sw && dport == uas:
			set(&lt.invOut)
		case ok && sport == uas && dport == sw:
			set(&lt.okIn)
		case ok && sport == sw && dport == uac:
			set(&lt.okOut)
		}
	}
	var out []float64
	for _, lt := range calls {
		if lt.invIn == 0 || lt.invOut == 0 || lt.okIn == 0 || lt.okOut == 0 {
			continue
		}
		out = append(out, float64((lt.invOut-lt.invIn)+(lt.okOut-lt.okIn))/1000)
	}
	if len(out) == 0 {
		return nil, errors.New("no complete call in the capture")
	}
	return out, nil
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
