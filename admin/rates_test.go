package admin_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/trunkline/trunkline/admin"
	"github.com/trunkline/trunkline/store"
)

func TestPutRates(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	path := "/api/v1/ratecards/" + f.provider + "/rates"

	var empty struct{ Rates []store.Rate }
	decode(t, e.req("GET", path, nil), &empty)
	if empty.Rates == nil || len(empty.Rates) != 0 {
		t.Errorf("rates of a new card = %+v, want []", empty.Rates)
	}

	body := `[
		{"prefix":"4420","description":"UK London","rate":"0.0123","connection_fee":"0.01","initial_increment":30,"subsequent_increment":6},
		{"prefix":"44","rate":" 0.02 ","effective_from":1700000000,"effective_to":1800000000},
		{"prefix":"44","rate":"0.03","effective_from":1800000000},
		{"prefix":"1","rate":"0","blocked":true}
	]`
	before := e.changes.Load()
	w := e.req("PUT", path, body)
	wantStatus(t, w, 200)
	var res struct {
		CardID   string `json:"card_id"`
		Revision int
		Rows     int
	}
	decode(t, w, &res)
	if res.CardID != f.provider || res.Revision != 1 || res.Rows != 4 {
		t.Errorf("PUT answered %+v", res)
	}
	if e.changes.Load() != before+1 {
		t.Error("OnChange not called after PUT rates")
	}

	var got struct{ Rates []store.Rate }
	decode(t, e.req("GET", path, nil), &got)
	want := []store.Rate{
		{Prefix: "1", PerMinute: "0.000000", Blocked: true},
		{Prefix: "44", PerMinute: "0.020000", From: 1700000000, To: 1800000000},
		{Prefix: "44", PerMinute: "0.030000", From: 1800000000},
		{Prefix: "4420", Description: "UK London", PerMinute: "0.012300", ConnectionFee: "0.010000", Initial: 30, Increment: 6},
	}
	if fmt.Sprint(got.Rates) != fmt.Sprint(want) {
		t.Errorf("GET rates =\n%+v\nwant\n%+v", got.Rates, want)
	}

	// Replacing bumps the revision again and drops the old rows.
	wantStatus(t, e.req("PUT", path, `[{"prefix":"33","rate":"0.05"}]`), 200)
	var card store.RateCard
	decode(t, e.req("GET", "/api/v1/ratecards/"+f.provider, nil), &card)
	if card.Revision != 2 {
		t.Errorf("revision after two uploads = %d", card.Revision)
	}
	decode(t, e.req("GET", path, nil), &got)
	if len(got.Rates) != 1 || got.Rates[0].Prefix != "33" {
		t.Errorf("rates after replace = %+v", got.Rates)
	}
	// An empty deck wipes the card only when asked to in so many words.
	for _, body := range []string{`[]`, `null`} {
		wantError(t, e.req("PUT", path, body), 400, admin.CodeInvalid, "replace_all")
		wantError(t, e.req("PUT", path+"?replace_all=false", body), 400, admin.CodeInvalid, "replace_all")
	}
	wantError(t, e.send("POST", path, "prefix,rate\n", "Bearer "+e.token, "text/csv"), 400, admin.CodeInvalid, "replace_all")
	decode(t, e.req("GET", path, nil), &got)
	if len(got.Rates) != 1 {
		t.Fatalf("an empty deck without replace_all changed the card: %+v", got.Rates)
	}
	wantStatus(t, e.req("PUT", path+"?replace_all=true", `[]`), 200)
	decode(t, e.req("GET", path, nil), &got)
	if len(got.Rates) != 0 {
		t.Fatalf("replace_all=true with [] left %+v", got.Rates)
	}

	wantError(t, e.req("PUT", "/api/v1/ratecards/nope/rates?replace_all=true", `[]`), 404, admin.CodeNotFound, "")
	wantError(t, e.req("GET", "/api/v1/ratecards/nope/rates", nil), 404, admin.CodeNotFound, "")
	wantError(t, e.send("PUT", path, "prefix,rate\n44,0.1\n", "Bearer "+e.token, "text/csv"), 415, admin.CodeUnsupportedType, "")
}

