package admin_test

import (
	"strings"
	"testing"

	"github.com/trunkline/trunkline/store"
)

// uploadAnswer is the JSON of a CSV upload (200, or 400 under "report").
type uploadAnswer struct {
	CardID   string `json:"card_id"`
	DryRun   bool   `json:"dry_run"`
	Stored   bool
	Revision int
	Report   struct {
		Rows     int
		Columns  map[string]string
		Problems []struct {
			Line   int
			Column string
			Value  string
			Reason string
		}
	}
	Diff struct {
		Counts  map[string]int
		Entries []struct {
			Change  string
			Prefix  string
			OldRate string `json:"old_rate"`
			NewRate string `json:"new_rate"`
		}
	}
}

func TestPostRatesCSV(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	path := "/api/v1/ratecards/" + f.provider + "/rates"
	wantStatus(t, e.req("PUT", path, `[{"prefix":"4420","rate":"0.02"},{"prefix":"33","rate":"0.05"}]`), 200)

	deck := "Code;Destination;Cost;Billing;Effective Date\n" +
		"4420;UK London;0.0123;30/6;\n" +
		"44;UK;0.03;60/60;\n" +
		"+491;Germany Mobile;0.1;1/1;2024-01-01\n"
	csv := func(method, path, body string) uploadAnswer {
		t.Helper()
		w := e.send(method, path, body, "Bearer "+e.token, "text/csv")
		var a uploadAnswer
		if w.Code == 400 {
			var wrapped struct {
				Error  apiError
				Report uploadAnswer
			}
			decode(t, w, &wrapped)
			if wrapped.Error.Code != "invalid" {
				t.Errorf("400 error = %+v", wrapped.Error)
			}
			return wrapped.Report
		}
		wantStatus(t, w, 200)
		decode(t, w, &a)
		return a
	}

	t.Run("dry run", func(t *testing.T) {
		before := e.changes.Load()
		a := csv("POST", path+"?dry_run=true", deck)
		if !a.DryRun || a.Stored || a.Revision != 1 || a.Report.Rows != 3 || len(a.Report.Problems) != 0 {
			t.Errorf("dry run answered %+v", a)
		}
		want := map[string]int{"new": 2, "decreased": 1, "removed": 1, "unchanged": 0, "increased": 0, "changed": 0}
		for k, v := range want {
			if a.Diff.Counts[k] != v {
				t.Errorf("diff count %s = %d, want %d (%v)", k, a.Diff.Counts[k], v, a.Diff.Counts)
			}
		}
		if len(a.Diff.Entries) != 4 || a.Diff.Entries[0].Prefix != "33" || a.Diff.Entries[0].Change != "removed" ||
			a.Diff.Entries[2].OldRate != "0.020000" || a.Diff.Entries[2].NewRate != "0.012300" {
			t.Errorf("diff entries = %+v", a.Diff.Entries)
		}
		if e.changes.Load() != before {
			t.Error("a dry run called OnChange")
		}
		var got struct{ Rates []store.Rate }
		decode(t, e.req("GET", path, nil), &got)
		if len(got.Rates) != 2 {
			t.Errorf("a dry run stored rows: %+v", got.Rates)
		}
	})

	t.Run("bad rows", func(t *testing.T) {
		bad := "Prefix,Rate,Billing\n44,0.01,30/6\n44x,0.02,\n49,-1,\n44,0.03,\n"
		for _, q := range []string{"", "?dry_run=1"} {
			a := csv("POST", path+q, bad)
			type pr struct {
				line   int
				column string
			}
			var got []pr
			for _, p := range a.Report.Problems {
				got = append(got, pr{p.Line, p.Column})
			}
			want := []pr{{3, "Prefix"}, {4, "Rate"}, {5, "Prefix"}}
			if len(got) != len(want) {
				t.Fatalf("%s: problems = %+v, want lines %v", q, a.Report.Problems, want)
			}
			for i := range want {
				if got[i] != want[i] {
					t.Errorf("%s: problem %d = %+v, want %+v", q, i, got[i], want[i])
				}
			}
		}
		var card store.RateCard
		decode(t, e.req("GET", "/api/v1/ratecards/"+f.provider, nil), &card)
		if card.Revision != 1 {
			t.Errorf("a rejected deck changed the revision to %d", card.Revision)
		}
	})

	t.Run("store", func(t *testing.T) {
		before := e.changes.Load()
		a := csv("POST", path, deck)
		if a.DryRun || !a.Stored || a.Revision != 2 || a.Diff.Counts["new"] != 2 {
			t.Errorf("upload answered %+v", a)
		}
		if e.changes.Load() != before+1 {
			t.Error("OnChange not called once after an upload")
		}
		var got struct{ Rates []store.Rate }
		decode(t, e.req("GET", path, nil), &got)
		var prefixes []string
		for _, r := range got.Rates {
			prefixes = append(prefixes, r.Prefix+"="+r.PerMinute)
		}
		if s := strings.Join(prefixes, " "); s != "44=0.030000 4420=0.012300 491=0.100000" {
			t.Errorf("stored rows %s", s)
		}
		if got.Rates[1].Initial != 30 || got.Rates[1].Increment != 6 || got.Rates[2].From != 1704067200 {
			t.Errorf("rows 4420, 491 = %+v, %+v", got.Rates[1], got.Rates[2])
		}
		// The same deck again changes nothing.
		a = csv("POST", path+"?dry_run=true", deck)
		if a.Diff.Counts["unchanged"] != 3 || len(a.Diff.Entries) != 0 {
			t.Errorf("re-upload diff = %+v", a.Diff)
		}
	})

	t.Run("refused", func(t *testing.T) {
		wantError(t, e.send("POST", path, deck, "Bearer "+e.token, "application/json"), 415, "unsupported_media_type", "")
		wantError(t, e.send("POST", path+"?dry_run=maybe", deck, "Bearer "+e.token, "text/csv"), 400, "invalid", "dry_run")
		wantError(t, e.send("POST", "/api/v1/ratecards/nope/rates", deck, "Bearer "+e.token, "text/csv"), 404, "not_found", "")
		wantError(t, e.send("POST", path, "", "Bearer "+e.token, "text/csv"), 400, "invalid", "deck")
	})
}

