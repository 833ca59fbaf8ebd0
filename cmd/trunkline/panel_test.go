package main

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/trunkline/trunkline/sip/siptest"
)

// The panel on a running switch: an operator signs in, sees a held call
// on the live-calls page and hangs it up from there (BYE on both legs);
// the CDR page then lists it.
func TestPanelLiveCallHangup(t *testing.T) {
	t.Parallel()
	sw := startSwitch(t)
	carrier := siptest.NewCarrier(t, "127.0.0.1", scriptFor(0))
	provision(t, sw, carrier, carrier)
	sw.api.create("/api/v1/users", map[string]any{"username": "noc", "password": "a long password", "role": "admin"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := siptest.NewCustomer(t, "127.0.0.2").Dial(ctx, sw.SIPAddr.String(), numAnswer)
	if err != nil {
		t.Fatal(err)
	}

	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar}
	csrfRE := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	page := func(path string) (string, string) {
		t.Helper()
		res, err := browser.Get(sw.api.base + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		m := csrfRE.FindStringSubmatch(string(b))
		if m == nil {
			return string(b), ""
		}
		return string(b), m[1]
	}
	_, csrf := page("/login")
	res, err := browser.PostForm(sw.api.base+"/login", url.Values{"csrf": {csrf}, "username": {"noc"}, "password": {"a long password"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	body, csrf := page("/calls")
	hangup := regexp.MustCompile(`action="/calls/([^/"]+)/hangup"`).FindStringSubmatch(body)
	if !strings.Contains(body, numAnswer) || hangup == nil {
		t.Fatalf("the live-calls page with a call up:\n%s", body)
	}
	res, err = browser.PostForm(sw.api.base+"/calls/"+hangup[1]+"/hangup", url.Values{"csrf": {csrf}})
	if err != nil || res.StatusCode != http.StatusOK {
		t.Fatalf("hang-up from the panel: %v %v", res.Status, err)
	}
	res.Body.Close()
	if err := call.WaitBye(ctx); err != nil {
		t.Fatalf("the customer got no BYE after the panel's hang-up: %v", err)
	}
	if err := carrier.WaitBye(ctx, hangup[1]); err != nil {
		t.Fatalf("the carrier got no BYE: %v", err)
	}
	waitUntil(t, 5*time.Second, "the CDR on the CDR page", func() bool {
		body, _ := page("/cdrs")
		return strings.Contains(body, numAnswer)
	})
}
