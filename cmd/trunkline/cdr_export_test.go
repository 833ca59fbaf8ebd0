package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path"
	"strconv"
	"testing"
	"time"

	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/sip/siptest"
	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// TestExportOfRealCallsOverSFTP places calls, sets the customer's timezone
// and CDR fields through the API, creates an SFTP export and runs today's
// period now: the file on the real SFTP server holds exactly those calls,
// with the chosen fields, gzipped, times in the customer's timezone.
func TestExportOfRealCallsOverSFTP(t *testing.T) {
	addr := os.Getenv("TRUNKLINE_TEST_SFTP")
	user, pw := os.Getenv("TRUNKLINE_TEST_EXPORT_USER"), os.Getenv("TRUNKLINE_TEST_EXPORT_PASSWORD")
	if addr == "" || user == "" || pw == "" {
		msg := `TRUNKLINE_TEST_SFTP and TRUNKLINE_TEST_EXPORT_USER/PASSWORD are not set; start the servers with: eval "$(scripts/services.sh up)"`
		storetest.Missing(t, msg)
	}
	host, portS, _ := net.SplitHostPort(addr)
	port, _ := strconv.Atoi(portS)

	sw := startSwitch(t)
	carrierA := siptest.NewCarrier(t, "127.0.0.1", scriptFor(503))
	carrierB := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	customerID, _, _ := provision(t, sw, carrierA, carrierB)
	const tz = "Pacific/Auckland"
	sw.api.do("PUT", "/api/v1/customers/"+customerID, map[string]any{"name": "Acme Telecom", "timezone": tz}, http.StatusOK, nil)
	sw.api.do("PUT", "/api/v1/customers/"+customerID+"/cdr-fields",
		map[string]any{"fields": []string{"call_id", "setup_time", "callee", "sip_code", "sell_cost"}}, http.StatusOK, nil)
	customer := siptest.NewCustomer(t, "127.0.0.2")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if n := placeCalls(ctx, customer, sw.SIPAddr.String(), 10, 2, nil); n != 10 {
		t.Fatalf("%d of 10 calls completed", n)
	}
	waitUntil(t, 10*time.Second, "10 CDRs", func() bool { k, _ := journalKeys(t, sw.journal); return len(k) == 10 })

	dir := fmt.Sprintf("tl-e2e-%08x", rand.Uint32())
	var x struct{ ID string }
	sw.api.do("POST", "/api/v1/exports", map[string]any{"customer_id": customerID, "protocol": "sftp", "host": host, "port": port,
		"username": user, "password": pw, "remote_dir": dir, "format": "csv.gz", "frequency": "daily"}, http.StatusCreated, &x)
	// The password is sealed at rest; the run below opens it.
	docs, err := sw.store.List(ctx, store.Exports)
	if err != nil || len(docs) != 1 || bytes.Contains(docs[0].Data, []byte(pw)) || !bytes.Contains(docs[0].Data, []byte(`"password":"sealed:v1:`)) {
		t.Fatalf("the export as stored: %s, %v", docs, err)
	}
	loc, _ := time.LoadLocation(tz)
	today := time.Now().In(loc).Format(time.DateOnly)
	var run store.ExportRun
	sw.api.do("POST", "/api/v1/exports/"+x.ID+"/run?period="+today, nil, http.StatusOK, &run)
	if run.Status != cdr.RunOK || run.Records != 10 || run.File != "cdrs_"+customerID+"_"+today+".csv.gz" {
		t.Fatalf("run %+v", run)
	}
	var runs struct{ Runs []store.ExportRun }
	sw.api.do("GET", "/api/v1/exports/"+x.ID+"/runs", nil, http.StatusOK, &runs)
	if len(runs.Runs) != 1 || runs.Runs[0].ID != run.ID {
		t.Errorf("runs %+v", runs.Runs)
	}

	sc, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: user, Auth: []ssh.AuthMethod{ssh.Password(pw)},
		HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	c, err := sftp.NewClient(sc)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	defer c.RemoveAll(dir)
	f, err := c.Open(path.Join(dir, run.File))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(zr).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 11 || fmt.Sprint(rows[0]) != "[call_id setup_time callee sip_code sell_cost]" {
		t.Fatalf("file rows %q", rows)
	}
	_, recs := journalKeys(t, sw.journal)
	byID := map[string]cdr.Record{}
	for _, r := range recs {
		byID[r.CallID] = r
	}
	for _, row := range rows[1:] {
		r, ok := byID[row[0]]
		setup, err := time.Parse("2006-01-02T15:04:05.000Z07:00", row[1])
		if !ok || err != nil || setup.UnixMilli() != r.SetupMs || row[2] != r.Callee || row[3] != strconv.Itoa(r.SIPCode) || row[4] != r.SellCost.String() {
			t.Errorf("row %q does not match CDR %+v", row, r)
		}
		if _, off := setup.Zone(); off != func() int { _, o := time.UnixMilli(r.SetupMs).In(loc).Zone(); return o }() {
			t.Errorf("row %q is not in %s", row, tz)
		}
	}
}
