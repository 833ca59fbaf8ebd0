package admin

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/trunkline/trunkline/store"
)

// QuickstartInput is the body of POST /api/v1/quickstart: the getting
// started set in one request: a carrier and its endpoint, its provider
// card and rates, a customer card marking them up, a customer with its
// tax, an IP address or a SIP user, its route, and a first payment.
type QuickstartInput struct {
	Currency string `json:"currency"`
	Carrier  struct {
		Name      string `json:"name"`
		Host      string `json:"host"`
		Port      int    `json:"port,omitempty"`
		Transport string `json:"transport,omitempty"`
	} `json:"carrier"`
	// Rates are the carrier's (provider) rates, inline; RatesCSV the same
	// as a CSV deck (as POST /ratecards/{id}/rates takes it). One of them.
	Rates    []store.Rate `json:"rates,omitempty"`
	RatesCSV string       `json:"rates_csv,omitempty"`
	// Markup prices the customer card from the provider card (default:
	// 20 percent).
	Markup   *store.Markup `json:"markup,omitempty"`
	Customer struct {
		Name        string `json:"name"`
		TaxPercent  string `json:"tax_percent,omitempty"`
		CreditLimit string `json:"credit_limit,omitempty"` // "" none, "0" prepaid
		IP          string `json:"ip,omitempty"`           // an address or CIDR its calls come from
		SIPUser     *struct {
			Username string `json:"username"`
			Password string `json:"password"`
		} `json:"sip_user,omitempty"`
	} `json:"customer"`
	Payment string `json:"payment,omitempty"` // a first completed payment (gross)
}

// QuickstartResult is what a quickstart made.
type QuickstartResult struct {
	CarrierID      string               `json:"carrier_id"`
	EndpointID     string               `json:"endpoint_id"`
	ProviderCardID string               `json:"provider_card_id"`
	CustomerCardID string               `json:"customer_card_id"`
	CustomerID     string               `json:"customer_id"`
	IPID           string               `json:"ip_id,omitempty"`
	SIPUserID      string               `json:"sip_user_id,omitempty"`
	RouteID        string               `json:"route_id"`
	PaymentID      string               `json:"payment_id,omitempty"`
	Warnings       map[string][]Warning `json:"warnings"` // "customer", "carrier"
}

// quickstartRecord keeps a quickstart's result under its request key.
type quickstartRecord struct {
	ID     string           `json:"id"`
	Body   string           `json:"body_sha256"`
	Result QuickstartResult `json:"result"`
}