func TestMarkupCard(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	tests := []struct {
		name   string
		markup map[string]any
		kind   string
		status int
		field  string
		value  string
	}{
		{"percent", map[string]any{"kind": "percent", "value": "10"}, "customer", 201, "", "10.000000"},
		{"sell avg", map[string]any{"kind": "sell", "value": "0.05", "combine": "avg"}, "customer", 201, "", "0.050000"},
		{"bad kind", map[string]any{"kind": "double", "value": "1"}, "customer", 400, "markup.kind", ""},
		{"bad combine", map[string]any{"kind": "fixed", "value": "1", "combine": "median"}, "customer", 400, "markup.combine", ""},
		{"bad value", map[string]any{"kind": "fixed", "value": "1.0000001"}, "customer", 400, "markup.value", ""},
		{"below -100%", map[string]any{"kind": "percent", "value": "-150"}, "customer", 400, "markup.value", ""},
		{"negative sell", map[string]any{"kind": "sell", "value": "-1"}, "customer", 400, "markup.value", ""},
		{"on a provider card", map[string]any{"kind": "fixed", "value": "1"}, "provider", 400, "markup", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := map[string]any{"name": "M", "kind": tt.kind, "currency": "EUR", "markup": tt.markup}
			if tt.kind == "customer" {
				body["provider_cards"] = []string{f.provider}
			} else {
				body["carrier_id"] = f.carrier
			}
			w := e.req("POST", "/api/v1/ratecards", body)
			if tt.status != 201 {
				wantError(t, w, tt.status, "invalid", tt.field)
				return
			}
			wantStatus(t, w, 201)
			var c store.RateCard
			decode(t, w, &c)
			if c.Markup == nil || c.Markup.Value != tt.value {
				t.Fatalf("created %+v", c)
			}
			// A derived card takes no rows of its own.
			path := "/api/v1/ratecards/" + c.ID + "/rates"
			wantError(t, e.req("PUT", path, `[{"prefix":"1","rate":"1"}]`), 409, "conflict", "")
			wantError(t, e.send("POST", path, "Prefix,Rate\n1,1\n", "Bearer "+e.token, "text/csv"), 409, "conflict", "")
		})
	}
}

// A CSV deck is held to the same limits as JSON rows: a 5 MB description,
// a control character in one, or an increment of more than a day is a
// problem of its line (the report repeats at most 64 bytes of the value).
func TestPostRatesCSVLimits(t *testing.T) {
	e := newEnv(t)
	f := e.fixture()
	path := "/api/v1/ratecards/" + f.provider + "/rates"
	for _, tt := range []struct{ name, deck, column string }{
		{"5 MB description", "prefix,rate,description\n44,0.1," + strings.Repeat("x", 5<<20) + "\n", "description"},
		{"control character", "prefix,rate,description\n44,0.1,\"UK\x00\"\n", "description"},
		{"increment of two days", "prefix,rate,increment\n44,0.1,172800\n", "increment"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := e.send("POST", path, tt.deck, "Bearer "+e.token, "text/csv")
			wantStatus(t, w, 400)
			var v struct {
				Report struct {
					Report struct {
						Problems []struct {
							Line          int
							Column, Value string
						}
					}
				}
			}
			decode(t, w, &v)
			ps := v.Report.Report.Problems
			if len(ps) != 1 || ps[0].Line != 2 || !strings.EqualFold(ps[0].Column, tt.column) || len(ps[0].Value) > 70 {
				t.Fatalf("problems %+v (body %d bytes)", ps, w.Body.Len())
			}
		})
	}
	// The same rules for JSON rows.
	wantError(t, e.req("PUT", path, `[{"prefix":"44","rate":"0.1","description":"UK\u0000"}]`), 400, "invalid", "")
}
