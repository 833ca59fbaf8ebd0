package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// With -generator go, the carrier UAS and the customer UAC of the ladder,
// fixed-rate and PDD runs are bench/cmd/sipload processes instead of sipp,
// with the same addresses, pinning, rate, count, call length and dialled
// numbers. The held calls (memory per call, 2,000 calls/s) stay with sipp,
// which reports its calls in progress.

// sipload is the part of sipload's JSON report sipbench reads.
type sipload struct {
	UAC *struct {
		Created     int `json:"created"`
		Succeeded   int `json:"succeeded"`
		Failed      int `json:"failed"`
		Outstanding int `json:"outstanding"`
		InviteTo200 struct {
			P50US float64 `json:"p50_us"`
			P99US float64 `json:"p99_us"`
		} `json:"invite_to_200"`
	} `json:"uac"`
	Error string `json:"error"`
}

// startGoUAS starts sipload as the carrier on ip:port until stopped.
func (s *sippConf) startGoUAS(name, ip string, port int) (*child, error) {
	dir := filepath.Join(s.workDir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	log := filepath.Join(dir, "stdout.log")
	argv := s.taskset(s.sipload, "-mode", "uas", "-bind", ip+":"+strconv.Itoa(port), "-out", filepath.Join(dir, "stats.json"))
	c, err := startChild(name, dir, log, log, argv...)
	if err != nil {
		return nil, err
	}
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-c.done:
		b, _ := os.ReadFile(log)
		return nil, fmt.Errorf("sipload UAS exited at once (%v): %s", err, tailOf(string(b), 800))
	default:
	}
	return c, nil
}

// runGoUAC places r.count calls at r.rate with sipload and waits for it to
// end. A call that waits more than 5 s for a response fails, as with sipp's
// -recv_timeout 5000.
func (s *sippConf) runGoUAC(name string, r uacRun) uacResult {
	res := uacResult{Rate: r.rate}
	dir, limit, budget, err := s.uacSetup(name, r)
	if err != nil {
		res.Err = err
		return res
	}
	log, stats := filepath.Join(dir, "stdout.log"), filepath.Join(dir, "stats.json")
	argv := s.taskset(s.sipload, "-mode", "uac", "-bind", "127.0.0.2:"+strconv.Itoa(r.port), "-target", r.target,
		"-rate", strconv.Itoa(r.rate), "-count", strconv.Itoa(r.count), "-hold", r.hold.String(),
		"-limit", strconv.Itoa(limit), "-numbers", s.numbers, "-timeout", "5s", "-out", stats)
	start := time.Now()
	c, err := startChild(name, dir, log, log, argv...)
	if err != nil {
		res.Err = err
		return res
	}
	select {
	case <-c.done:
	case <-time.After(budget + 10*time.Second):
		c.stop(2 * time.Second)
		res.Err = errors.New("sipload UAC overran its time budget")
	}
	res.Wall = time.Since(start)
	var rep sipload
	b, err := os.ReadFile(stats)
	if err == nil {
		err = json.Unmarshal(b, &rep)
	}
	if err == nil && rep.UAC == nil {
		err = fmt.Errorf("no UAC statistics (%s)", rep.Error)
	}
	if err != nil {
		if res.Err == nil {
			out, _ := os.ReadFile(log)
			res.Err = fmt.Errorf("sipload statistics: %w: %s", err, tailOf(string(out), 800))
		}
		return res
	}
	res.Created, res.Succeeded, res.Failed = rep.UAC.Created, rep.UAC.Succeeded, rep.UAC.Failed+rep.UAC.Outstanding
	res.P50, res.P99 = rep.UAC.InviteTo200.P50US/1000, rep.UAC.InviteTo200.P99US/1000
	return res
}
