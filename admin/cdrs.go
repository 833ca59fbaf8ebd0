package admin

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/trunkline/trunkline/cdr"
	"github.com/trunkline/trunkline/store"
)

// CDR paging limits.
const (
	defaultCDRLimit = 100
	maxCDRLimit     = 10000
)

// listCDRs answers GET /api/v1/cdrs?customer=&carrier=&from=&to=&number=
// &sip_code=&answered=&limit=&offset= from the configured cdr.Source. from
// and to are RFC 3339 times or unix milliseconds of the setup time; from is
// inclusive, to exclusive; number is a prefix of the normalised callee.
// With Accept: text/csv the answer is a CSV download (see cdrCSV).
func (s *Server) listCDRs(w http.ResponseWriter, r *http.Request) error {
	if s.cdrs == nil {
		return errStatus(http.StatusServiceUnavailable, CodeUnavailable, "no CDR source is configured")
	}
	q, err := parseCDRQuery(r)
	if err != nil {
		return err
	}
	// A customer sees its calls' final CDRs: the attempts before them say
	// which carriers failed over, the operator's business.
	q.FinalOnly = forCustomer(w)
	if wantsCSV(r) {
		return s.cdrCSV(w, r, q)
	}
	var from string
	recs, err := s.cdrs.Query(cdr.ServedFrom(r.Context(), &from), q)
	markSource(w, from)
	if errors.Is(err, cdr.ErrBadQuery) {
		return errStatus(http.StatusBadRequest, CodeInvalid, "%v", err)
	}
	if err != nil {
		return err
	}
	if recs == nil {
		recs = []cdr.Record{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"cdrs": recs, "limit": q.Limit, "offset": q.Offset})
	return nil
}

// wantsCSV reports whether the client asked for text/csv.
func wantsCSV(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(mt), "text/csv") {
			return true
		}
	}
	return false
}

