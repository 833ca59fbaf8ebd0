package cdr

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jlaffaye/ftp"
	"github.com/pkg/sftp"
	"golang.org/x/crypto/ssh"

	"github.com/trunkline/trunkline/store"
	"github.com/trunkline/trunkline/store/storetest"
)

// exportServer returns host, port, user and password of the test SFTP or
// FTP server from the environment scripts/services.sh prints; it skips
// without them, except in CI.
func exportServer(t *testing.T, protocol string) (string, int, string, string) {
	t.Helper()
	addr := os.Getenv("TRUNKLINE_TEST_" + strings.ToUpper(protocol))
	user, pw := os.Getenv("TRUNKLINE_TEST_EXPORT_USER"), os.Getenv("TRUNKLINE_TEST_EXPORT_PASSWORD")
	if addr == "" || user == "" || pw == "" {
		msg := "TRUNKLINE_TEST_" + strings.ToUpper(protocol) + ` and TRUNKLINE_TEST_EXPORT_USER/PASSWORD are not set; start the servers with: eval "$(scripts/services.sh up)"`
		storetest.Missing(t, msg)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	p, _ := strconv.Atoi(port)
	return host, p, user, pw
}

// fetch downloads dir/name from the export's server and lists dir.
func fetch(t *testing.T, x *store.Export, dir, name string) ([]byte, []string) {
	t.Helper()
	addr := net.JoinHostPort(x.Host, strconv.Itoa(x.Port))
	switch x.Protocol {
	case ProtocolSFTP:
		sc, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: x.Username, Auth: []ssh.AuthMethod{ssh.Password(x.Password)},
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
		f, err := c.Open(path.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		if err != nil {
			t.Fatal(err)
		}
		fis, err := c.ReadDir(dir)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, fi := range fis {
			names = append(names, fi.Name())
		}
		return b, names
	default:
		c, err := ftp.Dial(addr, ftp.DialWithTimeout(5*time.Second))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Quit()
		if err := c.Login(x.Username, x.Password); err != nil {
			t.Fatal(err)
		}
		r, err := c.Retr(path.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(r)
		r.Close()
		if err != nil {
			t.Fatal(err)
		}
		names, err := c.NameList(dir)
		if err != nil {
			t.Fatal(err)
		}
		for i := range names {
			names[i] = path.Base(names[i])
		}
		return b, names
	}
}

// cleanRemote removes dir from the export's server after the test.
func cleanRemote(t *testing.T, x store.Export, dir string) {
	t.Cleanup(func() {
		addr := net.JoinHostPort(x.Host, strconv.Itoa(x.Port))
		if x.Protocol == ProtocolSFTP {
			sc, err := ssh.Dial("tcp", addr, &ssh.ClientConfig{User: x.Username, Auth: []ssh.AuthMethod{ssh.Password(x.Password)},
				HostKeyCallback: ssh.InsecureIgnoreHostKey(), Timeout: 5 * time.Second})
			if err != nil {
				return
			}
			defer sc.Close()
			if c, err := sftp.NewClient(sc); err == nil {
				_ = c.RemoveAll(dir)
				c.Close()
			}
			return
		}
		if c, err := ftp.Dial(addr, ftp.DialWithTimeout(5*time.Second)); err == nil {
			if c.Login(x.Username, x.Password) == nil {
				_ = c.RemoveDirRecur(dir)
			}
			c.Quit()
		}
	})
}

func exportFixture(t *testing.T, tz string, recs []Record) (store.Store, *Journal) {
	t.Helper()
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, exportFixtureIn(t, st, tz, recs)
}

// exportFixtureIn puts customer cust-ny (in timezone tz) in st and recs in
// a new journal, which it returns.
func exportFixtureIn(t *testing.T, st store.Store, tz string, recs []Record) *Journal {
	t.Helper()
	ctx := context.Background()
	if err := store.PutJSON(ctx, st, store.Customers, "cust-ny", store.Customer{ID: "cust-ny", Name: "NY", Currency: "USD", Timezone: tz}); err != nil {
		t.Fatal(err)
	}
	j := openTestJournal(t, t.TempDir())
	for _, r := range recs {
		if err := j.Write(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	return j
}

// boundaryRecords straddle the New York day 2026-03-09 (EDT, UTC-4, the
// day after the DST change): only the two marked in are inside it.
func boundaryRecords() (recs []Record, in []string) {
	at := func(id, customer, utc string) Record {
		r := testRecord(0)
		ts, _ := time.Parse(time.RFC3339, utc)
		r.CallID, r.CustomerID, r.SetupMs = id, customer, ts.UnixMilli()
		r.Final = true // exports carry calls' final CDRs
		return r
	}
	recs = []Record{
		at("before", "cust-ny", "2026-03-09T03:59:59Z"),
		at("first", "cust-ny", "2026-03-09T04:00:00Z"),
		at("last", "cust-ny", "2026-03-10T03:59:59Z"),
		at("after", "cust-ny", "2026-03-10T04:00:00Z"),
		at("other", "cust-other", "2026-03-09T12:00:00Z"),
	}
	return recs, []string{"first", "last"}
}

func readCSV(t *testing.T, b []byte, gz bool) [][]string {
	t.Helper()
	var r io.Reader = bytes.NewReader(b)
	if gz {
		zr, err := gzip.NewReader(r)
		if err != nil {
			t.Fatalf("not gzip: %v", err)
		}
		r = zr
	}
	rows, err := csv.NewReader(r).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return rows
}

func TestExportSFTPDailyInCustomerTimezone(t *testing.T) {
	host, port, user, pw := exportServer(t, ProtocolSFTP)
	recs, want := boundaryRecords()
	// A failed-over attempt inside the day is no line of the file: the
	// customer gets its calls' final CDRs.
	attempt := recs[1]
	attempt.CallID, attempt.Final = "first-attempt", false
	st, j := exportFixture(t, "America/New_York", append(recs, attempt))
	ctx := context.Background()
	dir := fmt.Sprintf("tl-test-%08x/daily", rand.Uint32())
	x := store.Export{ID: "x1", CustomerID: "cust-ny", Protocol: ProtocolSFTP, Host: host, Port: port, Username: user, Password: pw,
		RemoteDir: dir, Fields: []string{"call_id", "setup_time", "sell_cost"}, Format: FormatCSV, Frequency: Daily}
	cleanRemote(t, x, path.Dir(dir))
	if err := store.PutJSON(ctx, st, store.Exports, x.ID, x); err != nil {
		t.Fatal(err)
	}
	now, _ := time.Parse(time.RFC3339, "2026-03-10T15:00:00Z")
	e := NewExporter(st, j, WithClock(func() time.Time { return now }))
	e.tick(ctx)
	runs, err := Runs(ctx, st, x.ID)
	if err != nil || len(runs) != 1 || runs[0].Status != RunOK || runs[0].Period != "2026-03-09" || runs[0].Records != 2 {
		t.Fatalf("runs %+v, %v", runs, err)
	}
	b, names := fetch(t, &x, dir, "cdrs_cust-ny_2026-03-09.csv")
	rows := readCSV(t, b, false)
	wantRows := [][]string{
		{"call_id", "setup_time", "sell_cost"},
		{want[0], "2026-03-09T00:00:00.000-04:00", "0.012300"},
		{want[1], "2026-03-09T23:59:59.000-04:00", "0.012300"},
	}
	if fmt.Sprint(rows) != fmt.Sprint(wantRows) {
		t.Errorf("file:\n got %q\nwant %q", rows, wantRows)
	}
	// The first host key seen is pinned.
	got, _ := store.GetJSON[store.Export](ctx, st, store.Exports, x.ID)
	if !strings.HasPrefix(got.HostKey, "ssh-") {
		t.Errorf("host key not pinned: %q", got.HostKey)
	}
	// A delivered period is not sent again by the schedule...
	e.tick(ctx)
	if runs, _ := Runs(ctx, st, x.ID); len(runs) != 1 {
		t.Fatalf("delivered period ran again: %+v", runs)
	}
	// ...and re-running it replaces the same file.
	run, err := e.RunPeriod(ctx, x.ID, "2026-03-09")
	if err != nil || run.Status != RunOK {
		t.Fatalf("re-run: %+v %v", run, err)
	}
	if runs, _ := Runs(ctx, st, x.ID); len(runs) != 2 {
		t.Errorf("re-run not logged apart: %+v", runs)
	}
	_, names2 := fetch(t, &x, dir, "cdrs_cust-ny_2026-03-09.csv")
	if len(names) != 1 || len(names2) != 1 {
		t.Errorf("remote dir holds %v then %v, want the one file", names, names2)
	}
	// Without fields of its own or a customer field set, an export has
	// every column but the operator's side.
	plain := x
	plain.ID, plain.Fields, plain.RemoteDir = "x1-plain", nil, dir+"-plain"
	cleanRemote(t, plain, path.Dir(dir))
	if err := store.PutJSON(ctx, st, store.Exports, plain.ID, plain); err != nil {
		t.Fatal(err)
	}
	if run, err := e.RunPeriod(ctx, plain.ID, "2026-03-09"); err != nil || run.Status != RunOK || run.Records != 2 {
		t.Fatalf("plain export: %+v %v", run, err)
	}
	b, _ = fetch(t, &plain, plain.RemoteDir, "cdrs_cust-ny_2026-03-09.csv")
	header := readCSV(t, b, false)[0]
	if slices.Contains(header, "buy_cost") || slices.Contains(header, "carrier_id") || !slices.Contains(header, "sell_cost") {
		t.Errorf("a plain export's columns: %v", header)
	}
	// A different pinned key is refused.
	got.HostKey = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
	_ = store.PutJSON(ctx, st, store.Exports, x.ID, got)
	if run, _ := e.RunPeriod(ctx, x.ID, "2026-03-09"); run.Status != RunFailed || !strings.Contains(run.Error, "host key mismatch") {
		t.Errorf("wrong host key: %+v", run)
	}
}

func TestExportFTPWeeklyGzipWithCustomerFields(t *testing.T) {
	host, port, user, pw := exportServer(t, ProtocolFTP)
	recs, _ := boundaryRecords()
	st, j := exportFixture(t, "Asia/Tokyo", recs)
	ctx := context.Background()
	if err := store.PutJSON(ctx, st, store.CDRFieldSets, "cust-ny", store.CDRFieldSet{CustomerID: "cust-ny", Fields: []string{"setup_ms", "call_id"}}); err != nil {
		t.Fatal(err)
	}
	dir := fmt.Sprintf("tl-test-%08x", rand.Uint32())
	x := store.Export{ID: "x2", CustomerID: "cust-ny", Protocol: ProtocolFTP, Host: host, Port: port, Username: user, Password: pw,
		RemoteDir: dir, Format: FormatCSVGz, Frequency: Weekly}
	cleanRemote(t, x, dir)
	if err := store.PutJSON(ctx, st, store.Exports, x.ID, x); err != nil {
		t.Fatal(err)
	}
	// Tokyo week 2026-W11 is Mon 9 March 00:00 +09:00 to Mon 16 March:
	// 2026-03-08T15:00Z .. 2026-03-15T15:00Z holds every cust-ny record.
	now, _ := time.Parse(time.RFC3339, "2026-03-16T00:00:00Z") // Monday 09:00 in Tokyo
	e := NewExporter(st, j, WithClock(func() time.Time { return now }))
	e.tick(ctx)
	runs, _ := Runs(ctx, st, x.ID)
	if len(runs) != 1 || runs[0].Status != RunOK || runs[0].Period != "2026-W11" || runs[0].Records != 4 {
		t.Fatalf("runs %+v", runs)
	}
	b, names := fetch(t, &x, dir, "cdrs_cust-ny_2026-W11.csv.gz")
	rows := readCSV(t, b, true)
	if len(rows) != 5 || fmt.Sprint(rows[0]) != "[setup_ms call_id]" || rows[1][1] != "before" || rows[4][1] != "after" {
		t.Errorf("file rows %q", rows)
	}
	if len(names) != 1 {
		t.Errorf("remote dir %v, want only the file", names)
	}
	if run, err := e.RunPeriod(ctx, x.ID, "2026-W11"); err != nil || run.Status != RunOK {
		t.Fatalf("re-run: %+v %v", run, err)
	}
	if _, names := fetch(t, &x, dir, "cdrs_cust-ny_2026-W11.csv.gz"); len(names) != 1 {
		t.Errorf("after re-run remote dir %v, want only the file", names)
	}
}

func TestExportRetriesWithBackoff(t *testing.T) {
	// Nothing listens on a port just closed: every attempt fails at once.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	st, j := exportFixture(t, "", nil)
	ctx := context.Background()
	x := store.Export{ID: "x3", CustomerID: "cust-ny", Protocol: ProtocolFTP, Host: "127.0.0.1", Port: port, Username: "u", Password: "p",
		RemoteDir: "tl-never", Format: FormatCSV, Frequency: Monthly}
	if err := store.PutJSON(ctx, st, store.Exports, x.ID, x); err != nil {
		t.Fatal(err)
	}
	now, _ := time.Parse(time.RFC3339, "2026-04-01T00:00:01Z")
	e := NewExporter(st, j, WithClock(func() time.Time { return now }), WithExportBackoff(time.Minute, 10*time.Minute))
	for _, step := range []struct {
		advance time.Duration
		runs    int
	}{{0, 1}, {30 * time.Second, 1}, {31 * time.Second, 2}, {time.Minute, 2}, {time.Minute, 3}} {
		now = now.Add(step.advance)
		e.tick(ctx)
		runs, _ := Runs(ctx, st, x.ID)
		if len(runs) != step.runs {
			t.Fatalf("at %s: %d runs, want %d", now.Format(time.TimeOnly), len(runs), step.runs)
		}
		if last := runs[len(runs)-1]; last.Status != RunFailed || last.Period != "2026-03" || last.Error == "" {
			t.Fatalf("run %+v", last)
		}
	}
}

func TestPeriods(t *testing.T) {
	ny, _ := time.LoadLocation("America/New_York")
	now, _ := time.Parse(time.RFC3339, "2026-03-10T03:00:00Z") // 23:00 on 9 March in New York
	for _, tt := range []struct{ freq, name, from, to string }{
		{Daily, "2026-03-08", "2026-03-08T00:00:00-05:00", "2026-03-09T00:00:00-04:00"}, // 23 hours
		{Weekly, "2026-W10", "2026-03-02T00:00:00-05:00", "2026-03-09T00:00:00-04:00"},
		{Monthly, "2026-02", "2026-02-01T00:00:00-05:00", "2026-03-01T00:00:00-05:00"},
	} {
		p, err := LastClosedPeriod(tt.freq, now, ny)
		if err != nil || p.Name != tt.name || p.From.Format(time.RFC3339) != tt.from || p.To.Format(time.RFC3339) != tt.to {
			t.Errorf("%s: %+v %v", tt.freq, p, err)
		}
		q, err := ParsePeriod(tt.freq, tt.name, ny)
		if err != nil || !q.From.Equal(p.From) || !q.To.Equal(p.To) || q.Name != p.Name {
			t.Errorf("ParsePeriod(%s, %s) = %+v %v", tt.freq, tt.name, q, err)
		}
	}
	if p, err := ParsePeriod(Weekly, "2021-W01", time.UTC); err != nil || p.From.Format(time.DateOnly) != "2021-01-04" {
		t.Errorf("2021-W01: %+v %v", p, err)
	}
	for _, bad := range [][2]string{{Daily, "2026-13-01"}, {Weekly, "2026-W54"}, {Weekly, "2021-W53"}, {Monthly, "2026"}, {"hourly", "x"}} {
		if _, err := ParsePeriod(bad[0], bad[1], time.UTC); err == nil {
			t.Errorf("ParsePeriod(%q, %q) accepted", bad[0], bad[1])
		}
	}
}

// A customer without a timezone has its export periods cut in the
// switch's (WithDefaultTimezone), one with a timezone in its own.
func TestExportDefaultTimezone(t *testing.T) {
	st, err := store.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := t.Context()
	store.PutJSON(ctx, st, store.Customers, "plain", store.Customer{ID: "plain", Name: "P", Currency: "USD"})
	store.PutJSON(ctx, st, store.Customers, "ny", store.Customer{ID: "ny", Name: "N", Currency: "USD", Timezone: "America/New_York"})
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	e := NewExporter(st, nil, WithDefaultTimezone(tokyo))
	if loc, err := e.location(ctx, "plain"); err != nil || loc != tokyo {
		t.Fatalf("customer without a timezone: %v %v", loc, err)
	}
	if loc, err := e.location(ctx, "ny"); err != nil || loc.String() != "America/New_York" {
		t.Fatalf("customer with one: %v %v", loc, err)
	}
	if loc, _ := NewExporter(st, nil).location(ctx, "plain"); loc != time.UTC {
		t.Fatalf("no default: %v", loc)
	}
}