// quickstart serves POST /api/v1/quickstart. Each piece is made through
// the API's own route (so the same checks apply, and each is audited); a
// failing piece undoes those made before it, so the set is made whole or
// not at all, and the answer names the piece and the field. With a
// request key (Idempotency-Key, or request_key in the query) a repeated
// request answers the first one's result (200) instead of making another
// set; the same key with another body is a conflict.
func (s *Server) quickstart(w http.ResponseWriter, r *http.Request) error {
	var raw json.RawMessage
	if err := decodeBody(w, r, maxRatesBody, &raw); err != nil {
		return err
	}
	var in QuickstartInput
	if err := decodeJSON(bytes.NewReader(raw), &in); err != nil {
		return err
	}
	key, err := idempotencyKey(r)
	if err != nil {
		return err
	}
	if key == "" {
		key = r.URL.Query().Get("request_key")
	}
	sum := sha256.Sum256(raw)
	s.quickMu.Lock()
	defer s.quickMu.Unlock()
	var recID string
	if key != "" {
		// A key is the caller's: another's same key is another request.
		p := principalOf(r)
		who := p.userID
		if who == "" {
			who = "token " + p.tokenID // a token of no user: its own
		}
		k := sha256.Sum256([]byte(who + "\x00" + key))
		recID = "qs" + hex.EncodeToString(k[:12])
		if lk, ok := s.st.(store.Locker); ok {
			// On a cluster the same request may reach another node: one
			// runs it, the other answers what it made (or 409 meanwhile).
			release, got, err := lk.TryLock(r.Context(), "quickstart:"+recID, 2*time.Minute)
			if err != nil {
				return err
			}
			if !got {
				return errConflict("Idempotency-Key", "a quickstart with this key is under way; try again")
			}
			defer release()
		}
		old, err := store.GetJSON[quickstartRecord](r.Context(), s.st, store.Quickstarts, recID)
		switch {
		case err == nil && old.Body == hex.EncodeToString(sum[:]):
			writeJSON(w, http.StatusOK, old.Result)
			return nil
		case err == nil:
			return errConflict("Idempotency-Key", "was used for another quickstart")
		case !isNotFound(err):
			return err
		}
	}
	if err := in.check(); err != nil {
		return err
	}
	q := &quickRun{s: s, r: r}
	res, err := q.run(&in)
	if err != nil {
		q.undo()
		return err
	}
	idx, err := s.configIndex(r.Context())
	if err == nil {
		c, _ := load[store.Customer](r.Context(), s.st, store.Customers, "customer", res.CustomerID)
		v, _ := s.viewCustomer(r.Context(), c, time.Now())
		car, _ := load[store.Carrier](r.Context(), s.st, store.Carriers, "carrier", res.CarrierID)
		res.Warnings = map[string][]Warning{"customer": v.Warnings, "carrier": s.carrierWarnings(idx, car)}
	}
	if recID != "" {
		rec := quickstartRecord{ID: recID, Body: hex.EncodeToString(sum[:]), Result: res}
		if err := store.PutJSON(context.WithoutCancel(r.Context()), s.st, store.Quickstarts, recID, rec); err != nil {
			s.log.Error("quickstart made, its request key not stored", "error", err)
		}
	}
	s.log.Info("quickstart", "customer", res.CustomerID, "carrier", res.CarrierID)
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// check refuses what is plainly missing before anything is made.
func (in *QuickstartInput) check() error {
	switch {
	case in.Currency == "":
		return errInvalid("currency", "required")
	case in.Carrier.Name == "" || in.Carrier.Host == "":
		return errInvalid("carrier", "name and host are required")
	case len(in.Rates) == 0 && strings.TrimSpace(in.RatesCSV) == "":
		return errInvalid("rates", "give the carrier's rates, as rates or rates_csv")
	case len(in.Rates) > 0 && in.RatesCSV != "":
		return errInvalid("rates", "give rates or rates_csv, not both")
	case in.Customer.Name == "":
		return errInvalid("customer.name", "required")
	case in.Customer.IP == "" && in.Customer.SIPUser == nil:
		return errInvalid("customer", "give an ip or a sip_user, so its calls are recognised")
	case len(in.Carrier.Name) > maxNameLen-len(" rates") || len(in.Customer.Name) > maxNameLen-len(" rates"):
		// Their cards are named after them.
		return errInvalid("name", "carrier and customer names are at most %d bytes here", maxNameLen-len(" rates"))
	}
	return nil
}

// quickRun makes the pieces through the API's routes, remembering each to
// undo it.
type quickRun struct {
	s    *Server
	r    *http.Request
	made []string // paths of what was made, to DELETE in reverse
}

// call sends method path with body (JSON, or CSV when ctype says so) as
// the caller, and decodes a 2xx answer into out; a failure is the
// route's error, prefixed by what was being made.
func (q *quickRun) call(what, method, path, ctype string, body any, out any) error {
	var b []byte
	if s, ok := body.(string); ok {
		b = []byte(s)
	} else if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	req, err := http.NewRequestWithContext(context.WithoutCancel(q.r.Context()), method, path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", q.r.Header.Get("Authorization"))
	req.Header.Set("Content-Type", ctype)
	req.RemoteAddr = q.r.RemoteAddr
	rec := httptest.NewRecorder()
	q.s.mux.ServeHTTP(rec, req)
	if rec.Code >= 300 {
		var e struct{ Error Error }
		_ = json.Unmarshal(rec.Body.Bytes(), &e)
		if e.Error.Message == "" {
			e.Error = Error{Code: CodeInvalid, Message: strings.TrimSpace(rec.Body.String())}
		}
		e.Error.Status = rec.Code
		e.Error.Message = what + ": " + e.Error.Message
		if e.Error.Field != "" {
			e.Error.Field = what + "." + e.Error.Field
		}
		return &e.Error
	}
	if loc := rec.Header().Get("Location"); loc != "" {
		q.made = append(q.made, loc)
	}
	if out != nil {
		return json.Unmarshal(rec.Body.Bytes(), out)
	}
	return nil
}

func (q *quickRun) run(in *QuickstartInput) (QuickstartResult, error) {
	var res QuickstartResult
	var id struct{ ID string }
	const js = "application/json"
	if err := q.call("carrier", "POST", "/api/v1/carriers", js, map[string]any{"name": in.Carrier.Name, "currency": in.Currency}, &id); err != nil {
		return res, err
	}
	res.CarrierID = id.ID
	ep := map[string]any{"host": in.Carrier.Host, "port": in.Carrier.Port, "transport": in.Carrier.Transport}
	if err := q.call("carrier", "POST", "/api/v1/carriers/"+res.CarrierID+"/endpoints", js, ep, &id); err != nil {
		return res, err
	}
	res.EndpointID = id.ID
	if err := q.call("provider_card", "POST", "/api/v1/ratecards", js, map[string]any{"name": in.Carrier.Name + " rates",
		"kind": "provider", "carrier_id": res.CarrierID, "currency": in.Currency}, &id); err != nil {
		return res, err
	}
	res.ProviderCardID = id.ID
	rates := "/api/v1/ratecards/" + res.ProviderCardID + "/rates"
	if in.RatesCSV != "" {
		if err := q.call("rates_csv", "POST", rates, "text/csv", in.RatesCSV, nil); err != nil {
			return res, err
		}
	} else if err := q.call("rates", "PUT", rates, js, in.Rates, nil); err != nil {
		return res, err
	}
	markup := in.Markup
	if markup == nil {
		markup = &store.Markup{Kind: "percent", Value: "20"}
	}
	if err := q.call("markup", "POST", "/api/v1/ratecards", js, map[string]any{"name": in.Customer.Name + " rates",
		"kind": "customer", "provider_cards": []string{res.ProviderCardID}, "currency": in.Currency, "markup": markup}, &id); err != nil {
		return res, err
	}
	res.CustomerCardID = id.ID
	cust := map[string]any{"name": in.Customer.Name, "currency": in.Currency, "tax_percent": in.Customer.TaxPercent,
		"credit_limit": in.Customer.CreditLimit}
	if err := q.call("customer", "POST", "/api/v1/customers", js, cust, &id); err != nil {
		return res, err
	}
	res.CustomerID = id.ID
	cpath := "/api/v1/customers/" + res.CustomerID
	if in.Customer.IP != "" {
		if err := q.call("customer.ip", "POST", cpath+"/ips", js, map[string]any{"cidr": in.Customer.IP}, &id); err != nil {
			return res, err
		}
		res.IPID = id.ID
	}
	if u := in.Customer.SIPUser; u != nil {
		if err := q.call("customer.sip_user", "POST", cpath+"/sip-users", js, map[string]any{"username": u.Username, "password": u.Password}, &id); err != nil {
			return res, err
		}
		res.SIPUserID = id.ID
	}
	if err := q.call("route", "POST", cpath+"/routes", js, map[string]any{"prefix": "", "card_id": res.CustomerCardID}, &id); err != nil {
		return res, err
	}
	res.RouteID = id.ID
	if in.Payment != "" {
		// Last: a payment is in the ledger for good, so nothing after it
		// may fail and undo the rest.
		if err := q.call("payment", "POST", cpath+"/payments", js, map[string]any{"total": in.Payment, "status": "completed",
			"description": "quickstart"}, &id); err != nil {
			return res, err
		}
		res.PaymentID = id.ID
	}
	return res, nil
}

// undo deletes what the run made, newest first (deleting a customer or a
// carrier takes what hangs on it).
func (q *quickRun) undo() {
	for i := len(q.made) - 1; i >= 0; i-- {
		if err := q.call("undo", "DELETE", q.made[i], "", nil, nil); err != nil {
			q.s.log.Warn("quickstart: undoing a piece", "path", q.made[i], "error", err)
		}
	}
}