// cdrCSV writes the CDRs of q as CSV with a header row, in query order
// (newest first). Without a limit parameter every
// matching CDR is written. A query filtered by customer carries that
// customer's CDR field set and times in its timezone; otherwise every field
// in the caller's timezone (its user's, else the switch's, else UTC). Money columns are exact decimals.
func (s *Server) cdrCSV(w http.ResponseWriter, r *http.Request, q cdr.Query) error {
	var from string
	ctx := cdr.ServedFrom(r.Context(), &from)
	var fields []string
	loc := s.userLocation(r)
	if q.CustomerID != "" {
		var err error
		if fields, err = cdr.CustomerFields(ctx, s.st, q.CustomerID); err != nil {
			return err
		}
		if c, err := store.GetJSON[store.Customer](ctx, s.st, store.Customers, q.CustomerID); err == nil && c.Timezone != "" {
			if l, err := time.LoadLocation(c.Timezone); err == nil {
				loc = l
			}
		}
	}
	if forCustomer(w) {
		fields = customerColumns(fields)
	}
	// Check the query before the 200 goes out.
	probe := q
	probe.Limit = 1
	if _, err := s.cdrs.Query(ctx, probe); err != nil {
		if errors.Is(err, cdr.ErrBadQuery) {
			return errStatus(http.StatusBadRequest, CodeInvalid, "%v", err)
		}
		return err
	}
	markSource(w, from)
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="cdrs.csv"`)
	w.WriteHeader(http.StatusOK)
	cw, err := cdr.NewCSVWriter(w, fields, loc)
	if err != nil {
		return nil // the field set was checked when it was stored
	}
	write := func(rec *cdr.Record) error { return cw.Write(rec) }
	if r.URL.Query().Get("limit") != "" {
		recs, err := s.cdrs.Query(ctx, q)
		if err == nil {
			for i := range recs {
				if err = write(&recs[i]); err != nil {
					break
				}
			}
		}
		if err != nil {
			s.log.Error("CDR CSV download cut short", "err", err)
		}
	} else if err := cdr.Each(ctx, s.cdrs, q, write); err != nil {
		s.log.Error("CDR CSV download cut short", "err", err)
	}
	if err := cw.Flush(); err != nil {
		s.log.Error("CDR CSV download cut short", "err", err)
	}
	return nil
}

func parseCDRQuery(r *http.Request) (cdr.Query, error) {
	v := r.URL.Query()
	q := cdr.Query{CustomerID: v.Get("customer"), CarrierID: v.Get("carrier"), Limit: defaultCDRLimit}
	var err error
	if q.FromMs, err = parseTimeParam("from", v.Get("from")); err != nil {
		return q, err
	}
	if q.ToMs, err = parseTimeParam("to", v.Get("to")); err != nil {
		return q, err
	}
	if q.FromMs != 0 && q.ToMs != 0 && q.ToMs <= q.FromMs {
		return q, errInvalid("to", "must be after from")
	}
	if s := v.Get("limit"); s != "" {
		if q.Limit, err = strconv.Atoi(s); err != nil || q.Limit < 1 || q.Limit > maxCDRLimit {
			return q, errInvalid("limit", "must be a whole number from 1 to %d, got %q", maxCDRLimit, s)
		}
	}
	if s := v.Get("offset"); s != "" {
		if q.Offset, err = strconv.Atoi(s); err != nil || q.Offset < 0 {
			return q, errInvalid("offset", "must be a whole number >= 0, got %q", s)
		}
	}
	if s := v.Get("number"); s != "" {
		if !isDigits(s) || len(s) > 32 {
			return q, errInvalid("number", "must be a prefix of up to 32 digits, got %q", s)
		}
		q.CalleePrefix = s
	}
	if s := v.Get("sip_code"); s != "" {
		if q.SIPCode, err = strconv.Atoi(s); err != nil || q.SIPCode < 100 || q.SIPCode > 699 {
			return q, errInvalid("sip_code", "must be a SIP status code 100..699, got %q", s)
		}
	}
	if s := v.Get("answered"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return q, errInvalid("answered", "must be true or false, got %q", s)
		}
		q.Answered = &b
	}
	return q, nil
}

// parseTimeParam reads an RFC 3339 time or unix milliseconds; "" is 0.
func parseTimeParam(name, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if isDigits(s) {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err == nil {
			return ms, nil
		}
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return 0, errInvalid(name, "must be an RFC 3339 time or unix milliseconds, got %q", s)
	}
	if t.UnixMilli() < 0 {
		return 0, errInvalid(name, "must not be before 1970, got %q", s)
	}
	return t.UnixMilli(), nil
}

// headerCDRSource names the source that answered a CDR query when it was
// not the CDR database: "journal" while ClickHouse is down (this node's
// CDRs only, on a cluster).
const headerCDRSource = "Trunkline-CDR-Source"

// markSource says on w that a source other than the CDR database answered.
func markSource(w http.ResponseWriter, from string) {
	if from != "" {
		w.Header().Set(headerCDRSource, from)
		w.Header().Set("Warning", `199 trunkline "the CDR database is unavailable: answered from this node's `+from+
			`, which holds its CDRs not yet shipped and its newest, not every CDR"`)
	}
}

// WithTimezone sets the switch's timezone: it renders times for users and
// customers without one of their own (default UTC).
func WithTimezone(loc *time.Location) Option { return func(s *Server) { s.loc = loc } }

// location is the switch's timezone.
func (s *Server) location() *time.Location {
	if s.loc != nil {
		return s.loc
	}
	return time.UTC
}

// userLocation is the timezone of r's user, else the switch's.
func (s *Server) userLocation(r *http.Request) *time.Location {
	if p := principalOf(r); p.userID != "" {
		if u, err := store.GetJSON[store.User](r.Context(), s.st, store.Users, p.userID); err == nil && u.Timezone != "" {
			if l, err := time.LoadLocation(u.Timezone); err == nil {
				return l
			}
		}
	}
	return s.location()
}
