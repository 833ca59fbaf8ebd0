package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// A login flood against the switch process: 60 wrong passwords for one
// user sent at once check only as many as the throttle allows (the rest
// get 429), 60 unknown users from one address likewise, the process's
// peak memory stays within a few argon2 hashes (each takes 19 MiB while
// it runs) even when all 60 come from addresses of their own, and the user locked out on the flooding address still logs in
// from another.
func TestLoginFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	t.Parallel()
	p := startProc(t, testBinary(t), procConfig(t, t.TempDir(), ""))
	api := &apiClient{t: t, base: "http://" + p.admin, token: p.token}
	api.create("/api/v1/users", map[string]any{"username": "victim", "password": "the right password", "role": "admin"})

	login := func(client *http.Client, user, password string) int {
		b, _ := json.Marshal(map[string]string{"username": user, "password": password})
		res, err := client.Post(api.base+"/api/v1/login", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Error(err)
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}
	// from gives client i its own source address (127.0.1.i) when spread.
	from := func(i int, spread bool) *http.Client {
		tr := &http.Transport{MaxConnsPerHost: 100, MaxIdleConnsPerHost: 100}
		if spread {
			tr.DialContext = (&net.Dialer{LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 1, byte(i+1))}}).DialContext
		}
		return &http.Client{Transport: tr, Timeout: 30 * time.Second}
	}
	flood := func(user func(i int) string, spread bool) map[int]int {
		var mu sync.Mutex
		codes := map[int]int{}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range 60 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				c := login(from(i, spread), user(i), fmt.Sprint("wrong guess ", i))
				mu.Lock()
				codes[c]++
				mu.Unlock()
			}()
		}
		close(start)
		wg.Wait()
		return codes
	}
	base := procMemory(t, p.cmd.Process.Pid, "VmRSS")

	codes := flood(func(int) string { return "victim" }, false)
	if codes[401] != 5 || codes[429] != 55 {
		t.Fatalf("60 wrong passwords at once for one user: %v, want 5 checked (401) and 55 refused (429)", codes)
	}
	codes = flood(func(i int) string { return fmt.Sprint("nobody", i) }, false)
	// The address has 5 failures already; it may fail 20 in all.
	if codes[401] != 15 || codes[429] != 45 {
		t.Fatalf("60 unknown users at once from one address: %v, want 15 checked (401) and 45 refused (429)", codes)
	}
	// 60 unknown users, each from an address of its own: the throttle
	// lets every one through to its password check (1.1 GiB of hashes at
	// once, unbounded).
	codes = flood(func(i int) string { return fmt.Sprint("stranger", i) }, true)
	if codes[401] != 60 {
		t.Fatalf("60 unknown users at once from 60 addresses: %v, want 60 checked (401)", codes)
	}
	grew := procMemory(t, p.cmd.Process.Pid, "VmHWM") - base
	t.Logf("peak memory %d MiB above the resting size", grew>>20)
	if grew > 400<<20 { // unbounded: 1 GiB; bounded: about 200 MiB
		t.Errorf("the floods took the process's peak memory %d MiB above its resting size: password hashes are not bounded", grew>>20)
	}

	// Locked out on 127.0.0.1, the user still logs in from 127.0.0.2.
	if c := login(http.DefaultClient, "victim", "the right password"); c != 429 {
		t.Fatalf("the right password from the flooding address: %d, want 429", c)
	}
	other := &http.Client{Transport: &http.Transport{DialContext: (&net.Dialer{
		LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}).DialContext}}
	if c := login(other, "victim", "the right password"); c != 201 {
		t.Fatalf("the right password from another address: %d, want 201", c)
	}
}

// procMemory returns a memory figure (VmRSS, VmHWM) of process pid in
// bytes, from /proc.
func procMemory(t *testing.T, pid int, field string) int64 {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), field+":"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no %s in /proc/%d/status", field, pid)
	return 0
}
