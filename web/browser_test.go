package web_test

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/web/webtest"
)

// In a real browser: sign in with a password, see the customer's
// warnings, set up two-factor by the page's secret, sign out, and sign in
// again with password and code; a wrong code is refused.
func TestBrowserSignInWithTOTP(t *testing.T) {
	srv, _ := panel(t)
	ctx := webtest.Chrome(t)
	signIn := func(code string) error {
		steps := []chromedp.Action[chromedp.Void]{
			chromedp.Navigate(srv.URL + "/login"),
			chromedp.WaitVisible(chromedp.CSS(`input[name=username]`)),
			chromedp.SendKeys(chromedp.CSS(`input[name=username]`), "ops"),
			chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "a long password"),
		}
		if code != "" {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS(`input[name=totp]`), code))
		}
		return chromedp.Do(ctx, append(steps, chromedp.Submit(chromedp.CSS(`input[name=username]`)))...)
	}
	text := func(sel string) string { t.Helper(); return webtest.Text(t, ctx, sel) }
	if err := signIn(""); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`p.stat`))); err != nil {
		loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
		t.Fatalf("the dashboard: %v (at %s)", err, loc)
	}
	webtest.Shot(t, ctx, "dashboard")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/customers"), chromedp.WaitVisible(chromedp.CSS(`table`))); err != nil {
		t.Fatalf("the customers page: %v", err)
	}
	webtest.Shot(t, ctx, "customers")
	if body := text("main"); !strings.Contains(body, "Lacking Ltd") || !strings.Contains(body, "no ingress route") {
		t.Fatalf("customers page: %s", body)
	}
	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+"/account"),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`img[alt^="QR code"]`)),
	)
	if err != nil {
		t.Fatalf("two-factor set-up: %v", err)
	}
	webtest.Shot(t, ctx, "two-factor")
	secret := text(`code.totp-secret`)
	if !regexp.MustCompile(`^[A-Z2-7]{16,}$`).MatchString(secret) {
		t.Fatalf("the page's secret %q", secret)
	}
	code, _ := auth.TOTPCode(secret, time.Now())
	err = chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS(`input[name=code]`), code),
		chromedp.Submit(chromedp.CSS(`input[name=code]`)),
		chromedp.WaitVisible(chromedp.CSS(`p.done`)),
	)
	if err != nil || !strings.Contains(text("p.done"), "Two-factor is on") {
		t.Fatalf("two-factor confirm: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))); err != nil {
		t.Fatalf("sign-out: %v", err)
	}
	// With a wrong code: refused. With a fresh one: in.
	if err := signIn("123456"); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`p.problem`))); err != nil || !strings.Contains(text("p.problem"), "wrong") {
		t.Fatalf("sign-in with a wrong code: %v", err)
	}
	next, _ := auth.TOTPCode(secret, time.Now().Add(30*time.Second)) // not the step just used
	if err := signIn(next); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`p.stat`))); err != nil {
		t.Fatalf("sign-in with password and code: %v", err)
	}
}