func TestPutRatesRowErrors(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	path := "/api/v1/ratecards/" + f.provider + "/rates"
	wantStatus(t, e.req("PUT", path, `[{"prefix":"33","rate":"0.05"}]`), 200)

	tests := []struct {
		name string
		body string
		rows []admin.RowError // Reason is only checked for being set
	}{
		{"not an array", `{"prefix":"1"}`, nil},
		{"bad rows", `[
			{"prefix":"44","rate":"0.01"},
			{"prefix":"","rate":"0.01"},
			{"prefix":"4a","rate":"0.01"},
			{"prefix":"45","rate":"-0.01"},
			{"prefix":"46","rate":"0.0000001"},
			{"prefix":"47"},
			{"prefix":"48","rate":"1","connection_fee":"x"},
			{"prefix":"49","rate":"1","initial_increment":-1,"subsequent_increment":-6,"grace":-1},
			{"prefix":"44","rate":"0.02"},
			{"prefix":"50","rate":"1","effective_from":200,"effective_to":100},
			{"prefix":"1234567890123456789012345","rate":"1"},
			{"prefix":51,"rate":"1"},
			{"prefix":"52","rate":"1","extra":true}
		]`, []admin.RowError{
			{Row: 1, Field: "prefix"}, {Row: 2, Field: "prefix"}, {Row: 3, Field: "rate"}, {Row: 4, Field: "rate"},
			{Row: 5, Field: "rate"}, {Row: 6, Field: "connection_fee"},
			{Row: 7, Field: "initial_increment"}, {Row: 7, Field: "subsequent_increment"}, {Row: 7, Field: "grace"},
			{Row: 8, Field: "prefix"}, {Row: 9, Field: "effective_to"}, {Row: 10, Field: "prefix"},
			{Row: 11, Field: "prefix"}, {Row: 12, Field: "extra"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := e.changes.Load()
			w := e.req("PUT", path, tt.body)
			if tt.rows == nil {
				wantError(t, w, 400, admin.CodeBadJSON, "")
				return
			}
			er := wantError(t, w, 400, admin.CodeInvalid, "rows")
			got := make([]string, len(er.Rows))
			for i, r := range er.Rows {
				if r.Reason == "" {
					t.Errorf("row %d field %s without reason", r.Row, r.Field)
				}
				got[i] = fmt.Sprintf("%d:%s", r.Row, r.Field)
			}
			want := make([]string, len(tt.rows))
			for i, r := range tt.rows {
				want[i] = fmt.Sprintf("%d:%s", r.Row, r.Field)
			}
			if strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("row errors\n got %v\nwant %v\n%s", got, want, w.Body)
			}
			if e.changes.Load() != before {
				t.Error("OnChange called for a refused upload")
			}
		})
	}

	// Type errors and unknown fields are decoding problems reported per row.
	w := e.req("PUT", path, `[{"prefix":51,"rate":"1"},{"prefix":"52","rate":"1","extra":true}]`)
	er := wantError(t, w, 400, admin.CodeInvalid, "rows")
	if len(er.Rows) != 2 || er.Rows[0].Row != 0 || er.Rows[0].Field != "prefix" || er.Rows[1].Row != 1 || er.Rows[1].Field != "extra" {
		t.Errorf("decoding row errors = %+v", er.Rows)
	}

	// Nothing was saved by the refused uploads.
	var got struct{ Rates []store.Rate }
	decode(t, e.req("GET", path, nil), &got)
	if len(got.Rates) != 1 || got.Rates[0].Prefix != "33" {
		t.Errorf("rates after refused uploads = %+v", got.Rates)
	}
}

func TestPutRatesManyBadRows(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	var b strings.Builder
	b.WriteString("[")
	for i := range 1500 {
		if i > 0 {
			b.WriteString(",")
		}
		b.WriteString(`{"prefix":"x","rate":"1"}`)
	}
	b.WriteString("]")
	er := wantError(t, e.req("PUT", "/api/v1/ratecards/"+f.provider+"/rates", b.String()), 400, admin.CodeInvalid, "rows")
	if len(er.Rows) != 1000 || !strings.Contains(er.Message, "1500 of 1500") {
		t.Errorf("%d row errors, message %q", len(er.Rows), er.Message)
	}
}
