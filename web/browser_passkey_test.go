package web_test

import (
	"context"
	"net/url"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/trunkline/trunkline/web/webtest"
)

// virtualAuthenticator gives the browser a platform authenticator (CDP's
// WebAuthn domain) that holds discoverable credentials and verifies its
// user at once, and returns its id.
func virtualAuthenticator(t *testing.T, ctx context.Context) webauthn.AuthenticatorID {
	t.Helper()
	id, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (webauthn.AuthenticatorID, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return "", err
		}
		res, err := cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
			HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true}})
		return res.AuthenticatorID, err
	})
	if err != nil {
		t.Fatalf("virtual authenticator: %v", err)
	}
	return id
}

// In a real browser with a virtual authenticator: enrol a passkey from
// the account page (the password asked again), sign out, sign in with the
// passkey alone (discoverable) and as the second factor after a
// password; a wrong password gets no passkey ceremony; once removed, the
// passkey signs nobody in.
func TestBrowserPasskey(t *testing.T) {
	srv, _ := panel(t)
	u, _ := url.Parse(srv.URL)
	base := "http://localhost:" + u.Port() // WebAuthn takes no address for a site
	ctx := webtest.Chrome(t)
	virtualAuthenticator(t, ctx)
	text := func(sel string) string { t.Helper(); return webtest.Text(t, ctx, sel) }
	dashboard := func(how string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.WaitVisible(chromedp.CSS(`p.stat`))); err != nil {
			status, _ := chromedp.Run(context.WithoutCancel(ctx), chromedp.Text(chromedp.CSS(`#passkey-status`)))
			t.Fatalf("%s: not on the dashboard: %v (%s)", how, err, status)
		}
	}
	loginPage := func(username, password string) {
		t.Helper()
		steps := []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/login"), chromedp.WaitVisible(chromedp.CSS(`#passkey-signin`))}
		if username != "" {
			steps = append(steps, chromedp.SendKeys(chromedp.CSS(`input[name=username]`), username),
				chromedp.SendKeys(chromedp.CSS(`input[name=password]`), password))
		}
		if err := chromedp.Do(ctx, steps...); err != nil {
			t.Fatal(err)
		}
	}
	signOut := func() {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form.logout button`)), chromedp.WaitVisible(chromedp.CSS(`input[name=username]`))); err != nil {
			t.Fatalf("sign-out: %v", err)
		}
	}
	failedPasskey := func(how string) string {
		t.Helper()
		err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#passkey-signin`)),
			chromedp.Poll[chromedp.Void](`document.getElementById("passkey-status").textContent.startsWith("Not signed in")`))
		if err != nil {
			t.Fatalf("%s: %v (%s)", how, err, text(`#passkey-status`))
		}
		return text(`#passkey-status`)
	}

	loginPage("ops", "a long password")
	if err := chromedp.Do(ctx, chromedp.Submit(chromedp.CSS(`input[name=username]`))); err != nil {
		t.Fatal(err)
	}
	dashboard("password sign-in")
	err := chromedp.Do(ctx,
		chromedp.Navigate(base+"/account"),
		chromedp.SendKeys(chromedp.CSS(`#passkey-add input[name=name]`), "test laptop"),
		chromedp.SendKeys(chromedp.CSS(`#passkey-add input[name=password]`), "a long password"),
		chromedp.Click(chromedp.CSS(`#passkey-add button`)),
		chromedp.WaitVisible(chromedp.CSS(`table.passkeys`)),
	)
	if err != nil {
		t.Fatalf("enrolling a passkey: %v (%s)", err, text(`#passkey-status`))
	}
	webtest.Shot(t, ctx, "passkeys")
	if row := text(`table.passkeys`); !strings.Contains(row, "test laptop") || !strings.Contains(row, "localhost") {
		t.Fatalf("passkeys listed: %s", row)
	}
	signOut()

	loginPage("", "")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#passkey-signin`))); err != nil {
		t.Fatal(err)
	}
	dashboard("passkey sign-in")
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/account"), chromedp.WaitVisible(chromedp.CSS(`table.passkeys`))); err != nil {
		t.Fatal(err)
	}
	if row := text(`table.passkeys`); strings.Contains(row, "never") {
		t.Fatalf("a passkey just used shows no last use: %s", row)
	}
	signOut()

	loginPage("ops", "a wrong password")
	if msg := failedPasskey("a wrong password with the passkey"); !strings.Contains(msg, "wrong username or password") {
		t.Fatalf("a wrong password: %q", msg)
	}
	loginPage("ops", "a long password")
	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`#passkey-signin`))); err != nil {
		t.Fatal(err)
	}
	dashboard("password and passkey")

	err = chromedp.Do(ctx, chromedp.Navigate(base+"/account"),
		chromedp.Click(chromedp.CSS(`table.passkeys button`)), chromedp.WaitVisible(chromedp.CSS(`p.done`)))
	if err != nil || strings.Contains(text("main"), "test laptop") {
		t.Fatalf("removing the passkey: %v", err)
	}
	signOut()
	loginPage("", "")
	failedPasskey("a removed passkey")
}
