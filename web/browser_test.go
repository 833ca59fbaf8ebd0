package web_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/trunkline/trunkline/auth"
	"github.com/trunkline/trunkline/store/storetest"
)

// chrome starts a headless Chromium for the test (Debian's chromium,
// which scripts/services.sh installs) and returns its context.
func chrome(t *testing.T) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		storetest.Missing(t, "chromium not found; scripts/services.sh installs it")
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(path), chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-dev-shm-usage", true), chromedp.UserDataDir(t.TempDir()))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancel2 := chromedp.NewContext(actx)
	t.Cleanup(cancel2)
	if err := chromedp.Do(ctx); err != nil { // starts the browser, with no deadline
		t.Fatalf("starting chromium: %v", err)
	}
	ctx, cancel3 := context.WithTimeout(ctx, 60*time.Second)
	t.Cleanup(cancel3)
	return ctx
}

// shot saves a screenshot of the page to $TRUNKLINE_SCREENSHOTS/name.jpg
// when that directory is set (the README's pictures are made so).
func shot(t *testing.T, ctx context.Context, name string) {
	dir := os.Getenv("TRUNKLINE_SCREENSHOTS")
	if dir == "" {
		return
	}
	buf, err := chromedp.Run(ctx, chromedp.FullScreenshot(90))
	if err == nil {
		err = os.WriteFile(filepath.Join(dir, name+".jpg"), buf, 0o644)
	}
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
	}
}

// In a real browser: sign in with a password, see the customer's
// warnings, set up two-factor by the page's secret, sign out, and sign in
// again with password and code; a wrong code is refused.
func TestBrowserSignInWithTOTP(t *testing.T) {
	srv, _ := panel(t)
	ctx := chrome(t)
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
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	if err := signIn(""); err != nil {
		t.Fatalf("sign-in: %v", err)
	}
	if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`p.stat`))); err != nil {
		loc, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Location())
		t.Fatalf("the dashboard: %v (at %s)", err, loc)
	}
	shot(t, ctx, "dashboard")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/customers"), chromedp.WaitVisible(chromedp.CSS(`table`))); err != nil {
		t.Fatalf("the customers page: %v", err)
	}
	shot(t, ctx, "customers")
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
	shot(t, ctx, "two-factor")
	secret := text(`main section:nth-of-type(2) p code`)
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
