package web

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// rateCards lists the rate cards.
func (s *Server) rateCards(w http.ResponseWriter, r *http.Request, sess *session) {
	s.rateCardsView(w, r, sess, http.StatusOK, "")
}

func (s *Server) rateCardsView(w http.ResponseWriter, r *http.Request, sess *session, code int, problem string) {
	var list struct {
		RateCards []struct {
			ID, Name, Kind, Currency string
			Revision                 int
			CarrierID                string `json:"carrier_id"`
			Markup                   *struct{ Kind, Value string }
		} `json:"ratecards"`
	}
	if status, err := s.call(r, sess, "GET", "/api/v1/ratecards", nil, &list); err != nil || status != http.StatusOK {
		s.failed(w, status)
		return
	}
	var ks struct{ Carriers []struct{ ID, Name string } }
	s.call(r, sess, "GET", "/api/v1/carriers", nil, &ks)
	s.render(w, code, "ratecards.html", s.page(r, sess, map[string]any{"Cards": list.RateCards, "Carriers": ks.Carriers,
		"Problem": problem, "Form": r.PostForm}))
}

// uploadReport is the API's answer to a deck upload.
type uploadReport struct {
	Stored   bool `json:"stored"`
	Revision int  `json:"revision"`
	Report   struct {
		Rows     int `json:"rows"`
		Problems []struct {
			Line          int
			Column, Value string
			Reason        string
		} `json:"problems"`
	} `json:"report"`
	Diff struct {
		Counts  map[string]int `json:"counts"`
		Entries []struct {
			Change, Prefix string
			OldRate        string `json:"old_rate"`
			NewRate        string `json:"new_rate"`
		} `json:"entries"`
		Truncated bool `json:"truncated"`
	} `json:"diff"`
}

// uploadRates sends a CSV deck to POST /api/v1/ratecards/{id}/rates: with
// "check" as a dry run that shows the per-row report and the diff, with
// "apply" for real.
func (s *Server) uploadRates(w http.ResponseWriter, r *http.Request, sess *session) {
	id := r.PathValue("id")
	deck := r.PostFormValue("deck")
	dry := r.PostFormValue("action") != "apply"
	sum := sha256.Sum256([]byte(deck))
	checked := hex.EncodeToString(sum[:])
	if !dry && r.PostFormValue("checked") != checked {
		// Apply stores the deck that was checked, not one edited since.
		s.ratesView(w, r, sess, http.StatusConflict, map[string]any{"Deck": deck,
			"Problem": "the deck changed since it was checked: check it again"})
		return
	}
	q := url.Values{}
	if dry {
		q.Set("dry_run", "true")
	}
	rec, err := s.raw(r, sess, "POST", "/api/v1/ratecards/"+url.PathEscape(id)+"/rates?"+q.Encode(),
		strings.NewReader(deck), map[string]string{"Content-Type": "text/csv"})
	if err != nil {
		http.Error(w, "bad card", http.StatusBadRequest)
		return
	}
	// 200: the report; 400: {"error", "report": the report}.
	var rep uploadReport
	var failed struct {
		Error  struct{ Message string } `json:"error"`
		Report uploadReport             `json:"report"`
	}
	if rec.Code < 300 {
		_ = json.Unmarshal(rec.Body.Bytes(), &rep)
	} else {
		_ = json.Unmarshal(rec.Body.Bytes(), &failed)
		rep = failed.Report
	}
	status := http.StatusOK
	if rec.Code >= 300 {
		status = http.StatusBadRequest
	}
	s.ratesView(w, r, sess, status, map[string]any{"Deck": deck, "Report": rep,
		"Problem": failed.Error.Message, "Checked": dry && rec.Code < 300, "Applied": !dry && rec.Code < 300, "Sum": checked})
}

// ratesPage serves a card's rates, searched by prefix, and its upload
// form (a card derived by a markup has none).
func (s *Server) ratesPage(w http.ResponseWriter, r *http.Request, sess *session) {
	s.ratesView(w, r, sess, http.StatusOK, map[string]any{"Deck": "prefix,rate,description\n"})
}

func (s *Server) ratesView(w http.ResponseWriter, r *http.Request, sess *session, status int, data map[string]any) {
	id := url.PathEscape(r.PathValue("id"))
	var card struct {
		ID, Name, Kind, Currency string
		Markup                   *struct{ Kind, Value string }
	}
	if code, err := s.call(r, sess, "GET", "/api/v1/ratecards/"+id, nil, &card); err != nil || code != http.StatusOK {
		s.failed(w, code)
		return
	}
	q := rateQuery(r)
	q.Del("card")
	q.Set("limit", "200")
	var rates struct {
		Rates     []map[string]any
		Total     int
		Truncated bool
	}
	s.call(r, sess, "GET", "/api/v1/ratecards/"+id+"/rates?"+q.Encode(), nil, &rates)
	q.Del("limit")
	data["CardID"], data["Card"], data["Rates"], data["Prefix"], data["Query"] = r.PathValue("id"), card, rates, q.Get("prefix"), q.Encode()
	s.render(w, status, "rates.html", s.page(r, sess, data))
}

// ratesCSV downloads a card's rates (those matching the search) as CSV.
func (s *Server) ratesCSV(w http.ResponseWriter, r *http.Request, sess *session) {
	q := rateQuery(r)
	q.Del("card")
	q.Set("format", "csv")
	s.download(w, r, sess, "/api/v1/ratecards/"+url.PathEscape(r.PathValue("id"))+"/rates?"+q.Encode(), nil)
}
