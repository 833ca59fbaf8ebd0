package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
)

// apiClient drives a running node's admin API with its token.
type apiClient struct {
	t     testing.TB
	base  string
	token string
}

// do sends a JSON request and decodes the JSON answer into out (if not nil);
// any status other than want fails the test.
func (a *apiClient) do(method, path string, in any, want int, out any) {
	a.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			a.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, a.base+path, body)
	if err != nil {
		a.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		a.t.Fatalf("%s %s: status %d, want %d: %s", method, path, res.StatusCode, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			a.t.Fatalf("%s %s: decoding %s: %v", method, path, b, err)
		}
	}
}

// create POSTs in and returns the id of the created resource.
func (a *apiClient) create(path string, in any) string {
	a.t.Helper()
	var out struct {
		ID string `json:"id"`
	}
	a.do("POST", path, in, http.StatusCreated, &out)
	if out.ID == "" {
		a.t.Fatalf("POST %s returned no id", path)
	}
	return out.ID
}

// cdrs lists the CDRs of a call, by the switch's call id or the
// customer's Call-ID, waiting up to 5 s for at least n of them.
func (a *apiClient) cdrs(callID string, n int) []cdr.Record {
	a.t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		var out struct {
			CDRs []cdr.Record `json:"cdrs"`
		}
		a.do("GET", "/api/v1/cdrs?limit=1000", nil, http.StatusOK, &out)
		var got []cdr.Record
		for _, r := range out.CDRs {
			if r.CallID == callID || r.SIPCallID == callID {
				got = append(got, r)
			}
		}
		if len(got) >= n || time.Now().After(deadline) {
			return sortAttempts(got)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func sortAttempts(rs []cdr.Record) []cdr.Record {
	for i := 1; i < len(rs); i++ {
		for j := i; j > 0 && rs[j].Attempt < rs[j-1].Attempt; j-- {
			rs[j], rs[j-1] = rs[j-1], rs[j]
		}
	}
	return rs
}

func (a *apiClient) String() string { return fmt.Sprintf("api %s", a.base) }
