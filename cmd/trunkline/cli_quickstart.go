package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

// listFlag is a flag that may be given many times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

// quickstartCmd makes the getting-started set through a running switch's
// API (POST /api/v1/quickstart) and prints what it made.
func quickstartCmd(args []string, stdout, stderr io.Writer) error {
	fs := newFlags("quickstart", "quickstart -token T -carrier-name N -carrier-host H -rate 44=0.01 -customer-name C -ip A [flags]", stdout, stderr)
	addr := fs.String("admin", DefaultAdminListen, "admin API `host:port` of the running switch")
	token := fs.String("token", "", "admin API `token`")
	var in admin.QuickstartInput
	fs.StringVar(&in.Currency, "currency", "USD", "ISO 4217 `code` of everything made")
	fs.StringVar(&in.Carrier.Name, "carrier-name", "", "the carrier's `name`")
	fs.StringVar(&in.Carrier.Host, "carrier-host", "", "the carrier's SIP `host` (address or name)")
	fs.IntVar(&in.Carrier.Port, "carrier-port", 5060, "the carrier's SIP `port`")
	fs.StringVar(&in.Carrier.Transport, "carrier-transport", "udp", "udp or tcp")
	var rates listFlag
	fs.Var(&rates, "rate", "a carrier rate per minute as `prefix=rate` (44=0.0120); repeat for more")
	ratesFile := fs.String("rates", "", "the carrier's rates as a CSV deck `file` instead of -rate")
	markup := fs.String("markup", "20%", "the customer's price from the carrier's: `N%` more, +N more a minute, or =N a minute")
	fs.StringVar(&in.Customer.Name, "customer-name", "", "the customer's `name`")
	fs.StringVar(&in.Customer.TaxPercent, "tax", "", "the customer's tax `percent` on payments")
	fs.StringVar(&in.Customer.CreditLimit, "credit-limit", "", "`amount` the balance may go below 0; 0 is prepaid (default: no credit control)")
	fs.StringVar(&in.Customer.IP, "ip", "", "an `address` or CIDR the customer's calls come from")
	sipUser := fs.String("sip-user", "", "a SIP user for the customer, as `user:password`")
	fs.StringVar(&in.Payment, "payment", "", "a first payment, gross `amount`")
	key := fs.String("request-key", "", "request `key`: running the same quickstart again with it makes nothing more")
	if err := parseFlags(fs, args, stdout); err != nil {
		return err
	}
	if *token == "" {
		return errors.New("quickstart: -token (or TRUNKLINE_TOKEN) is required")
	}
	for _, r := range rates {
		prefix, rate, ok := strings.Cut(r, "=")
		if !ok {
			return fmt.Errorf("quickstart: -rate %q: want prefix=rate", r)
		}
		in.Rates = append(in.Rates, store.Rate{Prefix: prefix, PerMinute: rate})
	}
	if *ratesFile != "" {
		b, err := os.ReadFile(*ratesFile)
		if err != nil {
			return err
		}
		in.RatesCSV = string(b)
	}
	switch m := *markup; {
	case strings.HasSuffix(m, "%"):
		in.Markup = &store.Markup{Kind: "percent", Value: strings.TrimSuffix(m, "%")}
	case strings.HasPrefix(m, "+"):
		in.Markup = &store.Markup{Kind: "fixed", Value: strings.TrimPrefix(m, "+")}
	case strings.HasPrefix(m, "="):
		in.Markup = &store.Markup{Kind: "sell", Value: strings.TrimPrefix(m, "=")}
	default:
		return fmt.Errorf("quickstart: -markup %q: want N%%, +N or =N", m)
	}
	if *sipUser != "" {
		u, p, ok := strings.Cut(*sipUser, ":")
		if !ok {
			return errors.New("quickstart: -sip-user: want user:password")
		}
		in.Customer.SIPUser = &struct {
			Username string `json:"username"`
			Password string `json:"password"`
		}{u, p}
	}
	body, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequest("POST", "http://"+localAddr(*addr)+"/api/v1/quickstart", bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	req.Header.Set("Content-Type", "application/json")
	if *key != "" {
		req.Header.Set("Idempotency-Key", *key)
	}
	res, err := (&http.Client{Timeout: time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("quickstart: %w", err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	var pretty bytes.Buffer
	if json.Indent(&pretty, out, "", "  ") != nil {
		pretty.Write(out)
	}
	if res.StatusCode >= 300 {
		return fmt.Errorf("quickstart: %s: %s", res.Status, strings.TrimSpace(pretty.String()))
	}
	fmt.Fprintln(stdout, pretty.String())
	return nil
}

// localAddr is addr to dial: a wildcard listen address means this host.
func localAddr(addr string) string {
	if strings.HasPrefix(addr, ":") || strings.HasPrefix(addr, "0.0.0.0:") || strings.HasPrefix(addr, "[::]:") {
		return "127.0.0.1:" + addr[strings.LastIndexByte(addr, ':')+1:]
	}
	return addr
}
