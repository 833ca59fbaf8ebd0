package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/rating"
)

// benchCDRs is how many CDRs the CDR pages are measured over.
const benchCDRs = 1_000_000

// BenchmarkCDRPages1M renders the CDR page (the newest 100, then one
// customer's), and the dashboard (whose charts summarise the last six
// hours), over 1,000,000 CDRs in ClickHouse (TRUNKLINE_TEST_CLICKHOUSE;
// the table is kept between runs: the first fills it).
//
//	go test ./web -run XXX -bench CDRPages -benchtime 20x
func BenchmarkCDRPages1M(b *testing.B) {
	addr := os.Getenv("TRUNKLINE_TEST_CLICKHOUSE")
	if addr == "" {
		b.Skip("TRUNKLINE_TEST_CLICKHOUSE is not set")
	}
	ctx := context.Background()
	ch, err := cdr.NewClickHouse("clickhouse://"+addr+"/default", cdr.WithTable("trunkline_bench_panel_cdrs"))
	if err != nil {
		b.Fatal(err)
	}
	defer ch.Close()
	if err := ch.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	rows, err := ch.Summary(ctx, cdr.SummaryQuery{Group: cdr.GroupCarrier})
	if err != nil {
		b.Fatal(err)
	}
	var have int64
	for _, r := range rows {
		have += r.Attempts
	}
	if have < benchCDRs {
		fillCDRs(b, ch, benchCDRs)
	}
	srv, _, _ := panelOver(b, ch)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	res, err := c.Get(srv.URL + "/login")
	if err != nil {
		b.Fatal(err)
	}
	csrf := csrfRE.FindStringSubmatch(readAll(res))[1]
	res, err = c.PostForm(srv.URL+"/login", url.Values{"csrf": {csrf}, "username": {"ops"}, "password": {"a long password"}})
	if err != nil {
		b.Fatal(err)
	}
	res.Body.Close()
	for _, path := range []string{"/cdrs", "/cdrs?customer=c00042", "/"} {
		b.Run(path, func(b *testing.B) {
			for range b.N {
				res, err := c.Get(srv.URL + path)
				if err != nil || res.StatusCode != 200 {
					b.Fatalf("%s: %v %v", path, res.Status, err)
				}
				readAll(res)
			}
		})
	}
}

// fillCDRs writes n CDRs of 10,000 customers and 50 carriers, set up over
// the last 30 days, a third unanswered.
func fillCDRs(b *testing.B, ch *cdr.ClickHouse, n int) {
	now := time.Now().UnixMilli()
	span := int64(30 * 24 * time.Hour / time.Millisecond)
	batch := make([]cdr.Record, 0, 100_000)
	for i := range n {
		setup := now - span + int64(i)*span/int64(n)
		r := cdr.Record{CallID: fmt.Sprintf("bench-%08d", i), Attempt: 1, Final: true, Node: "bench",
			CustomerID: fmt.Sprintf("c%05d", i%10_000), AuthMethod: "ip", CarrierID: fmt.Sprintf("k%02d", i%50),
			SourceIP: "192.0.2.10", Caller: "442071234567", Callee: fmt.Sprintf("49151%07d", i%10_000_000), Prefix: "49151",
			SetupMs: setup, EndMs: setup + 30_000, PDDMs: int64(800 + i%900), SIPCode: 486, Reason: "Busy Here",
			HangupSide: "carrier", Currency: "EUR", SIPCallID: fmt.Sprintf("%x@pbx.example", i)}
		if i%3 != 0 {
			r.AnswerMs, r.EndMs, r.Duration, r.Billed, r.SIPCode, r.Reason = setup+2_000, setup+62_000, 60, 60, 200, "OK"
			r.SellRate, r.SellCost, r.BuyRate, r.BuyCost, r.Margin = rating.Money(12_300), rating.Money(12_300), rating.Money(9_000), rating.Money(-9_000), rating.Money(3_300)
		}
		batch = append(batch, r)
		if len(batch) == cap(batch) || i == n-1 {
			if err := ch.WriteBatch(context.Background(), batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
}
