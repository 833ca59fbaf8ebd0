package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trunkline/trunkline/web/webtest"
)

// The getting-started path in a real browser on a running switch: an
// operator signs in and fills the quickstart; sipp places a call through
// what it made, which shows on the dashboard and the live-calls page
// while up and on the CDR page once ended; a payment moves the balance
// and the ledger; a deck is checked with its report. A form another site
// posts into the panel changes nothing. The customer's user, on the
// portal's domain, sees its call and nothing of the carrier's.
func TestBrowserFirstCall(t *testing.T) {
	sippPath(t)
	t.Parallel()
	sw := startSwitch(t)
	sw.api.create("/api/v1/users", map[string]any{"username": "noc", "password": "a long password", "role": "admin"})
	ctx := webtest.Chrome(t)
	base := sw.api.base
	do := func(what string, steps ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, steps...); err != nil {
			body, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Text(chromedp.CSS("body")))
			t.Fatalf("%s: %v\n%s", what, err, tail(body, 1500))
		}
	}
	pageShows := func(what, path, sel, want string) {
		t.Helper()
		deadline := time.Now().Add(8 * time.Second)
		for {
			do(what, chromedp.Navigate(base+path), chromedp.WaitVisible(chromedp.CSS(sel)))
			got := webtest.Text(t, ctx, sel)
			if strings.Contains(got, want) {
				return
			}
			if time.Now().After(deadline) {
				t.Fatalf("%s: %q not in %q", what, want, got)
			}
			time.Sleep(300 * time.Millisecond)
		}
	}

	do("sign-in", chromedp.Navigate(base+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "noc"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long password"),
		chromedp.Submit(chromedp.CSS(`input[name=username]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.stat`)))

	carrierPort := freeUDPPort(t, "127.0.0.1")
	next := chromedp.Click(chromedp.CSS(`button[name=step][value]:last-of-type`))
	do("the quickstart wizard", chromedp.Navigate(base+"/quickstart"),
		chromedp.SendKeys(chromedp.CSS(`input[name=carrier_name]`), "First Carrier"),
		chromedp.SendKeys(chromedp.CSS(`input[name=carrier_host]`), "127.0.0.1"),
		chromedp.SetValue(chromedp.CSS(`input[name=carrier_port]`), strconv.Itoa(carrierPort)),
		next, chromedp.WaitVisible(chromedp.CSS(`textarea[name=rates]`)),
		chromedp.SetValue(chromedp.CSS(`textarea[name=rates]`), "prefix,rate,description\n1,0.0100,North America\n"),
		next, chromedp.WaitVisible(chromedp.CSS(`input[name=customer_name]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=customer_name]`), "First Customer"),
		chromedp.SendKeys(chromedp.CSS(`input[name=ip]`), "127.0.0.2"),
		next, chromedp.WaitVisible(chromedp.CSS(`input[name=payment]`)),
		chromedp.SendKeys(chromedp.CSS(`input[name=payment]`), "10.00"),
		chromedp.Click(chromedp.CSS(`button[name=make]`)),
		chromedp.WaitVisible(chromedp.CSS(`div.done`)))
	webtest.Shot(t, ctx, "quickstart")

	uas := startSipp(t, scenario(t, "sipp/uas.xml"), "127.0.0.1", carrierPort)
	time.Sleep(100 * time.Millisecond)
	uac := startSipp(t, scenario(t, "sipp/uac.xml"), "127.0.0.2", freeUDPPort(t, "127.0.0.2"),
		"-s", "12125550100", "-d", "6000", sw.SIPAddr.String())
	pageShows("the dashboard with the call up", "/", "p.stat", "1 calls in progress")
	webtest.Shot(t, ctx, "dashboard-call")
	pageShows("the live call", "/calls", "main", "12125550100")
	webtest.Shot(t, ctx, "calls")
	uac.wait(t, "customer")
	uas.wait(t, "carrier")
	pageShows("the CDR", "/cdrs", "main", "12125550100")
	webtest.Shot(t, ctx, "cdrs")
	// The dashboard's charts count it: one call in ten minutes, answered.
	pageShows("the charts", "/", "div.charts", "Calls a minute now 0.10")
	if charts := webtest.Text(t, ctx, "div.charts"); !strings.Contains(charts, "ASR % now 100.00") {
		t.Fatalf("the charts after one answered call:\n%s", charts)
	}
	webtest.Shot(t, ctx, "dashboard")

	do("the carrier", chromedp.Navigate(base+"/carriers"), chromedp.Click(chromedp.CSS(`main table a`)),
		chromedp.WaitVisible(chromedp.CSS(`table.endpoints`)))
	if eps := webtest.Text(t, ctx, "table.endpoints"); !strings.Contains(eps, "127.0.0.1:"+strconv.Itoa(carrierPort)) {
		t.Fatalf("the carrier's endpoints: %s", eps)
	}
	webtest.Shot(t, ctx, "carrier")

	var cs struct{ Customers []struct{ ID string } }
	sw.api.do("GET", "/api/v1/customers", nil, http.StatusOK, &cs)
	id := cs.Customers[0].ID
	do("a payment", chromedp.Navigate(base+"/customers/"+id),
		chromedp.SendKeys(chromedp.CSS(`input[name=total]`), "5.00"),
		chromedp.Submit(chromedp.CSS(`input[name=total]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.done`)))
	page := webtest.Text(t, ctx, "main")
	if !strings.Contains(page, "Payment recorded") || strings.Count(page, "payment") < 2 || !strings.Contains(page, "charge") {
		t.Fatalf("the customer's page after a payment:\n%s", page)
	}
	before := money(t, sw.api, id)
	webtest.Shot(t, ctx, "customer")

	var cards struct {
		RateCards []struct{ ID, Kind string } `json:"ratecards"`
	}
	sw.api.do("GET", "/api/v1/ratecards", nil, http.StatusOK, &cards)
	provider := ""
	for _, c := range cards.RateCards {
		if c.Kind == "provider" {
			provider = c.ID
		}
	}
	do("a deck checked", chromedp.Navigate(base+"/ratecards"),
		chromedp.Click(chromedp.CSS(`a[href="/ratecards/`+provider+`/rates"]`)),
		chromedp.WaitVisible(chromedp.CSS(`textarea[name=deck]`)),
		chromedp.SetValue(chromedp.CSS(`textarea[name=deck]`), "prefix,rate\n1,0.0050\n1212,ten cents\n"),
		chromedp.Click(chromedp.CSS(`button[value=check]`)),
		chromedp.WaitVisible(chromedp.CSS(`table.report`)))
	if rep := webtest.Text(t, ctx, "table.report"); !strings.Contains(rep, "ten cents") || !strings.Contains(rep, "3") {
		t.Fatalf("the deck's report: %s", rep)
	}
	webtest.Shot(t, ctx, "deck-report")

	// Another site's page posts a payment form into the panel: the
	// session cookie (SameSite=Strict) stays home and nothing is paid.
	evil := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprintf(w, `<form method="post" action="%s/customers/%s/payments"><input name="total" value="999.00"><input name="payment_key" value="x"></form>
<script>document.forms[0].submit()</script>`, base, id)
	}))
	defer evil.Close()
	eu, _ := url.Parse(evil.URL)
	do("a forged form", chromedp.Navigate("http://evil.example.test:"+eu.Port()+"/"),
		chromedp.Poll[chromedp.Void](`location.href.includes("/payments")`))
	if body := webtest.Text(t, ctx, "body"); !strings.Contains(body, "sign in first") {
		t.Fatalf("the forged form's answer: %s", body)
	}
	if after := money(t, sw.api, id); after.Balance != before.Balance || len(after.Entries) != len(before.Entries) {
		t.Fatalf("a forged form moved money: %+v, before %+v", after, before)
	}

	// The customer's portal, on its own domain.
	sw.api.create("/api/v1/domains", map[string]any{"host": "portal.example.test", "area": "portal", "brand": "First Voice", "colour": "#7a1f5c"})
	sw.api.create("/api/v1/users", map[string]any{"username": "first", "password": "a long password", "role": "customer", "customer_id": id})
	au, _ := url.Parse(base)
	portal := "http://portal.example.test:" + au.Port()
	do("the portal's sign-in", chromedp.Navigate(portal+"/login"),
		chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "first"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long password"),
		chromedp.Submit(chromedp.CSS(`input[name=username]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.stat`)))
	webtest.Shot(t, ctx, "portal")
	do("the portal's CDRs", chromedp.Navigate(portal+"/cdrs"), chromedp.WaitVisible(chromedp.CSS(`table`)))
	cdrs := webtest.Text(t, ctx, "body")
	if !strings.Contains(cdrs, "12125550100") || strings.Contains(cdrs, "First Carrier") || strings.Contains(cdrs, "buy") || strings.Contains(cdrs, "margin") {
		t.Fatalf("the portal's CDRs:\n%s", cdrs)
	}
	webtest.Shot(t, ctx, "portal-cdrs")
}
